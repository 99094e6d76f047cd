"""A hostile app login: what it can plant on a pooled server connection must change nothing another
transaction runs (docs/security.md).

The attack (issue #16): PostgreSQL resolves relation and *type* names in the session's temporary schema
first, whatever `search_path` says. An app login that may create temporary objects plants a domain
`pg_temp.uuid` (or `text`, `jsonb`, …) whose CHECK calls a function of its own; any later transaction on the
same server connection that resolves the bare type name through the search path runs that function with
its own tenant and encryption key in scope. Two defences, each proven alone here:

(a) no TEMP privilege on the database for PUBLIC, the app and the analytics roles (`dom360.secure_database()`,
    run by every `migrate`): the plant itself is refused;
(b) every type name the tenant path resolves at run time is schema-qualified (`current_tenant_id()`, which
    policies inline, and the app-facing functions without a pinned search_path): the plant is never used.

The victim goes through the project's own client (`dom360db.client.Dom360`) on a one-connection pool, and
through a real PgBouncer in transaction mode with one server connection, its key passed as a bind parameter.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack

import psycopg
import pytest
from psycopg import errors, sql

from dom360db.client import Dom360

import pgbouncer
from support import APP_LOGIN, LOGIN_PASSWORD, Database, Tenant, scalar, seed

KEY = "victim-key-" + "k" * 32

#: Type names a planted domain may shadow: the ones the tenant path uses, spelled the way a function body
#: could spell them. SQL keywords (integer, bigint, boolean, numeric, timestamp with time zone, …) are
#: translated by the grammar to pg_catalog names; their catalog names (int4, bool, …) are not.
TYPE_NAMES = ["uuid", "text", "int4", "int8", "int2", "timestamptz", "timestamp", "date", "interval",
              "jsonb", "json", "bool", "numeric", "varchar", "bytea", "regclass", "name", "oid"]

SPY = """
CREATE FUNCTION pg_temp.spy(t pg_catalog.text, v pg_catalog.text) RETURNS pg_catalog.bool LANGUAGE plpgsql AS $f$
BEGIN
    PERFORM pg_catalog.set_config('rt.loot', pg_catalog.concat(pg_catalog.current_setting('rt.loot', true),
        t, ': tenant=', pg_catalog.current_setting('app.tenant_id', true),
        ' key=', pg_catalog.current_setting('app.encryption_key', true), '; '), false);
    RETURN true;
END $f$
"""


def plant(conn: psycopg.Connection, names: list[str] = TYPE_NAMES) -> None:
    """As the app login, in autocommit: the spy and one domain per type name (the issue's attack)."""
    conn.execute(SPY)
    for name in names:
        conn.execute(sql.SQL("CREATE DOMAIN pg_temp.{} AS pg_catalog.{} CHECK (pg_temp.spy({}, VALUE::pg_catalog.text))")
                     .format(sql.Identifier(name), sql.Identifier(name), sql.Literal(name)))


def loot(conn: psycopg.Connection) -> str:
    return scalar(conn, "SELECT pg_catalog.current_setting('rt.loot', true)") or ""


def victim_turn(dom: Dom360, t: Tenant) -> None:
    """A full chat turn and the reads of a backend, as the victim tenant with its key."""
    with dom.tenant(t.id, encryption_key=KEY) as tx:
        conv = tx.get_or_create_conversation(t.inbox, "cust-victim", agent_type="SDR")
        tx.append_message(conv, "user", "hello", input_tokens=3, output_tokens=0, request_id=f"r-{uuid.uuid4()}",
                          tool_calls={"a": 1}, metadata={"b": 2})
        tx.append_message(conv, "assistant", "hi!", input_tokens=0, output_tokens=4)
        tx.recent_messages(conv, limit=5)
        cfg = tx.tenant_config()
        assert cfg.agents_api_token == "victim-token"
        tx.usage()
        conn = tx._conn  # the statements of a backend outside the client's methods, same transaction
        conn.execute("SELECT * FROM dom360.tenant_recent_messages(5)").fetchall()
        conn.execute("SELECT id FROM dom360.conversations WHERE inbox_id = %s", [t.inbox]).fetchall()
        conn.execute("SELECT * FROM dom360.inboxes").fetchall()


@pytest.fixture
def victim(db: Database) -> Tenant:
    t = seed(db, "victim")
    seed(db, "attacker")
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [t.id])
        c.execute("SELECT set_config('app.encryption_key', %s, true)", [KEY])
        c.execute("SELECT dom360.set_account_secret('agents_api_token', 'victim-token')")
    return t


