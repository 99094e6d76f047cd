"""dom360db.client: the sync and asyncio clients have the same methods, one per app-facing function; their
row classes match the live catalog; refusals raise the exception classes of the SQLSTATE contract with the
driver's error kept; an unreachable server is one clear error; the chat turn is one round trip; 50 asyncio
tasks across tenants keep numbering gapless and counters exact."""

from __future__ import annotations

import asyncio
import inspect
import socket
import typing
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import errors
from psycopg.pq import Trace
from test_chat import counters_match_messages
from test_error_contract import app_functions

from dom360db import client as dc
from dom360db.client import (
    AsyncDom360,
    AsyncTenantTx,
    Conflict,
    Dom360,
    Dom360ClientError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TenantNotSet,
    TenantTx,
    Unavailable,
    WrongKey,
)
from dom360db.client.errors import NO_TENANT_MESSAGE
from dom360db.client.rows import ROWS

from support import Database, Tenant, seed

KEY = "k" * 40
OTHER_KEY = "o" * 40

#: App-facing functions reached otherwise than by a TenantTx method of the same name.
NOT_TX_METHODS = {
    "set_tenant": "Dom360.tenant() calls it",
    "current_tenant_id": "TenantTx.tenant_id",
    "require_tenant": "the guard inside every function",
    "raise_no_tenant": "the guard's error",
    "chat_turn": "Dom360.chat_turn() sends the same turn as one pipeline",
}


# --- shape ----------------------------------------------------------------------------------------------------

def public_methods(cls: type) -> dict[str, inspect.Signature]:
    return {n: inspect.signature(f) for n, f in inspect.getmembers(cls, inspect.isfunction) if not n.startswith("_")}


@pytest.mark.parametrize(("sync", "aio"), [(TenantTx, AsyncTenantTx), (Dom360, AsyncDom360)])
def test_sync_and_async_have_the_same_methods(sync: type, aio: type) -> None:
    s, a = public_methods(sync), public_methods(aio)
    assert set(s) - {"close"} <= set(a), set(s) - set(a)
    for name, sig in s.items():
        if name == "tenant":  # an async context manager
            assert inspect.isasyncgenfunction(inspect.unwrap(getattr(aio, name))), name
        else:
            assert inspect.iscoroutinefunction(getattr(aio, name)), name
        assert [(p.name, p.kind, p.default) for p in sig.parameters.values()] == \
               [(p.name, p.kind, p.default) for p in a[name].parameters.values()], name
        if name not in ("execute", "tenant"):  # cursor and context manager types differ by design
            assert str(sig.return_annotation) == str(a[name].return_annotation), name


def test_every_app_function_has_a_method(db: Database) -> None:
    names = {n for n, _ in app_functions(db)}
    assert set(NOT_TX_METHODS) <= names
    missing = sorted(n for n in names - set(NOT_TX_METHODS) if not hasattr(TenantTx, n))
    assert missing == [], f"app-facing functions without a client method: {missing}"
    assert hasattr(Dom360, "chat_turn") and hasattr(Dom360, "tenant")


PY_TYPES: dict[str, object] = {"uuid": uuid.UUID, "text": str, "int4": int, "int8": int, "bool": bool, "date": date,
                               "timestamptz": datetime, "numeric": Decimal, "float8": float, "jsonb": Any,
                               "_text": list[str]}


@pytest.mark.parametrize("fn", sorted(ROWS))
def test_row_classes_match_the_catalog(db: Database, fn: str) -> None:
    with db.admin() as c:
        cols = c.execute("""
            SELECT a.name, t.typname
              FROM pg_catalog.pg_proc AS p,
                   unnest(p.proargnames, p.proargmodes::text[], p.proallargtypes) AS a (name, mode, type)
              JOIN pg_catalog.pg_type AS t ON t.oid = a.type
             WHERE p.oid = %s::regproc AND a.mode = 't'""", [f"dom360.{fn}"]).fetchall()
    hints = typing.get_type_hints(ROWS[fn])
    assert [n for n, _ in cols] == list(hints), fn
    for name, typname in cols:
        hint = hints[name]
        args = typing.get_args(hint)
        base = args[0] if type(None) in args and len(args) == 2 else hint
        assert base == PY_TYPES[typname], (fn, name, hint, typname)


