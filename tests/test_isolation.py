"""Tenant isolation as the app role sees it: fail closed, no cross-tenant read or write, per-tenant keys."""

from __future__ import annotations

import uuid

import psycopg
import pytest
from psycopg import errors, sql

from support import Database, Tenant, seed

#: Every table of schema dom360 and what the app role may do there (checked against the catalog).
APP_WRITABLE = {"users", "inboxes", "agents", "conversations"}
APP_TABLES = {"tenants", "users", "account_vars", "inboxes", "agents", "conversations", "audit_log"}


@pytest.fixture
def tenants(db: Database) -> tuple[Tenant, Tenant]:
    return seed(db, "acme"), seed(db, "beta")


def count(conn: psycopg.Connection, table: str) -> int:
    return conn.execute(sql.SQL("SELECT count(*) FROM dom360.{}").format(sql.Identifier(table))).fetchone()[0]  # type: ignore[index]


def key_column(table: str) -> str:
    return "id" if table == "tenants" else "tenant_id"


def test_table_list_matches_the_catalog(db: Database) -> None:
    with db.admin() as c:
        tables = {r[0] for r in c.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'dom360'::regnamespace AND relkind IN ('r','p') "
            "AND NOT relispartition")}
        writable = {r[0] for r in c.execute(
            "SELECT relname FROM pg_class WHERE relnamespace = 'dom360'::regnamespace AND relkind IN ('r','p') "
            "AND NOT relispartition AND has_table_privilege('dom360_app', oid, 'INSERT')")}
    assert tables == APP_TABLES, "a new table needs isolation tests here"
    assert writable == APP_WRITABLE


# --- fail closed -------------------------------------------------------------------------------------

@pytest.mark.parametrize("table", sorted(APP_TABLES))
@pytest.mark.parametrize("setting", [None, ""], ids=["unset", "empty"])
def test_no_tenant_sees_no_row(db: Database, tenants: tuple[Tenant, Tenant], table: str, setting: str | None) -> None:
    with db.admin() as c:
        assert count(c, table) >= 2  # there is something to hide
    with db.app() as c, c.transaction():
        if setting is not None:
            c.execute("SELECT set_config('app.tenant_id', %s, true)", [setting])
        assert c.execute("SELECT dom360.current_tenant_id()").fetchone()[0] is None
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
    with db.app() as c:
        # an explicit tenant id is refused by WITH CHECK (or by the missing privilege)
        if table in APP_WRITABLE:
            with pytest.raises((errors.InsufficientPrivilege, errors.NotNullViolation, errors.CheckViolation)):
                with c.transaction():
                    c.execute(sql.SQL("INSERT INTO dom360.{} ({}) VALUES (%s)").format(sql.Identifier(table), col), [a.id])
            # the tenant_id default is NULL without a tenant: refused by NOT NULL or by the policy
            with pytest.raises((errors.NotNullViolation, errors.InsufficientPrivilege)), c.transaction():
                c.execute(sql.SQL("INSERT INTO dom360.{} DEFAULT VALUES").format(sql.Identifier(table)))
        else:
            with pytest.raises(errors.InsufficientPrivilege), c.transaction():
                c.execute(sql.SQL("INSERT INTO dom360.{} DEFAULT VALUES").format(sql.Identifier(table)))
        with c.transaction():
            if table in APP_WRITABLE or table == "account_vars":
                cur = c.execute(sql.SQL("UPDATE dom360.{} SET {} = {}").format(sql.Identifier(table), col, col))
                assert cur.rowcount == 0
            if table in APP_WRITABLE:
                assert c.execute(sql.SQL("DELETE FROM dom360.{}").format(sql.Identifier(table))).rowcount == 0
    with db.admin() as c:
        assert count(c, table) >= 2


def test_setting_ends_with_the_transaction(db: Database, tenants: tuple[Tenant, Tenant]) -> None:
    a, _ = tenants
    with db.app() as c:
        with c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [a.id])
            assert count(c, "inboxes") == 1
        assert c.execute("SELECT dom360.current_tenant_id()").fetchone()[0] is None
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


@pytest.mark.parametrize("table", sorted(APP_WRITABLE))
def test_insert_with_another_tenants_id_is_refused(db: Database, tenants: tuple[Tenant, Tenant], table: str) -> None:
    a, b = tenants
    values = {
        "users": ("(tenant_id, email, name) VALUES (%s, 'eve@example.com', 'Eve')", [b.id]),
        "inboxes": ("(tenant_id, name, channel) VALUES (%s, 'x', 'web')", [b.id]),
        "agents": ("(tenant_id, agent_type, name) VALUES (%s, 'SDR', 'x')", [b.id]),
        "conversations": ("(tenant_id, inbox_id, external_id) VALUES (%s, %s, 'x')", [b.id, b.inbox]),
    }[table]
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [a.id])
        with pytest.raises(errors.InsufficientPrivilege, match="row-level security"), c.transaction():
            c.execute(sql.SQL("INSERT INTO dom360.{} ").format(sql.Identifier(table)) + sql.SQL(values[0]), values[1])


@pytest.mark.parametrize("table", sorted(APP_WRITABLE))
def test_moving_a_row_to_another_tenant_is_refused(db: Database, tenants: tuple[Tenant, Tenant], table: str) -> None:
    a, b = tenants
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [a.id])
        with pytest.raises((errors.InsufficientPrivilege, errors.ForeignKeyViolation)), c.transaction():
            c.execute(sql.SQL("UPDATE dom360.{} SET tenant_id = %s").format(sql.Identifier(table)), [b.id])


@pytest.mark.parametrize("table", sorted(APP_WRITABLE | {"account_vars"}))
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
        if table in APP_WRITABLE:
            assert c.execute(sql.SQL("DELETE FROM dom360.{} WHERE tenant_id = %s").format(sql.Identifier(table)),
                             [b.id]).rowcount == 0
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
        assert c.execute("SELECT name FROM dom360.users WHERE tenant_id = %s", [b.id]).fetchone()[0] == "Ana"
        assert c.execute("SELECT name FROM dom360.inboxes WHERE tenant_id = %s AND id = %s", [b.id, b.inbox]).fetchone()[0] == "web"
        assert c.execute("SELECT tenant_id FROM dom360.inboxes WHERE name = 'mine'").fetchone()[0] == a.id


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