def unqualify_current_tenant_id(db: Database) -> None:
    """Restore the pre-#16 body of current_tenant_id() (`::uuid` through the caller's search path)."""
    with db.admin() as c:
        c.execute("CREATE OR REPLACE FUNCTION dom360.current_tenant_id() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE "
                  "AS $$ SELECT NULLIF(pg_catalog.current_setting('app.tenant_id', true), '')::uuid $$")


def revoke_temp(db: Database) -> None:
    with db.admin() as c:
        c.execute("SELECT dom360.secure_database()")


def grant_temp(db: Database) -> None:
    with db.admin() as c:
        c.execute(sql.SQL("GRANT TEMPORARY ON DATABASE {} TO PUBLIC").format(sql.Identifier(db.name)))


@pytest.fixture
def one_connection_pool(db: Database) -> Iterator[Dom360]:
    dom = Dom360(db.app_dsn, min_size=1, max_size=1)
    try:
        yield dom
    finally:
        dom.close()


def attack_through_pool(dom: Dom360, victim: Tenant) -> str:
    with dom.pool.connection() as c:
        plant(c)
    victim_turn(dom, victim)
    with dom.pool.connection() as c:
        return loot(c)


# --- through the project's client on a one-connection pool ------------------------------------------------

def test_qualified_names_alone_defeat_the_plant(db: Database, victim: Tenant, one_connection_pool: Dom360) -> None:
    """Defence (b) alone: TEMP granted (as on a database cloned or restored without `migrate`)."""
    grant_temp(db)
    assert attack_through_pool(one_connection_pool, victim) == ""


def test_the_harness_sees_the_attack_without_defences(db: Database, victim: Tenant, one_connection_pool: Dom360) -> None:
    """The test above can fail: with the old unqualified current_tenant_id() and TEMP granted, the spy runs in
    the victim's transaction and reads its tenant id and key."""
    grant_temp(db)
    unqualify_current_tenant_id(db)
    stolen = attack_through_pool(one_connection_pool, victim)
    assert f"uuid: tenant={victim.id} key={KEY}" in stolen


def test_no_temp_privilege_alone_defeats_the_plant(db: Database, victim: Tenant, one_connection_pool: Dom360) -> None:
    """Defence (a) alone: the old unqualified function, but no TEMP privilege: the plant is refused."""
    unqualify_current_tenant_id(db)
    revoke_temp(db)
    with one_connection_pool.pool.connection() as c, pytest.raises(errors.InsufficientPrivilege, match="temporary"):
        plant(c)
    victim_turn(one_connection_pool, victim)
    with one_connection_pool.pool.connection() as c:
        assert loot(c) == ""


def test_migrate_revokes_temp_even_on_a_cloned_database(db: Database) -> None:
    """CREATE DATABASE … TEMPLATE does not copy database privileges: the clone has PostgreSQL's default (TEMP for
    PUBLIC) until `secure_database()` (every `migrate` runs it) takes it away again."""
    from support import migrate_database

    grant_temp(db)
    with db.app() as c:
        assert scalar(c, "SELECT has_database_privilege(current_database(), 'TEMPORARY')")
    migrate_database(db.admin_dsn)
    with db.app() as c:
        assert not scalar(c, "SELECT has_database_privilege(current_database(), 'TEMPORARY')")
        with pytest.raises(errors.InsufficientPrivilege):
            c.execute("CREATE TEMPORARY TABLE t (x int)")
    with db.admin() as c:  # PUBLIC lost it too; the analytics role keeps it (REFRESH … CONCURRENTLY of its view)
        assert not scalar(c, "SELECT has_database_privilege('public', current_database(), 'TEMPORARY')")
        assert scalar(c, "SELECT has_database_privilege('dom360_analytics', current_database(), 'TEMPORARY')")