# --- errors ---------------------------------------------------------------------------------------------------

def expect(cls: type[Dom360ClientError], sqlstate: str, cause: type[psycopg.Error], match: str | None = None):  # noqa: ANN201
    """Check the raised client error: its class, .sqlstate, the driver's error as __cause__, the message."""
    class Check:
        def __enter__(self) -> None:
            return None

        def __exit__(self, et: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
            assert isinstance(exc, cls), f"expected {cls.__name__}, got {exc!r}"
            assert exc.sqlstate == sqlstate and isinstance(exc.__cause__, cause), (exc.sqlstate, exc.__cause__)
            if match:
                assert match in str(exc), str(exc)
            return True
    return Check()


def test_errors_follow_the_contract(db: Database, acme: Tenant) -> None:
    beta = seed(db, "beta")
    with Dom360(db.app_dsn, max_size=2) as client:
        with client.tenant(acme.id) as t:
            t.append_message(acme.conversation, "user", "first", request_id="req-1")
        with expect(TenantNotSet, "42501", errors.InsufficientPrivilege, NO_TENANT_MESSAGE), client.tenant(acme.id) as t:
            t.execute("SELECT pg_catalog.set_config('app.tenant_id', '', true)")
            t.tenant_usage()
        assert issubclass(TenantNotSet, PermissionDenied)
        with expect(PermissionDenied, "42501", errors.InsufficientPrivilege), client.tenant(acme.id) as t:
            t.execute("SELECT * FROM dom360.mv_tenant_consumption_summary")
        with expect(NotFound, "P0002", errors.NoDataFound, "unknown tenant"), client.tenant(uuid.uuid4()):
            pass
        with expect(NotFound, "23503", errors.ForeignKeyViolation), client.tenant(acme.id) as t:
            t.append_message(beta.conversation, "user", "not mine")
        with expect(NotFound, "23503", errors.ForeignKeyViolation, "inbox"), client.tenant(acme.id) as t:
            t.get_or_create_conversation(beta.inbox, "someone")
        with expect(InvalidInput, "23514", errors.CheckViolation, "unknown agent type 'FOO'"), \
                client.tenant(acme.id) as t:
            t.get_or_create_conversation(acme.inbox, "new-customer", agent_type="FOO")  # type: ignore[arg-type]
        with expect(InvalidInput, "23514", errors.CheckViolation, "unknown role 'bot'"), client.tenant(acme.id) as t:
            t.append_message(acme.conversation, "bot", "x")  # type: ignore[arg-type]
        with expect(InvalidInput, "23514", errors.CheckViolation, "non-negative"), client.tenant(acme.id) as t:
            t.append_message(acme.conversation, "user", "x", input_tokens=-1)
        with expect(InvalidInput, "22001", errors.StringDataRightTruncation), client.tenant(acme.id) as t:
            t.append_message(acme.conversation, "user", "x" * 70000)
        with expect(InvalidInput, "22023", errors.InvalidParameterValue, "unknown secret"), client.tenant(acme.id) as t:
            t.set_account_secret("nope", "x", KEY)
        with expect(Conflict, "23505", errors.UniqueViolation, "req-1"), client.tenant(acme.id) as t:
            conv = t.get_or_create_conversation(acme.inbox, "another")
            t.append_message(conv, "user", "x", request_id="req-1")
        with client.tenant(acme.id) as t:
            t.set_conversation_stage(acme.conversation, "won")
        with expect(Conflict, "55000", errors.ObjectNotInPrerequisiteState), client.tenant(acme.id) as t:
            t.set_conversation_stage(acme.conversation, "qualified")
        with client.tenant(acme.id, encryption_key=KEY) as t:
            t.set_account_secret("agents_api_token", "tok-1")
        with expect(WrongKey, "28000", errors.InvalidAuthorizationSpecification), \
                client.tenant(acme.id, encryption_key=OTHER_KEY) as t:
            t.get_tenant_config()
        with client.tenant(acme.id, encryption_key=KEY) as t:
            assert t.get_tenant_config().agents_api_token == "tok-1"
        # nothing refused above was written, and no connection kept a tenant
        with client.pool.connection() as conn:
            assert conn.execute("SELECT dom360.current_tenant_id()").fetchone() == (None,)
    with db.admin() as c:
        assert c.execute("SELECT count(*) FROM dom360.messages").fetchone() == (1,)


def test_async_errors_follow_the_contract(db: Database, acme: Tenant) -> None:
    async def main() -> None:
        async with AsyncDom360(db.app_dsn, max_size=2) as client:
            with expect(TenantNotSet, "42501", errors.InsufficientPrivilege, NO_TENANT_MESSAGE):
                async with client.tenant(acme.id) as t:
                    await t.execute("SELECT pg_catalog.set_config('app.tenant_id', '', true)")
                    await t.tenant_recent_messages()
            with expect(NotFound, "P0002", errors.NoDataFound):
                async with client.tenant(uuid.uuid4()):
                    pass
            with expect(InvalidInput, "23514", errors.CheckViolation, "unknown agent type 'X'"):
                async with client.tenant(acme.id) as t:
                    await t.get_or_create_conversation(acme.inbox, "c", agent_type="X")  # type: ignore[arg-type]
    asyncio.run(main())


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_an_unreachable_server_is_one_clear_error() -> None:
    dsn = f"postgresql://api@127.0.0.1:{free_port()}/dom360"
    with pytest.raises(Unavailable) as info:
        Dom360(dsn)
    assert str(info.value).startswith(f"cannot connect to {dsn.removeprefix('postgresql://')}: ")
    assert "refused" in str(info.value).lower() and isinstance(info.value.__cause__, psycopg.OperationalError)

    async def main() -> None:
        async with AsyncDom360(dsn):
            pass
    with pytest.raises(Unavailable, match="refused") as ainfo:
        asyncio.run(main())
    assert isinstance(ainfo.value.__cause__, psycopg.OperationalError)
    with pytest.raises(Dom360ClientError, match="^invalid DSN: "):
        Dom360("nonsense")


def test_an_exhausted_pool_says_so(db: Database, acme: Tenant) -> None:
    with Dom360(db.app_dsn, min_size=1, max_size=1, timeout=0.2) as client, client.tenant(acme.id):
        with pytest.raises(Unavailable, match=r"no free connection in the pool within 0.2 s \(max_size 1\)") as info, \
                client.tenant(acme.id):
            pass
        assert info.value.__cause__ is not None  # the pool's own timeout


def test_connection_options_are_merged(db: Database, acme: Tenant) -> None:
    """Behind PgBouncer in transaction mode: no server-side prepared statements, the connections still autocommit."""
    with Dom360(db.app_dsn, max_size=1, kwargs={"prepare_threshold": None}) as client:
        for _ in range(8):  # more than psycopg's default threshold (5)
            with client.tenant(acme.id) as t:
                t.recent_messages(acme.conversation)
        with client.pool.connection() as conn:
            assert conn.autocommit and conn.prepare_threshold is None
            assert conn.execute("SELECT count(*) FROM pg_prepared_statements").fetchone() == (0,)


def test_execute_runs_in_the_tenant_transaction(db: Database, acme: Tenant) -> None:
    beta = seed(db, "beta")
    with Dom360(db.app_dsn) as client, client.tenant(acme.id) as t:
        rows = t.execute("SELECT id FROM dom360.inboxes").fetchall()
        assert rows == [(acme.inbox,)]  # only the tenant's rows: beta's inbox is invisible
        assert t.execute("SELECT dom360.current_tenant_id()").fetchone() == (acme.id,)
        inbox = t.create_inbox("WhatsApp", "whatsapp")
        assert {i.id for i in t.inboxes()} == {acme.inbox, inbox.id} and inbox.channel == "whatsapp"
        assert beta.inbox not in {i.id for i in t.inboxes()}


def test_every_method_runs(db: Database, acme: Tenant) -> None:
    """Each method against the real functions (the row classes take every column the function returns)."""
    with db.admin() as c:
        c.execute("REFRESH MATERIALIZED VIEW dom360.mv_tenant_consumption_summary")
    with Dom360(db.app_dsn) as client, client.tenant(acme.id, encryption_key=KEY) as t:
        conv = t.get_or_create_conversation(acme.inbox, "cust", agent_type="SDR")
        t.append_message(conv, "user", "q", input_tokens=3, metadata={"a": 1})
        t.append_message(conv, "assistant", "a", output_tokens=5, tool_calls=[{"name": "x"}])
        assert [m.content for m in t.recent_messages(conv)] == ["a", "q"]
        assert t.recent_messages(conv)[1].metadata == {"a": 1}
        assert {m.content for m in t.tenant_recent_messages(2)} == {"a", "q"}  # one transaction: one created_at
        assert isinstance(t.set_conversation_stage(conv, "qualified"), datetime)
        t.set_account_secret("webhook_secret", "wh")
        assert t.get_tenant_config().webhook_secret == "wh" and t.tenant_config() == t.get_tenant_config()
        assert t.decrypt_sensitive_field(t.encrypt_sensitive_field("s")) == "s"
        assert sum(u.total_tokens for u in t.tenant_usage()) == 8 and t.usage() == t.tenant_usage()
        assert sum(u.total_tokens for u in t.tenant_usage_daily()) == 8
        assert {r.agent_type for r in t.tenant_cost_daily()} == {"SDR"}
        assert sum(r.answered for r in t.tenant_response_times()) == 1
        assert "qualified" in {r.stage for r in t.tenant_lead_funnel()}
        assert isinstance(t.tenant_consumption_summary(), list)


# --- the chat turn, one round trip ----------------------------------------------------------------------------

def test_chat_turn_is_one_round_trip(db: Database, acme: Tenant, tmp_path: Path) -> None:
    with Dom360(db.app_dsn, min_size=1, max_size=1) as client:
        first = client.chat_turn(acme.id, acme.inbox, "pipe", "user", "hello", input_tokens=2, request_id="t-1")
        trace = tmp_path / "trace.txt"
        with trace.open("w") as f:
            with client.pool.connection() as conn:  # the pool's only connection: the next turn runs on it
                conn.pgconn.trace(f.fileno())
                conn.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
            turn = client.chat_turn(acme.id, acme.inbox, "pipe", "assistant", "hi!", output_tokens=4, history=10)
            with client.pool.connection() as conn:
                conn.pgconn.untrace()
        again = client.chat_turn(acme.id, acme.inbox, "pipe", "user", "hello", input_tokens=2, request_id="t-1")
    directions = [line[0] for line in trace.read_text().splitlines() if line[:2] in ("F\t", "B\t")]
    sent_after_reply = directions.index("B")
    assert set(directions[:sent_after_reply]) == {"F"} and set(directions[sent_after_reply:]) == {"B"}, \
        "the client waited for the server before sending everything"
    assert trace.read_text().count("F\t4\tSync") == 1
    assert turn.conversation_id == first.conversation_id and turn.message.message_index == 2
    assert [(m.message_index, m.role, m.content) for m in turn.history] == [(2, "assistant", "hi!"), (1, "user", "hello")]
    assert turn.history[0].message_id == turn.message.message_id
    assert again.message == first.message  # a retried turn (same request id) stores nothing new
    counters_match_messages(db)


def test_a_refused_chat_turn_writes_nothing(db: Database, acme: Tenant) -> None:
    beta = seed(db, "beta")
    with Dom360(db.app_dsn, min_size=1, max_size=1) as client:
        for kwargs, cls in (({"role": "bot"}, InvalidInput), ({"inbox_id": beta.inbox}, NotFound),
                            ({"tenant_id": uuid.uuid4()}, NotFound), ({"agent_type": "X"}, InvalidInput)):
            args: dict[str, Any] = {"tenant_id": acme.id, "inbox_id": acme.inbox, "external_id": "new", "role": "user",
                                    "content": "x", **kwargs}
            with pytest.raises(cls):
                client.chat_turn(**args)
            with client.pool.connection() as conn:  # the connection is idle again, with no tenant
                assert conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
                assert conn.execute("SELECT dom360.current_tenant_id()").fetchone() == (None,)
    with db.admin() as c:
        assert c.execute("SELECT count(*) FROM dom360.messages").fetchone() == (0,)
        assert c.execute("SELECT count(*) FROM dom360.conversations WHERE external_id = 'new'").fetchone() == (0,)


def test_chat_turn_function_is_one_statement_and_keeps_its_tenant(db: Database, acme: Tenant) -> None:
    """dom360.chat_turn (for drivers without pipelining): sets the tenant only when none is set, refuses another."""
    beta = seed(db, "beta")
    with db.app(autocommit=True) as c:
        rows = c.execute("SELECT conversation_id, message_index, content FROM dom360.chat_turn(%s, %s, 'n', 'user', 'hi')",
                         [acme.id, acme.inbox]).fetchall()
        assert [r[1:] for r in rows] == [(1, "hi")]
        assert c.execute("SELECT dom360.current_tenant_id()").fetchone() == (None,)  # ended with its statement
        with pytest.raises(errors.ForeignKeyViolation):  # the tenant's id with another tenant's inbox
            c.execute("SELECT * FROM dom360.chat_turn(%s, %s, 'n', 'user', 'x')", [acme.id, beta.inbox])
        with c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [acme.id])
            with pytest.raises(errors.InsufficientPrivilege, match="not the transaction's tenant"), c.transaction():
                c.execute("SELECT * FROM dom360.chat_turn(%s, %s, 'n', 'user', 'x')", [beta.id, beta.inbox])
            assert len(c.execute("SELECT * FROM dom360.chat_turn(NULL, %s, 'n', 'user', 'again')",
                                 [acme.inbox]).fetchall()) == 2
    with db.admin() as c:
        assert c.execute("SELECT tenant_id, count(*) FROM dom360.messages GROUP BY 1").fetchall() == [(acme.id, 2)]


