"""The chat data path under concurrency: one conversation per customer, gapless numbering, exact
counters, idempotent request ids, the direct-INSERT path, bad inputs, the client layer."""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import errors

from dom360db.client import Dom360, NotFound

from support import Database, Tenant, scalar, seed

THREADS = 8


def race(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(i) in n threads released together; return the results (re-raise the first error)."""
    barrier = threading.Barrier(n)
    results: list[Any] = [None] * n
    failures: list[BaseException] = []

    def run(i: int) -> None:
        try:
            barrier.wait(timeout=30)
            results[i] = work(i)
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    if failures:
        raise failures[0]
    return results


def in_tenant(db: Database, tenant: uuid.UUID, stmt: str, args: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [tenant])
        cur = c.execute(stmt, args or [])
        return cur.fetchall() if cur.description else []


def counters_match_messages(db: Database) -> None:
    """conversations.message_count and the consumption counters equal the sums over messages."""
    with db.admin() as c:
        drift = c.execute("""
            SELECT c.id, c.message_count, count(m.*)
              FROM dom360.conversations c LEFT JOIN dom360.messages m ON m.tenant_id = c.tenant_id AND m.conversation_id = c.id
             GROUP BY c.id, c.message_count HAVING c.message_count <> count(m.*)""").fetchall()
        assert drift == []
        gaps = c.execute("""
            SELECT conversation_id FROM dom360.messages GROUP BY conversation_id
            HAVING min(message_index) <> 1 OR max(message_index) <> count(*) OR count(DISTINCT message_index) <> count(*)
        """).fetchall()
        assert gaps == []
        a = c.execute("""
            SELECT tenant_id, inbox_id, (created_at AT TIME ZONE 'UTC')::date, count(*), sum(input_tokens),
                   sum(output_tokens), sum(total_tokens)
              FROM dom360.messages GROUP BY 1, 2, 3 ORDER BY 1, 2, 3""").fetchall()
        b = c.execute("""
            SELECT tenant_id, inbox_id, day, messages_count, input_tokens, output_tokens, total_tokens
              FROM dom360.consumption_inbox_daily ORDER BY 1, 2, 3""").fetchall()
        assert a == b


def test_racing_get_or_create_yields_one_conversation(db: Database, acme: Tenant) -> None:
    def work(_: int) -> uuid.UUID:
        return in_tenant(db, acme.id, "SELECT dom360.get_or_create_conversation(%s, 'racer')", [acme.inbox])[0][0]

    ids = race(THREADS, work)
    assert len(set(ids)) == 1
    with db.admin() as c:
        assert scalar(c, "SELECT count(*) FROM dom360.conversations WHERE external_id = 'racer'") == 1


def test_closed_conversation_is_replaced_by_a_new_one(db: Database, acme: Tenant) -> None:
    first = in_tenant(db, acme.id, "SELECT dom360.get_or_create_conversation(%s, 'cust-1')", [acme.inbox])[0][0]
    assert first == acme.conversation
    in_tenant(db, acme.id, "UPDATE dom360.conversations SET status = 'closed', closed_at = now() WHERE id = %s", [first])
    second = in_tenant(db, acme.id, "SELECT dom360.get_or_create_conversation(%s, 'cust-1', 'COPILOT')", [acme.inbox])[0][0]
    assert second != first
    with pytest.raises(errors.ObjectNotInPrerequisiteState, match="closed"):
        in_tenant(db, acme.id, "SELECT * FROM dom360.append_message(%s, 'user', 'late')", [first])


def test_racing_appends_are_numbered_gapless(db: Database, acme: Tenant) -> None:
    per_thread = 40

    def work(i: int) -> list[int]:
        out = []
        with db.app() as c:
            for k in range(per_thread):
                with c.transaction():
                    c.execute("SELECT dom360.set_tenant(%s)", [acme.id])
                    out.append(scalar(c, "SELECT message_index FROM dom360.append_message(%s, 'user', %s, %s, %s)",
                                         [acme.conversation, f"t{i} m{k}", k, i]))
        return out

    got = sorted(x for xs in race(THREADS, work) for x in xs)
    assert got == list(range(1, THREADS * per_thread + 1))
    counters_match_messages(db)


def test_hot_inbox_counters_are_exact(db: Database, acme: Tenant) -> None:
    """All writers on one inbox, different conversations (the striped counters' case)."""
    convs = [in_tenant(db, acme.id, "SELECT dom360.get_or_create_conversation(%s, %s)", [acme.inbox, f"c{i}"])[0][0]
             for i in range(THREADS)]

    def work(i: int) -> None:
        with db.app() as c:
            for k in range(30):
                with c.transaction():
                    c.execute("SELECT dom360.set_tenant(%s)", [acme.id])
                    c.execute("SELECT * FROM dom360.append_message(%s, %s, 'x', %s, %s)",
                              [convs[i], "user" if k % 2 else "assistant", k, 2 * k + 1])

    race(THREADS, work)
    counters_match_messages(db)
    with db.admin() as c:
        stripes = scalar(c, "SELECT count(*) FROM dom360.consumption_inbox_daily_stripes WHERE inbox_id = %s",
                            [acme.inbox])
        total = scalar(c, "SELECT messages_count FROM dom360.consumption_inbox_daily WHERE inbox_id = %s",
                          [acme.inbox])
    assert total == THREADS * 30 and stripes > 1


def test_racing_retries_of_one_request_store_one_message(db: Database, acme: Tenant) -> None:
    def work(_: int) -> tuple[Any, ...]:
        return in_tenant(db, acme.id, "SELECT * FROM dom360.append_message(%s, 'assistant', 'answer', 10, 20, "
                                      "NULL, NULL, 'agent-req-42')", [acme.conversation])[0]

    rows = race(THREADS, work)
    assert len(set(rows)) == 1 and rows[0][1] == 1
    with db.admin() as c:
        assert scalar(c, "SELECT count(*) FROM dom360.messages") == 1
        assert scalar(c, "SELECT sum(total_tokens) FROM dom360.consumption_inbox_daily") == 30
    again = in_tenant(db, acme.id, "SELECT * FROM dom360.append_message(%s, 'assistant', 'different text', 1, 1, "
                                   "NULL, NULL, 'agent-req-42')", [acme.conversation])[0]
    assert again == rows[0]
    with pytest.raises(errors.UniqueViolation, match="already used"):
        other = in_tenant(db, acme.id, "SELECT dom360.get_or_create_conversation(%s, 'someone-else')", [acme.inbox])[0][0]
        in_tenant(db, acme.id, "SELECT * FROM dom360.append_message(%s, 'user', 'x', 0, 0, NULL, NULL, 'agent-req-42')",
                  [other])
    counters_match_messages(db)


def test_plain_insert_gets_what_append_message_gets(db: Database, acme: Tenant) -> None:
    via_fn = in_tenant(db, acme.id, "SELECT message_index FROM dom360.append_message(%s, 'user', 'a', 1, 2)",
                       [acme.conversation])[0]
    via_insert = in_tenant(db, acme.id, "INSERT INTO dom360.messages (conversation_id, role, content, input_tokens, "
                                        "output_tokens, message_index, inbox_id) VALUES (%s, 'assistant', 'b', 3, 4, 99, %s) "
                                        "RETURNING message_index, inbox_id, total_tokens",
                           [acme.conversation, uuid.uuid4()])[0]
    assert via_fn == (1,)
    assert via_insert == (2, acme.inbox, 7)  # numbered and inbox filled by the trigger, whatever was given
    counters_match_messages(db)


BAD_INPUTS = {
    "negative input tokens": ("user", "x", -1, 0, errors.CheckViolation),
    "negative output tokens": ("assistant", "x", 0, -5, errors.CheckViolation),
    "unknown role": ("robot", "x", 0, 0, errors.CheckViolation),
    "content over the limit": ("user", "é" * 40000, 0, 0, errors.StringDataRightTruncation),
    "null content": ("user", None, 0, 0, errors.StringDataRightTruncation),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_refused_and_nothing_moves(db: Database, acme: Tenant, case: str) -> None:
    role, content, tin, tout, error = BAD_INPUTS[case]
    with db.admin() as c:
        before = c.execute("SELECT message_count FROM dom360.conversations WHERE id = %s", [acme.conversation]).fetchone()
    for stmt in ("SELECT * FROM dom360.append_message(%s, %s, %s, %s, %s, NULL, NULL, 'bad-req')",
                 "INSERT INTO dom360.messages (conversation_id, role, content, input_tokens, output_tokens) "
                 "VALUES (%s, %s, %s, %s, %s)"):
        with pytest.raises(error):
            in_tenant(db, acme.id, stmt, [acme.conversation, role, content, tin, tout])
    with db.admin() as c:
        assert c.execute("SELECT message_count FROM dom360.conversations WHERE id = %s", [acme.conversation]).fetchone() == before
        assert scalar(c, "SELECT count(*) FROM dom360.messages") == 0
        assert scalar(c, "SELECT count(*) FROM dom360.message_requests") == 0
        assert scalar(c, "SELECT count(*) FROM dom360.consumption_inbox_daily_stripes") == 0


def test_unknown_conversation_is_refused(db: Database, acme: Tenant) -> None:
    with pytest.raises(errors.ForeignKeyViolation, match="not found for the current tenant"):
        in_tenant(db, acme.id, "SELECT * FROM dom360.append_message(%s, 'user', 'x')", [uuid.uuid4()])


def test_recent_messages_newest_first_with_limit(db: Database, acme: Tenant) -> None:
    for k in range(5):
        in_tenant(db, acme.id, "SELECT * FROM dom360.append_message(%s, 'user', %s)", [acme.conversation, f"m{k}"])
    rows = in_tenant(db, acme.id, "SELECT message_index, content FROM dom360.recent_messages(%s, 3)", [acme.conversation])
    assert rows == [(5, "m4"), (4, "m3"), (3, "m2")]


@pytest.mark.single_server("a plan filtered by current_tenant_id(): on Citus that is no shard key and the scans run on "
                            "a worker (the chat path's one-shard routing is tests/test_citus.py's)")
def test_recent_messages_scans_only_the_conversations_partitions(db: Database, acme: Tenant) -> None:
    in_tenant(db, acme.id, "SELECT * FROM dom360.append_message(%s, 'user', 'hi')", [acme.conversation])
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [acme.id])
        plan = "\n".join(r[0] for r in c.execute(
            "EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF) "
            "SELECT m.* FROM dom360.conversations c CROSS JOIN LATERAL ("
            "  SELECT * FROM dom360.messages m WHERE m.tenant_id = c.tenant_id AND m.conversation_id = c.id"
            "     AND m.created_at >= c.first_message_at AND m.created_at <= c.last_message_at"
            "   ORDER BY m.message_index DESC LIMIT 20) m"
            " WHERE c.tenant_id = dom360.current_tenant_id() AND c.id = %s", [acme.conversation]))
    executed = [ln for ln in plan.splitlines() if "on messages_" in ln and "never executed" not in ln]
    assert len(executed) == 1, plan


def test_refresh_and_tenant_summary(db: Database, acme: Tenant) -> None:
    beta = seed(db, "beta")
    in_tenant(db, acme.id, "SELECT * FROM dom360.append_message(%s, 'user', 'x', 5, 6)", [acme.conversation])
    in_tenant(db, beta.id, "SELECT * FROM dom360.append_message(%s, 'user', 'x', 1, 1)", [beta.conversation])
    res = subprocess.run([sys.executable, "-m", "dom360db", "refresh", "--dsn", db.admin_dsn],
                         capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    rows = in_tenant(db, acme.id, "SELECT messages_count, total_tokens FROM dom360.tenant_consumption_summary()")
    assert rows == [(1, 11)]
    with db.analytics() as c:
        assert scalar(c, "SELECT count(*) FROM dom360.mv_tenant_consumption_summary") == 2


# --- property: numbering and counters hold for any sequence of appends --------------------------------------

append_op = st.tuples(st.integers(0, 2), st.sampled_from(["user", "assistant", "system", "tool"]),
                      st.integers(0, 5000), st.integers(0, 5000), st.booleans())


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(ops=st.lists(append_op, min_size=1, max_size=25))
def test_numbering_and_counters_hold_for_any_appends(db: Database, acme: Tenant, ops: list[Any]) -> None:
    convs = [in_tenant(db, acme.id, "SELECT dom360.get_or_create_conversation(%s, %s)", [acme.inbox, f"p{i}"])[0][0]
             for i in range(3)]
    with db.app() as c:
        for conv, role, tin, tout, direct in ops:
            with c.transaction():
                c.execute("SELECT dom360.set_tenant(%s)", [acme.id])
                if direct:
                    c.execute("INSERT INTO dom360.messages (conversation_id, role, content, input_tokens, output_tokens)"
                              " VALUES (%s, %s, 'x', %s, %s)", [convs[conv], role, tin, tout])
                else:
                    c.execute("SELECT * FROM dom360.append_message(%s, %s, 'x', %s, %s)", [convs[conv], role, tin, tout])
    counters_match_messages(db)


# --- the client layer ---------------------------------------------------------------------------------------

def test_client_under_concurrency(db: Database, acme: Tenant) -> None:
    beta = seed(db, "beta")
    with Dom360(db.app_dsn, min_size=2, max_size=4) as client:
        def work(i: int) -> None:
            t = acme if i % 2 else beta
            for k in range(15):
                with client.tenant(t.id) as tx:
                    conv = tx.get_or_create_conversation(t.inbox, f"client-{i}")
                    stored = tx.append_message(conv, "user", f"hello {k}", input_tokens=k, request_id=f"r-{i}-{k}")
                    replay = tx.append_message(conv, "user", "again", request_id=f"r-{i}-{k}")
                    assert replay == stored
                    msgs = tx.recent_messages(conv, limit=3)
                    assert msgs[0].message_index == stored.message_index == k + 1
                    assert tx.tenant_config().tenant_id == t.id
                    assert {u.inbox_id for u in tx.usage()} == {t.inbox}

        race(THREADS, work)
        # a failed block rolls back and leaves nothing on the pooled connection
        with pytest.raises(NotFound) as info, client.tenant(acme.id) as tx:  # another tenant's conversation
            tx.append_message(beta.conversation, "user", "sneaky")
        assert isinstance(info.value.__cause__, errors.ForeignKeyViolation)
        with client.pool.connection() as conn:
            assert scalar(conn, "SELECT dom360.current_tenant_id()") is None
    counters_match_messages(db)
    with db.admin() as c:
        assert scalar(c, "SELECT count(*) FROM dom360.messages") == THREADS * 15


def test_client_refuses_unknown_tenant(db: Database) -> None:
    with Dom360(db.app_dsn) as client, pytest.raises(NotFound) as info, client.tenant(uuid.uuid4()):
        pass
    assert isinstance(info.value.__cause__, errors.NoDataFound) and info.value.sqlstate == "P0002"


def test_conversation_with_messages_cannot_be_deleted_rekeyed_or_renumbered(db: Database, acme: Tenant) -> None:
    other_inbox = in_tenant(db, acme.id,
                            "INSERT INTO dom360.inboxes (name, channel) VALUES ('wa', 'whatsapp') RETURNING id")[0][0]
    in_tenant(db, acme.id, "SELECT * FROM dom360.append_message(%s, 'user', 'hi')", [acme.conversation])
    for stmt, args, error in (
        ("SELECT dom360.delete_conversation(%s)", [acme.conversation], errors.ForeignKeyViolation),
        ("DELETE FROM dom360.conversations WHERE id = %s", [acme.conversation], errors.InsufficientPrivilege),
        ("UPDATE dom360.conversations SET inbox_id = %s WHERE id = %s", [other_inbox, acme.conversation],
         errors.ForeignKeyViolation),
        ("UPDATE dom360.conversations SET id = gen_random_uuid() WHERE id = %s", [acme.conversation],
         # on Citus refused before it runs: "functions used in UPDATE queries on distributed tables must not be VOLATILE"
         (errors.ForeignKeyViolation, errors.FeatureNotSupported) if db.server.backend == "citus"
         else errors.ForeignKeyViolation),
        ("UPDATE dom360.conversations SET message_count = 0 WHERE id = %s", [acme.conversation],
         errors.InsufficientPrivilege),
        ("UPDATE dom360.conversations SET message_count = message_count + 1 WHERE id = %s", [acme.conversation],
         errors.InsufficientPrivilege),
        # a conversation cannot start numbering anywhere but 1
        ("INSERT INTO dom360.conversations (inbox_id, external_id, message_count) VALUES (%s, 'late', 7)",
         [acme.inbox], errors.InsufficientPrivilege),
    ):
        with pytest.raises(error):
            in_tenant(db, acme.id, stmt, args)
    # closing is the way; a conversation without messages may still be deleted or moved
    in_tenant(db, acme.id, "UPDATE dom360.conversations SET status = 'closed', closed_at = now() WHERE id = %s",
              [acme.conversation])
    empty = in_tenant(db, acme.id, "SELECT dom360.get_or_create_conversation(%s, 'nobody')", [acme.inbox])[0][0]
    in_tenant(db, acme.id, "UPDATE dom360.conversations SET inbox_id = %s WHERE id = %s", [other_inbox, empty])
    assert in_tenant(db, acme.id, "SELECT id FROM dom360.delete_conversation(%s)", [empty]) == [(empty,)]
    counters_match_messages(db)


def test_client_decrypts_secrets_only_with_a_key(db: Database, acme: Tenant) -> None:
    key = "k" * 40
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [acme.id])
        c.execute("SELECT dom360.set_account_secret('agents_api_token', 'tok-123', %s)", [key])
    with Dom360(db.app_dsn) as client:
        with client.tenant(acme.id) as tx:
            locked = tx.tenant_config()
        with client.tenant(acme.id, encryption_key=key) as tx:
            opened = tx.tenant_config()
        with client.pool.connection() as conn:  # the key ended with its transaction
            assert scalar(conn, "SELECT current_setting('app.encryption_key', true)") in (None, "")
    assert locked.agents_api_token is None and locked.secrets_present == ["agents_api_token"]
    assert opened.agents_api_token == "tok-123"


def test_tenant_recent_messages_newest_first_only_own(db: Database, acme: Tenant) -> None:
    beta = seed(db, "beta")
    for k in range(3):
        in_tenant(db, acme.id, "SELECT * FROM dom360.append_message(%s, 'user', %s)", [acme.conversation, f"a{k}"])
        in_tenant(db, beta.id, "SELECT * FROM dom360.append_message(%s, 'user', %s)", [beta.conversation, f"b{k}"])
    rows = in_tenant(db, acme.id, "SELECT content, inbox_id FROM dom360.tenant_recent_messages(2)")
    assert rows == [("a2", acme.inbox), ("a1", acme.inbox)]


def test_hot_inbox_writers_spread_over_free_counter_rows(db: Database, acme: Tenant) -> None:
    """Writers holding a counter row open do not make the next writer wait: it takes or adds another row."""
    convs = [in_tenant(db, acme.id, "SELECT dom360.get_or_create_conversation(%s, %s)", [acme.inbox, f"h{i}"])[0][0]
             for i in range(3)]
    with db.admin() as c:  # three committed counter rows for today (zeros: the sums do not change)
        for stripe in range(3):
            c.execute("INSERT INTO dom360.consumption_inbox_daily_stripes (tenant_id, inbox_id, day, stripe) "
                      "VALUES (%s, %s, (now() AT TIME ZONE 'UTC')::date, %s)", [acme.id, acme.inbox, stripe])
    holders = [db.app() for _ in range(2)]
    try:
        for conn, conv in zip(holders, convs, strict=False):  # two open transactions, each holding a row
            conn.execute("SELECT dom360.set_tenant(%s)", [acme.id])
            conn.execute("SELECT * FROM dom360.append_message(%s, 'user', 'held')", [conv])
        with db.app() as c, c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [acme.id])
            c.execute("SET LOCAL lock_timeout = '2s'")  # would fail if it queued behind a holder
            c.execute("SELECT * FROM dom360.append_message(%s, 'user', 'free')", [convs[2]])
    finally:
        for conn in holders:
            conn.commit()
            conn.close()
    counters_match_messages(db)
    with db.admin() as c:  # each writer used a different row, and no row was added
        counts = [r[0] for r in c.execute("SELECT messages_count FROM dom360.consumption_inbox_daily_stripes "
                                          "WHERE inbox_id = %s ORDER BY stripe", [acme.inbox])]
    assert counts == [1, 1, 1]