# --- through a real PgBouncer in transaction mode, one server connection -----------------------------------

@pytest.fixture
def bouncer(db: Database) -> Iterator[pgbouncer.PgBouncer]:
    try:
        pgbouncer.binary()
    except pgbouncer.PgBouncerUnavailable as exc:
        pytest.skip(str(exc))
    with ExitStack() as stack:
        yield stack.enter_context(pgbouncer.running(db.admin_dsn, {APP_LOGIN: LOGIN_PASSWORD}, pool_size=1))


def attack_through_bouncer(pb: pgbouncer.PgBouncer, victim: Tenant) -> tuple[str, int, int]:
    with pb.connect(APP_LOGIN, LOGIN_PASSWORD, autocommit=True) as attacker:
        pid = scalar(attacker, "SELECT pg_backend_pid()")
        plant(attacker)
        dom = Dom360(pb.dsn(APP_LOGIN, LOGIN_PASSWORD), min_size=1, max_size=1,
                     configure=lambda c: setattr(c, "prepare_threshold", None))
        try:
            victim_turn(dom, victim)
            with dom.pool.connection() as c:
                victim_pid = scalar(c, "SELECT pg_backend_pid()")
        finally:
            dom.close()
        return loot(attacker), pid, victim_pid


def test_pgbouncer_qualified_names_alone_defeat_the_plant(db: Database, victim: Tenant, bouncer: pgbouncer.PgBouncer) -> None:
    grant_temp(db)
    stolen, pid, victim_pid = attack_through_bouncer(bouncer, victim)
    assert pid == victim_pid  # one server connection shared by attacker and victim
    assert stolen == ""


def test_pgbouncer_the_harness_sees_the_attack_without_defences(db: Database, victim: Tenant,
                                                               bouncer: pgbouncer.PgBouncer) -> None:
    grant_temp(db)
    unqualify_current_tenant_id(db)
    stolen, pid, victim_pid = attack_through_bouncer(bouncer, victim)
    assert pid == victim_pid
    assert f"uuid: tenant={victim.id} key={KEY}" in stolen


def test_pgbouncer_no_temp_privilege_refuses_the_plant(db: Database, victim: Tenant, bouncer: pgbouncer.PgBouncer) -> None:
    unqualify_current_tenant_id(db)
    revoke_temp(db)
    with (bouncer.connect(APP_LOGIN, LOGIN_PASSWORD, autocommit=True) as attacker,
          pytest.raises(errors.InsufficientPrivilege, match="temporary")):
        plant(attacker)


# --- doctor ----------------------------------------------------------------------------------------------

def doctor_findings(db: Database, check: str) -> list[tuple[str, str]]:
    from dom360db import config, doctor, sqlfiles

    with db.admin() as conn:
        return [(f.object, f.problem) for f in doctor.run(conn, config.DEFAULTS, sqlfiles.load(config.DEFAULTS))
                if f.check == check]


def test_doctor_reports_temp_for_the_app(db: Database) -> None:
    assert doctor_findings(db, "temp_privilege") == []
    grant_temp(db)
    assert [o for o, _ in doctor_findings(db, "temp_privilege")] == [f"database {db.name}"]


UNQUALIFIED = {
    "a cast": "SELECT NULLIF(pg_catalog.current_setting('x', true), '')::uuid",
    "a declaration": "DECLARE v text := 'a'; BEGIN RETURN v; END",
    "a record": "DECLARE r record; BEGIN RETURN 'a'; END",
    "a %ROWTYPE": "DECLARE r tenants%ROWTYPE; BEGIN RETURN 'a'; END",
    "a relation": "BEGIN RETURN (SELECT t.slug FROM tenants AS t LIMIT 1); END",
}