# --- asyncio under load ---------------------------------------------------------------------------------------

TASKS = 50
TURNS = 6


def test_async_client_50_tasks_across_tenants(db: Database) -> None:
    tenants = [seed(db, f"t{i}") for i in range(5)]

    async def task(client: AsyncDom360, i: int) -> None:
        t = tenants[i % len(tenants)]
        customer = f"cust-{i % 4}"  # several tasks share each conversation: the numbering is contended
        for k in range(TURNS):
            if k % 2:
                turn = await client.chat_turn(t.id, t.inbox, customer, "user", f"{i}/{k}", input_tokens=k,
                                              request_id=f"{i}-{k}")
                assert turn.history[0].message_id == turn.message.message_id
            else:
                async with client.tenant(t.id) as tx:
                    conv = await tx.get_or_create_conversation(t.inbox, customer)
                    await tx.append_message(conv, "assistant", f"{i}/{k}", output_tokens=k, request_id=f"{i}-{k}")
                    assert (await tx.recent_messages(conv, 1))[0].content == f"{i}/{k}"

    async def main() -> None:
        async with AsyncDom360(db.app_dsn, min_size=4, max_size=10) as client:
            await asyncio.gather(*(task(client, i) for i in range(TASKS)))

    asyncio.run(main())
    counters_match_messages(db)  # gapless numbering per conversation, counters equal to the messages' sums
    with db.admin() as c:
        assert c.execute("SELECT count(*), sum(input_tokens + output_tokens) FROM dom360.messages").fetchone() == \
            (TASKS * TURNS, TASKS * sum(range(TURNS)))
        # one conversation per (tenant, customer), however many tasks raced for it (seed() made cust-1's)
        assert c.execute("SELECT count(*) FROM dom360.conversations").fetchone() == (len(tenants) * 4,)


def test_client_module_is_typed() -> None:
    assert (Path(dc.__file__).parent / "py.typed").is_file()
