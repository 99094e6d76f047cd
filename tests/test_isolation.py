"""Tenant isolation as the app role sees it: fail closed, no cross-tenant read or write, per-tenant keys."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import errors, sql

from support import Database, Tenant, scalar, seed

#: Every table of schema dom360 and what the app role may do there (checked against the catalog).
APP_PRIVILEGES: dict[str, frozenset[str]] = {
    "tenants": frozenset({"SELECT"}),
    "users": frozenset({"SELECT", "INSERT", "UPDATE"}),
    "account_vars": frozenset({"SELECT", "UPDATE"}),
    "inboxes": frozenset({"SELECT", "INSERT", "UPDATE"}),
    "agents": frozenset({"SELECT", "INSERT", "UPDATE"}),
    "conversations": frozenset({"SELECT", "INSERT", "UPDATE"}),
    "audit_log": frozenset({"SELECT"}),
    "messages": frozenset({"SELECT", "INSERT"}),
    "message_requests": frozenset({"SELECT", "INSERT"}),
    "consumption_inbox_daily_stripes": frozenset({"SELECT"}),
    "token_prices": frozenset({"SELECT"}),
    "conversation_stages": frozenset({"SELECT"}),
}
#: No table-level DELETE anywhere (it would let the app LOCK the table against every tenant): a function per table.
DELETE_FUNCTIONS = {"users": "delete_user", "inboxes": "delete_inbox", "agents": "delete_agent",
                    "conversations": "delete_conversation"}
APP_TABLES = set(APP_PRIVILEGES)
INSERTABLE = {t for t, p in APP_PRIVILEGES.items() if "INSERT" in p}
UPDATABLE = {t for t, p in APP_PRIVILEGES.items() if "UPDATE" in p}
DELETABLE = {t for t, p in APP_PRIVILEGES.items() if "DELETE" in p}
#: Any of these means "refused": row-level security, a missing privilege, or the trigger's own checks.
REFUSED = (errors.InsufficientPrivilege, errors.NotNullViolation, errors.CheckViolation, errors.ForeignKeyViolation)


@pytest.fixture
def tenants(db: Database) -> tuple[Tenant, Tenant]:
    """Two seeded tenants, each with a message (so messages, requests and counters have rows too)."""
    pair = seed(db, "acme"), seed(db, "beta")
    for t in pair:
        with db.app() as c, c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [t.id])
            c.execute("SELECT * FROM dom360.append_message(%s, 'user', 'hello', 3, 0, NULL, NULL, 'req-1')",
                      [t.conversation])
        with db.app() as c, c.transaction():  # its own transaction: on Citus a SECURITY DEFINER function may not
            c.execute("SELECT dom360.set_tenant(%s)", [t.id])  # touch shards the app wrote (docs/citus.md)
            c.execute("SELECT dom360.set_conversation_stage(%s, 'qualified')", [t.conversation])
        with db.admin() as c:  # prices are written by operators
            c.execute("INSERT INTO dom360.token_prices (tenant_id, agent_type, valid_from, input_price_per_1k, "
                      "output_price_per_1k) VALUES (%s, 'SDR', '2020-01-01', 0.5, 1.5)", [t.id])
    return pair


def count(conn: psycopg.Connection, table: str) -> int:
    return scalar(conn, sql.SQL("SELECT count(*) FROM dom360.{}").format(sql.Identifier(table)))


def key_column(table: str) -> str:
    return "id" if table == "tenants" else "tenant_id"


def test_table_list_matches_the_catalog(db: Database) -> None:
    with db.admin() as c:
        rows = c.execute(
            "SELECT c.relname, p.priv FROM pg_class c CROSS JOIN unnest(ARRAY['SELECT','INSERT','UPDATE','DELETE']) p(priv)"
            " WHERE c.relnamespace = 'dom360'::regnamespace AND c.relkind IN ('r','p') AND NOT c.relispartition"
            # INSERT and UPDATE may be granted per column (conversations: every column but message_count)
            "   AND CASE WHEN p.priv IN ('INSERT', 'UPDATE') THEN has_any_column_privilege('dom360_app', c.oid, p.priv)"
            "            ELSE has_table_privilege('dom360_app', c.oid, p.priv) END").fetchall()
        tables = {r[0] for r in c.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'dom360'::regnamespace AND relkind IN ('r','p') "
            "AND NOT relispartition")}
    assert tables == APP_TABLES, "a new table needs isolation tests here"
    granted: dict[str, set[str]] = {}
    for table, priv in rows:
        granted.setdefault(table, set()).add(priv)
    assert granted == {t: set(p) for t, p in APP_PRIVILEGES.items()}
    with db.admin() as c:  # the numbering counter is moved by the messages trigger (the owner) only
        for priv in ("INSERT", "UPDATE"):
            assert c.execute("SELECT has_column_privilege('dom360_app', 'dom360.conversations', 'message_count', %s)",
                             [priv]).fetchone() == (False,)


# --- fail closed -------------------------------------------------------------------------------------

@pytest.mark.parametrize("table", sorted(APP_TABLES))
@pytest.mark.parametrize("setting", [None, ""], ids=["unset", "empty"])
def test_no_tenant_sees_no_row(db: Database, tenants: tuple[Tenant, Tenant], table: str, setting: str | None) -> None:
    with db.admin() as c:
        assert count(c, table) >= 2  # there is something to hide
    with db.app() as c, c.transaction():
        if setting is not None:
            c.execute("SELECT set_config('app.tenant_id', %s, true)", [setting])
        assert scalar(c, "SELECT dom360.current_tenant_id()") is None
        assert count(c, table) == 0


@pytest.mark.parametrize("table", sorted(APP_TABLES))
def test_malformed_tenant_is_an_error_not_an_empty_result(db: Database, tenants: tuple[Tenant, Tenant], table: str) -> None:
    with db.app() as c, c.transaction(force_rollback=True):
        c.execute("SELECT set_config('app.tenant_id', 'not-a-uuid', true)")
        with pytest.raises(errors.InvalidTextRepresentation):
            count(c, table)


@pytest.mark.parametrize("table", sorted(APP_TABLES))
def test_no_tenant_writes_nothing(db: Database, tenants: tuple[Tenant, Tenant], table: str) -> None:
    a, _ = tenants
    col = sql.Identifier(key_column(table))
    ident = sql.Identifier(table)
    with db.admin() as c:
        before = count(c, table)
    with db.app() as c:
        # an explicit tenant id, or the default (NULL without a tenant): refused either way
        with pytest.raises(REFUSED), c.transaction():
            c.execute(sql.SQL("INSERT INTO dom360.{} ({}) VALUES (%s)").format(ident, col), [a.id])
        with pytest.raises(REFUSED), c.transaction():
            c.execute(sql.SQL("INSERT INTO dom360.{} DEFAULT VALUES").format(ident))
        with c.transaction():
            if table in UPDATABLE:
                assert c.execute(sql.SQL("UPDATE dom360.{} SET {} = {}").format(ident, col, col)).rowcount == 0
            if table in DELETABLE:
                assert c.execute(sql.SQL("DELETE FROM dom360.{}").format(ident)).rowcount == 0
        if table in DELETE_FUNCTIONS:
            with db.admin() as admin:
                some_id = scalar(admin, sql.SQL("SELECT id FROM dom360.{} LIMIT 1").format(ident))
            with pytest.raises(errors.InsufficientPrivilege, match="no tenant set"), c.transaction():
                c.execute(sql.SQL("SELECT * FROM dom360.{}(%s)").format(sql.Identifier(DELETE_FUNCTIONS[table])), [some_id])
    with db.admin() as c:
        assert count(c, table) == before >= 2


def test_setting_ends_with_the_transaction(db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    a, _ = tenants
    with db.app() as c:
        with c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [a.id])
            assert count(c, "inboxes") == 1
        assert scalar(c, "SELECT dom360.current_tenant_id()") is None
        assert count(c, "inboxes") == 0
        with c.transaction(force_rollback=True):
            c.execute("SELECT dom360.set_tenant(%s)", [a.id])
        assert count(c, "inboxes") == 0


def test_set_tenant_refuses_null_unknown_and_inactive(db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    a, _ = tenants
    with db.app() as c:
        with pytest.raises(errors.NullValueNotAllowed), c.transaction():
            c.execute("SELECT dom360.set_tenant(NULL)")
        with pytest.raises(errors.NoDataFound, match="unknown tenant"), c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [uuid.uuid4()])
    with db.admin() as c:
        c.execute("UPDATE dom360.tenants SET status = 'suspended' WHERE id = %s", [a.id])
    with db.app() as c, pytest.raises(errors.InsufficientPrivilege, match="suspended"), c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [a.id])


# --- cross tenant --------------------------------------------------------------------------------------

@pytest.mark.parametrize("table", sorted(APP_TABLES))
def test_each_tenant_sees_only_its_own_rows(db: Database, tenants: tuple[Tenant, Tenant], table: str) -> None:
    col = sql.Identifier(key_column(table))
    for t in tenants:
        with db.app() as c, c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [t.id])
            owners = {r[0] for r in c.execute(sql.SQL("SELECT {} FROM dom360.{}").format(col, sql.Identifier(table)))}
            assert owners == {t.id}


@pytest.mark.parametrize("table", sorted(INSERTABLE))
def test_insert_with_another_tenants_id_is_refused(db: Database, tenants: tuple[Tenant, Tenant], table: str) -> None:
    a, b = tenants
    values = {
        "users": ("(tenant_id, email, name) VALUES (%s, 'eve@example.com', 'Eve')", [b.id]),
        "inboxes": ("(tenant_id, name, channel) VALUES (%s, 'x', 'web')", [b.id]),
        "agents": ("(tenant_id, agent_type, name) VALUES (%s, 'SDR', 'x')", [b.id]),
        "conversations": ("(tenant_id, inbox_id, external_id) VALUES (%s, %s, 'x')", [b.id, b.inbox]),
        "messages": ("(tenant_id, conversation_id, role, content) VALUES (%s, %s, 'user', 'x')", [b.id, b.conversation]),
        "message_requests": ("(tenant_id, request_id, conversation_id) VALUES (%s, 'r-x', %s)", [b.id, b.conversation]),
    }[table]
    with db.admin() as c:
        before = count(c, table)
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [a.id])
        # row-level security's WITH CHECK; for messages the trigger finds no such conversation first
        with pytest.raises((errors.InsufficientPrivilege, errors.ForeignKeyViolation)), c.transaction():
            c.execute(sql.SQL("INSERT INTO dom360.{} ").format(sql.Identifier(table)) + sql.SQL(values[0]), values[1])
    with db.admin() as c:
        assert count(c, table) == before


@pytest.mark.parametrize("table", sorted(UPDATABLE - {"account_vars"}))
def test_moving_a_row_to_another_tenant_is_refused(db: Database, tenants: tuple[Tenant, Tenant], table: str) -> None:
    a, b = tenants
    refused: tuple[type[Exception], ...] = (errors.InsufficientPrivilege, errors.ForeignKeyViolation)
    if db.server.backend == "citus":  # Citus refuses any change of the distribution column itself, before RLS
        refused += (errors.FeatureNotSupported,)  # "modifying the partition value of rows is not allowed"
    with db.admin() as c:
        before = c.execute(sql.SQL("SELECT count(*) FROM dom360.{} WHERE tenant_id = %s").format(sql.Identifier(table)),
                           [a.id]).fetchone()
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [a.id])
        with pytest.raises(refused), c.transaction():
            c.execute(sql.SQL("UPDATE dom360.{} SET tenant_id = %s").format(sql.Identifier(table)), [b.id])
    with db.admin() as c:  # nothing moved
        assert c.execute(sql.SQL("SELECT count(*) FROM dom360.{} WHERE tenant_id = %s").format(sql.Identifier(table)),
                         [a.id]).fetchone() == before != (0,)


@pytest.mark.parametrize("table", sorted(UPDATABLE))
def test_another_tenants_rows_cannot_be_updated_or_deleted(db: Database, tenants: tuple[Tenant, Tenant], table: str) -> None:
    a, b = tenants
    with db.admin() as c:
        before = c.execute(sql.SQL("SELECT to_jsonb(t) FROM dom360.{} t WHERE tenant_id = %s ORDER BY 1::text")
                           .format(sql.Identifier(table)), [b.id]).fetchall()
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [a.id])
        cur = c.execute(sql.SQL("UPDATE dom360.{} SET tenant_id = tenant_id WHERE tenant_id = %s")
                        .format(sql.Identifier(table)), [b.id])
        assert cur.rowcount == 0
        if table in DELETABLE:
            assert c.execute(sql.SQL("DELETE FROM dom360.{} WHERE tenant_id = %s").format(sql.Identifier(table)),
                             [b.id]).rowcount == 0
    with db.app() as c, c.transaction():  # the functions in a transaction of their own (docs/citus.md: on Citus a
        c.execute("SELECT dom360.set_tenant(%s)", [a.id])  # SECURITY DEFINER function after the app's writes fails)
        if table in DELETE_FUNCTIONS:
            for row in before:
                assert c.execute(sql.SQL("SELECT * FROM dom360.{}(%s)").format(
                    sql.Identifier(DELETE_FUNCTIONS[table])), [row[0]["id"]]).fetchall() == []
    with db.admin() as c:
        after = c.execute(sql.SQL("SELECT to_jsonb(t) FROM dom360.{} t WHERE tenant_id = %s ORDER BY 1::text")
                          .format(sql.Identifier(table)), [b.id]).fetchall()
    assert after == before and before


def test_child_row_cannot_point_at_another_tenants_parent(db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [a.id])
        with pytest.raises(errors.ForeignKeyViolation), c.transaction():
            c.execute("INSERT INTO dom360.conversations (inbox_id, external_id) VALUES (%s, 'x')", [b.inbox])
        with pytest.raises(errors.ForeignKeyViolation), c.transaction():
            c.execute("UPDATE dom360.conversations SET inbox_id = %s WHERE id = %s", [b.inbox, a.conversation])


def test_upsert_onto_another_tenants_key_is_refused(db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [a.id])
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"), c.transaction():
            c.execute("INSERT INTO dom360.users (tenant_id, id, email, name) VALUES (%s, %s, 'ana@example.com', 'Eve') "
                      "ON CONFLICT (tenant_id, id) DO UPDATE SET name = excluded.name", [b.id, b.user])
        # Without the tenant id, the same key is simply another row of tenant A's own.
        c.execute("INSERT INTO dom360.inboxes (id, name, channel) VALUES (%s, 'mine', 'web') "
                  "ON CONFLICT (tenant_id, id) DO UPDATE SET name = 'hijacked'", [b.inbox])
    with db.admin() as c:
        assert scalar(c, "SELECT name FROM dom360.users WHERE tenant_id = %s", [b.id]) == "Ana"
        name = scalar(c, "SELECT name FROM dom360.inboxes WHERE tenant_id = %s AND id = %s", [b.id, b.inbox])
        assert name == "web"
        assert scalar(c, "SELECT tenant_id FROM dom360.inboxes WHERE name = 'mine'") == a.id


def test_unique_keys_are_per_tenant_and_case_insensitive(db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants  # both already have ana@example.com
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [a.id])
        with pytest.raises(errors.UniqueViolation), c.transaction():
            c.execute("INSERT INTO dom360.users (email, name) VALUES ('ANA@Example.com', 'Ana again')")


def test_app_cannot_call_admin_functions_nor_write_audit_or_tenants(db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    a, _ = tenants
    with db.app() as c:
        with pytest.raises(errors.InsufficientPrivilege), c.transaction():
            c.execute("SELECT dom360.create_tenant('Evil', 'evil')")
        with c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [a.id])
            for stmt in ("UPDATE dom360.audit_log SET operation = 'DELETE'", "DELETE FROM dom360.audit_log",
                         "UPDATE dom360.tenants SET status = 'active'", "DELETE FROM dom360.tenants",
                         "DELETE FROM dom360.account_vars", "TRUNCATE dom360.users"):
                with pytest.raises(errors.InsufficientPrivilege), c.transaction():
                    c.execute(stmt)
        with pytest.raises(errors.InsufficientPrivilege), c.transaction():
            c.execute("CREATE TABLE public.sneaky (x int)")
        with pytest.raises(errors.InsufficientPrivilege), c.transaction():
            c.execute("CREATE TABLE dom360.sneaky (x int)")


def test_analytics_reads_every_tenant_and_writes_nothing(db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    with db.analytics() as c:
        for table in sorted(APP_TABLES):
            col = sql.Identifier(key_column(table))
            owners = {r[0] for r in c.execute(sql.SQL("SELECT {} FROM dom360.{}").format(col, sql.Identifier(table)))}
            assert owners == {a.id, b.id}, table
        c.rollback()
        with pytest.raises(errors.InsufficientPrivilege), c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [a.id])
            c.execute("INSERT INTO dom360.inboxes (name, channel) VALUES ('x', 'web')")


# --- functions called with another tenant's ids ----------------------------------------------------------

def _counters(db: Database) -> list[tuple[object, ...]]:
    with db.admin() as c:
        return c.execute(
            "SELECT tenant_id, message_count FROM dom360.conversations UNION ALL "
            "SELECT tenant_id, sum(messages_count) FROM dom360.consumption_inbox_daily_stripes GROUP BY 1 "
            "UNION ALL SELECT tenant_id, count(*) FROM dom360.messages GROUP BY 1 ORDER BY 1, 2").fetchall()


def test_functions_refuse_another_tenants_ids(db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    a, b = tenants
    before = _counters(db)
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [a.id])
        with pytest.raises(errors.ForeignKeyViolation, match="inbox .* not found"), c.transaction():
            c.execute("SELECT dom360.get_or_create_conversation(%s, 'cust-1')", [b.inbox])
        with pytest.raises(errors.ForeignKeyViolation, match="conversation .* not found"), c.transaction():
            c.execute("SELECT * FROM dom360.append_message(%s, 'user', 'x', 1, 1)", [b.conversation])
        with pytest.raises(errors.ForeignKeyViolation), c.transaction():  # with a request id: no claim left behind
            c.execute("SELECT * FROM dom360.append_message(%s, 'user', 'x', 1, 1, NULL, NULL, 'req-2')",
                      [b.conversation])
        # request ids are per tenant: 'req-1' (used by both) replays tenant a's own first message
        replay = c.execute("SELECT message_index FROM dom360.append_message(%s, 'user', 'x', 9, 9, NULL, NULL, 'req-1')",
                           [a.conversation]).fetchall()
        assert replay == [(1,)]
        assert c.execute("SELECT * FROM dom360.recent_messages(%s)", [b.conversation]).fetchall() == []
        assert {r[0] for r in c.execute("SELECT tenant_id FROM dom360.get_tenant_config()")} == {a.id}
        assert {r[0] for r in c.execute("SELECT inbox_id FROM dom360.tenant_usage()")} == {a.inbox}
        assert {r[0] for r in c.execute("SELECT inbox_id FROM dom360.consumption_inbox_daily")} == {a.inbox}
    with db.app() as c, c.transaction():  # the SECURITY DEFINER functions in a transaction of their own (docs/citus.md:
        c.execute("SELECT dom360.set_tenant(%s)", [a.id])  # on Citus not after the app's writes above)
        with pytest.raises(errors.ForeignKeyViolation, match="conversation .* not found"), c.transaction():
            c.execute("SELECT dom360.set_conversation_stage(%s, 'won')", [b.conversation])
        for fn in ("tenant_usage_daily", "tenant_cost_daily"):
            rows = c.execute(sql.SQL("SELECT inbox_id FROM dom360.{}()").format(sql.Identifier(fn))).fetchall()
            assert {r[0] for r in rows} == {a.inbox}, fn
        funnel = c.execute("SELECT stage, conversations FROM dom360.tenant_lead_funnel() WHERE stage_order <= 1").fetchall()
        assert funnel == [("new", 1), ("qualified", 1)]
    with db.admin() as c:
        assert scalar(c, "SELECT count(*) FROM dom360.conversation_stages WHERE stage = 'won'") == 0
    assert _counters(db) == before


def test_functions_without_a_tenant_refuse(db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    a, _ = tenants
    with db.admin() as c:
        c.execute("REFRESH MATERIALIZED VIEW dom360.mv_tenant_consumption_summary")
    with db.app() as c:
        for stmt, args in (("SELECT dom360.get_or_create_conversation(%s, 'x')", [a.inbox]),
                           ("SELECT * FROM dom360.append_message(%s, 'user', 'x')", [a.conversation]),
                           ("SELECT * FROM dom360.recent_messages(%s)", [a.conversation]),
                           ("SELECT * FROM dom360.get_tenant_config()", []),
                           ("SELECT * FROM dom360.tenant_usage()", []),
                           ("SELECT * FROM dom360.tenant_consumption_summary()", [])):
            with pytest.raises(errors.InsufficientPrivilege, match="no tenant set"), c.transaction():
                c.execute(stmt, args)
        with c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [a.id])
            assert len(c.execute("SELECT * FROM dom360.tenant_consumption_summary()").fetchall()) == 1
        with pytest.raises(errors.InsufficientPrivilege), c.transaction():
            c.execute("SELECT * FROM dom360.mv_tenant_consumption_summary")


def test_partitions_are_no_side_door(db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    a, _ = tenants
    with db.admin() as c:
        parts = [r[0] for r in c.execute(
            "SELECT inhrelid::regclass::text FROM pg_inherits WHERE inhparent = 'dom360.messages'::regclass")]
    assert len(parts) >= 2
    with db.app() as c:
        for part in parts:
            with pytest.raises(errors.InsufficientPrivilege), c.transaction():
                c.execute("SELECT dom360.set_tenant(%s)", [a.id])
                c.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*part.split("."))))