@pytest.mark.parametrize("case", list(UNQUALIFIED))
def test_doctor_reports_unqualified_names(db: Database, case: str) -> None:
    body = UNQUALIFIED[case]
    lang = "sql" if body.startswith("SELECT") else "plpgsql"
    with db.admin() as c:
        c.execute("SET check_function_bodies = off")  # `tenants` resolves nowhere for the superuser either
        c.execute(sql.SQL("CREATE FUNCTION dom360.f() RETURNS pg_catalog.text LANGUAGE {} AS {}")
                  .format(sql.Identifier(lang), sql.Literal(body)))
    assert {o for o, _ in doctor_findings(db, "unqualified_names")} == {"dom360.f()"}
    with db.admin() as c:  # the same with a pinned search_path is fine
        c.execute("ALTER FUNCTION dom360.f() SET search_path = pg_catalog, pg_temp")
    assert doctor_findings(db, "unqualified_names") == []


def test_doctor_ignores_qualified_names_comments_and_strings(db: Database) -> None:
    body = ("/* a uuid::text in a comment */ DECLARE v pg_catalog.text := 'x::uuid FROM tenants'; -- ::jsonb\n"
            "n integer := 0; b boolean; BEGIN SELECT t.slug INTO v FROM dom360.tenants AS t; "
            "RETURN v || n::pg_catalog.text || b::boolean::integer; END")
    with db.admin() as c:
        c.execute(sql.SQL("CREATE FUNCTION dom360.f() RETURNS pg_catalog.text LANGUAGE plpgsql AS {}")
                  .format(sql.Literal(body)))
    assert doctor_findings(db, "unqualified_names") == []


# --- integrity: ids and parked rows ------------------------------------------------------------------------

def test_app_cannot_choose_a_message_id(db: Database, victim: Tenant) -> None:
    """An id chosen by one tenant would collide with the id the sequence gives another tenant's message."""
    with db.app() as c, c.transaction(), pytest.raises(errors.InsufficientPrivilege, match="messages"):
        c.execute("SELECT dom360.set_tenant(%s)", [victim.id])
        c.execute("INSERT INTO dom360.messages (id, conversation_id, role, content) VALUES (1, %s, 'user', 'x')",
                  [victim.conversation])
    with db.app() as c, c.transaction():  # the database's id: unique, increasing
        c.execute("SELECT dom360.set_tenant(%s)", [victim.id])
        ids = [scalar(c, "INSERT INTO dom360.messages (conversation_id, role, content) VALUES (%s, 'user', 'x') "
                         "RETURNING id", [victim.conversation]) for _ in range(3)]  # type: ignore[index]
    assert ids == sorted(set(ids))
    with db.app() as c, pytest.raises(errors.InsufficientPrivilege):  # nor move the sequence back
        c.execute("SELECT setval('dom360.messages_id_seq', 1)")


def partition_count(db: Database) -> int:
    with db.admin() as c:
        return scalar(c, "SELECT count(*) FROM pg_inherits WHERE inhparent = 'dom360.messages'::regclass")


def park(db: Database, t: Tenant, months: list[str]) -> None:
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [t.id])
        for month in months:
            c.execute("INSERT INTO dom360.messages (conversation_id, role, content, created_at) "
                      "VALUES (%s, 'user', 'from the future', %s)", [t.conversation, f"{month}-15 12:00+00"])


def test_far_future_rows_create_a_bounded_number_of_partitions_per_run(db: Database, victim: Tenant) -> None:
    months = [f"{2040 + i // 12}-{i % 12 + 1:02d}" for i in range(24)]  # 2040-01 … 2041-12
    park(db, victim, months)
    before = partition_count(db)
    res = subprocess.run([sys.executable, "-m", "dom360db", "partitions", "ensure", "--dsn", db.admin_dsn],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert partition_count(db) == before + 12  # the 12 nearest; the others stay parked, and doctor says so
    parked = doctor_findings(db, "default_partition_rows")
    assert len(parked) == 1 and "12 row(s)" in parked[0][1] and "2041-01" in parked[0][1]
    with db.admin() as c:
        assert scalar(c, "SELECT dom360.ensure_message_partitions()") == 12
        assert scalar(c, "SELECT dom360.ensure_message_partitions()") == 0
    assert partition_count(db) == before + 24
    assert doctor_findings(db, "default_partition_rows") == []


# --- no cross-tenant stalls ----------------------------------------------------------------------------------

def waiting_pids(db: Database) -> set[int]:
    with db.admin() as c:
        return {r[0] for r in c.execute("SELECT pid FROM pg_locks WHERE NOT granted")}


def test_ensure_message_partitions_gives_up_under_a_long_reader_and_never_blocks_writers(
        db: Database, victim: Tenant) -> None:
    """pg_cron's path: a row parked in the default partition, a REPEATABLE READ reader that read it and stays
    open. ensure_message_partitions() waits at most its lock timeout per attempt, retries, then raises a clear
    error; meanwhile a writer (whose own lock_timeout is far longer) is never stuck behind it."""
    park(db, victim, ["2039-05"])
    with db.admin() as reader, db.admin() as maint:
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        reader.execute("SELECT count(*) FROM dom360.messages_default").fetchone()
        maint.execute("SET dom360.partition_lock_timeout = '300ms'")
        maint.execute("SET dom360.partition_attempts = 5")
        maint_pid = maint.info.backend_pid
        failure: list[BaseException] = []

        def run() -> None:
            try:
                maint.execute("SELECT dom360.ensure_message_partitions()")
            except psycopg.Error as exc:
                failure.append(exc)

        th = threading.Thread(target=run)
        th.start()
        try:
            while maint_pid not in waiting_pids(db):  # it is waiting for a lock now (holding SHARE ROW EXCLUSIVE)
                assert th.is_alive()
            with db.app() as w, w.transaction():  # a writer of another month arrives behind it
                w.execute("SET LOCAL lock_timeout = '60s'")  # a bound that only a stuck writer would reach
                w.execute("SELECT dom360.set_tenant(%s)", [victim.id])
                w.execute("SELECT * FROM dom360.append_message(%s, 'user', 'still writing')", [victim.conversation])
        finally:
            th.join(timeout=60)
            if th.is_alive():  # stuck behind the reader (the defence is gone): free it, or the test hangs
                reader.execute("ROLLBACK")
                th.join()
        assert not failure or isinstance(failure[0], errors.LockNotAvailable), failure
        assert len(failure) == 1 and isinstance(failure[0], errors.LockNotAvailable)
        assert "lock not granted within 300ms after 5 attempt(s)" in str(failure[0])
        reader.execute("COMMIT")
        assert scalar(maint, "SELECT dom360.ensure_message_partitions()") == 1




def test_app_cannot_lock_shared_tables_against_other_tenants(db: Database, victim: Tenant) -> None:
    """`BEGIN; LOCK TABLE dom360.conversations IN ACCESS EXCLUSIVE MODE` in one tenant's transaction used to stall
    every tenant. UPDATE is granted per column now (a column privilege does not let a role lock a table), and DELETE
    goes through dom360.delete_*() functions: the app can lock no table above ROW EXCLUSIVE."""
    with db.admin() as c:
        tables = [r[0] for r in c.execute(
            "SELECT c.oid::regclass::text FROM pg_class c WHERE c.relnamespace = 'dom360'::regnamespace "
            "AND c.relkind IN ('r', 'p') ORDER BY 1")]
    lockable = set()
    with db.app(autocommit=True) as app:
        for table in tables:
            with app.transaction():
                app.execute("SELECT dom360.set_tenant(%s)", [victim.id])
                try:
                    with app.transaction():
                        app.execute(sql.SQL("LOCK TABLE {} IN SHARE MODE NOWAIT").format(
                            sql.Identifier(*table.split("."))))
                    lockable.add(table)
                except errors.InsufficientPrivilege:
                    pass
    assert "dom360.account_vars" in tables and "dom360.messages" in tables
    assert lockable == set()


# --- Supabase splinter's generic lints (the same conditions, as catalog queries) ----------------------------------

#: Functions without a pinned search_path, each argued in docs/security.md: current_tenant_id() must stay
#: inlinable (a SET clause stops inlining into policies); the others start or carry every chat turn, where a SET
#: clause costs a configuration push and pop per call. All of them qualify every name (doctor: unqualified_names).
#: require_tenant() is inlined into the app-facing functions like current_tenant_id() (schema/0090).
SEARCH_PATH_NOT_PINNED = {"current_tenant_id", "require_tenant", "set_tenant", "append_message",
                          "get_or_create_conversation", "recent_messages", "tenant_recent_messages",
                          "response_turns_between"}  # inlined into the report's queries (constants fold)


def test_lint_function_search_path_mutable(db: Database) -> None:
    with db.admin() as c:
        names = {r[0] for r in c.execute(
            "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg\\_%%' "
            "AND NOT EXISTS (SELECT FROM pg_depend d WHERE d.objid = p.oid AND d.deptype = 'e') "
            "AND NOT EXISTS (SELECT FROM unnest(coalesce(p.proconfig, '{}')) s WHERE s LIKE 'search\\_path=%%')")}
    assert names == SEARCH_PATH_NOT_PINNED


def test_lint_extension_in_public(db: Database) -> None:
    with db.admin() as c:
        assert scalar(c, "SELECT array_agg(extname) FROM pg_extension "
                         "WHERE extnamespace = 'public'::regnamespace AND extname <> 'plpgsql'") is None
        where = dict(c.execute("SELECT extname, extnamespace::regnamespace::text FROM pg_extension "
                               "WHERE extname IN ('pgcrypto', 'btree_gist')").fetchall())
    assert where == {"pgcrypto": "dom360_ext", "btree_gist": "dom360_ext"}


def test_lint_multiple_permissive_policies(db: Database) -> None:
    """Two permissive policies apply to one role and command only where docs/security.md argues it: the analytics
    role's SELECT (tenant_isolation is TO PUBLIC, analytics_read adds every tenant), and the owner on a default
    partition (owner_maintenance, for the maintenance functions)."""
    with db.admin() as c:
        pairs = {(r[0], tuple(r[1])) for r in c.execute("""
            SELECT r.rolname, array_agg(p.polname::text ORDER BY p.polname)
              FROM pg_policy p
              JOIN pg_class t ON t.oid = p.polrelid
              CROSS JOIN pg_roles r
             WHERE t.relnamespace = 'dom360'::regnamespace AND p.polpermissive
               AND r.rolname IN ('dom360_app', 'dom360_analytics', 'dom360_owner')
               AND (p.polroles = '{0}' OR r.oid = ANY (p.polroles))
               AND p.polcmd IN ('*', 'r')
             GROUP BY t.oid, r.rolname
            HAVING count(*) > 1""")}
    assert pairs == {
        ("dom360_analytics", ("analytics_read", "tenant_isolation")),
        ("dom360_owner", ("owner_maintenance", "tenant_isolation")),
    }


def test_delete_conversation_reaches_the_current_tenant_only(db: Database, victim: Tenant) -> None:
    """The app deletes rows only through dom360.delete_*() (no DELETE privilege, so no LOCK); the conversation's."""
    other = db.create_tenant("other")
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [victim.id])
        empty = scalar(c, "SELECT dom360.get_or_create_conversation(%s, 'nobody')", [victim.inbox])
    with db.app() as c:
        with c.transaction(), pytest.raises(errors.InsufficientPrivilege, match="no tenant set"):
            c.execute("SELECT * FROM dom360.delete_conversation(%s)", [empty])
        with c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [other])
            assert c.execute("SELECT * FROM dom360.delete_conversation(%s)", [empty]).fetchall() == []
        with c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [victim.id])
            assert scalar(c, "SELECT count(*) FROM dom360.conversations WHERE id = %s", [empty]) == 1
            assert c.execute("SELECT id FROM dom360.delete_conversation(%s)", [empty]).fetchall() == [(empty,)]
            assert scalar(c, "SELECT count(*) FROM dom360.conversations WHERE id = %s", [empty]) == 0
