"""The audit log: one row for every INSERT, UPDATE and DELETE on the audited tables (actor, tenant, key,
changed columns, secrets redacted); append-only (no UPDATE for anyone, DELETE only as the owner, for
retention); each tenant reads its own rows, the analytics role reads all."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import errors
from psycopg.rows import dict_row

from support import APP_LOGIN, Database, Tenant, owner_login, scalar, seed

KEY = "audit-" + secrets.token_urlsafe(32)
APP_USER = "user-7"
PRIMARY_KEYS = {"tenants": ("id",), "users": ("tenant_id", "id"), "account_vars": ("tenant_id",),
                "agents": ("tenant_id", "id"), "inboxes": ("tenant_id", "id")}
OPERATIONS = ("INSERT", "UPDATE", "DELETE")


@dataclass(frozen=True)
class Case:
    """One audited operation: `act` returns the row image (RETURNING to_jsonb(t)); `before` the old image of
    an UPDATE; `prep` runs first, as the superuser (its own audit rows are not this case's)."""

    who: str  # "app" (tenant set, app.user_id set) or "admin" (superuser, no tenant set)
    act: str
    before: str | None = None
    prep: str | None = None


CASES: dict[tuple[str, str], Case] = {
    ("tenants", "INSERT"): Case("admin", "INSERT INTO dom360.tenants AS t (id, name, slug) "
                                         "VALUES (%(fresh)s, 'Zeta', 'zeta') RETURNING to_jsonb(t)"),
    ("tenants", "UPDATE"): Case("admin", "UPDATE dom360.tenants AS t SET status = 'suspended' WHERE id = %(tenant)s "
                                         "RETURNING to_jsonb(t)",
                                before="SELECT to_jsonb(t) FROM dom360.tenants t WHERE id = %(tenant)s"),
    ("tenants", "DELETE"): Case("admin", "DELETE FROM dom360.tenants AS t WHERE id = %(fresh)s RETURNING to_jsonb(t)",
                                prep="INSERT INTO dom360.tenants (id, name, slug) VALUES (%(fresh)s, 'Gone', 'gone')"),
    ("account_vars", "INSERT"): Case("admin", "INSERT INTO dom360.account_vars AS t (tenant_id) VALUES (%(fresh)s) "
                                              "RETURNING to_jsonb(t)",
        prep="INSERT INTO dom360.tenants (id, name, slug) VALUES (%(fresh)s, 'New', 'new')"),
    ("account_vars", "UPDATE"): Case("app", "UPDATE dom360.account_vars AS t SET rag_top_k = 9, rag_enabled = false "
                                            "RETURNING to_jsonb(t)",
        before="SELECT to_jsonb(t) FROM dom360.account_vars t WHERE tenant_id = %(tenant)s"),
    ("account_vars", "DELETE"): Case("admin", "DELETE FROM dom360.account_vars AS t WHERE tenant_id = %(tenant)s "
                                              "RETURNING to_jsonb(t)"),
    ("users", "INSERT"): Case("app", "INSERT INTO dom360.users AS t (email, name) VALUES ('bo@example.com', 'Bo') "
                                     "RETURNING to_jsonb(t)"),
    ("users", "UPDATE"): Case("app", "UPDATE dom360.users AS t SET name = 'Ana Maria', role = 'admin' "
                                     "WHERE id = %(user)s RETURNING to_jsonb(t)",
                              before="SELECT to_jsonb(t) FROM dom360.users t WHERE id = %(user)s"),
    ("users", "DELETE"): Case("app", "SELECT to_jsonb(t) FROM dom360.delete_user(%(user)s) AS t"),
    ("agents", "INSERT"): Case("app", "INSERT INTO dom360.agents AS t (agent_type, name, settings) "
                                      "VALUES ('COPILOT', 'Co', '{\"tone\": \"warm\"}') RETURNING to_jsonb(t)"),
    ("agents", "UPDATE"): Case("app", "UPDATE dom360.agents AS t SET settings = '{\"temperature\": 0.2}' "
                                      "WHERE id = %(agent)s RETURNING to_jsonb(t)",
                               before="SELECT to_jsonb(t) FROM dom360.agents t WHERE id = %(agent)s"),
    ("agents", "DELETE"): Case("app", "SELECT to_jsonb(t) FROM dom360.delete_agent(%(agent)s) AS t"),
    ("inboxes", "INSERT"): Case("app", "INSERT INTO dom360.inboxes AS t (name, channel) "
                                       "VALUES ('WhatsApp', 'whatsapp') RETURNING to_jsonb(t)"),
    ("inboxes", "UPDATE"): Case("app", "UPDATE dom360.inboxes AS t SET name = 'Site chat' WHERE id = %(inbox)s "
                                       "RETURNING to_jsonb(t)",
                                before="SELECT to_jsonb(t) FROM dom360.inboxes t WHERE id = %(inbox)s"),
    ("inboxes", "DELETE"): Case("app", "SELECT to_jsonb(t) FROM dom360.delete_inbox(%(inbox)s) AS t",
                                prep="DELETE FROM dom360.conversations WHERE id = %(conversation)s"),
}


@pytest.fixture
def pair(db: Database) -> tuple[Tenant, Tenant]:
    return seed(db, "acme"), seed(db, "beta")


@pytest.fixture
def owner_member(db: Database) -> Iterator[str]:
    """The DSN of a throwaway login that is a member of the owner role, not a superuser (an administrator)."""
    with owner_login(db, "dom360_test_admin") as dsn:
        yield dsn


def audit_mark(db: Database) -> tuple[int, datetime]:
    """The last audit row id, and the clock, as the superuser (who sees every tenant)."""
    with db.admin() as c:
        return c.execute("SELECT coalesce(max(id), 0), clock_timestamp() FROM dom360.audit_log").fetchone()  # type: ignore[return-value]


def audit_rows(db: Database, since: int = 0) -> list[dict[str, Any]]:
    with db.admin() as c, c.cursor(row_factory=dict_row) as cur:
        return cur.execute("SELECT * FROM dom360.audit_log WHERE id > %s ORDER BY id", [since]).fetchall()


def run_as(db: Database, who: str, tenant: uuid.UUID, stmt: str, params: dict[str, Any]) -> Any:
    """Run one statement as the app (its tenant set, app.user_id set) or the superuser (no tenant set)."""
    conn = db.app() if who == "app" else db.admin()
    with conn as c, c.transaction():
        if who == "app":
            c.execute("SELECT dom360.set_tenant(%s)", [tenant])
            c.execute("SELECT set_config('app.user_id', %s, true)", [APP_USER])
        row = c.execute(stmt, params).fetchone()
    return row[0] if row else None


def redacted(column: str, value: Any) -> Any:
    return "[redacted]" if column.endswith("_enc") and value is not None else value


def expected_changes(operation: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, Any]:
    if operation == "INSERT":
        assert new is not None
        return {c: {"new": redacted(c, v)} for c, v in new.items()}
    assert old is not None
    if operation == "DELETE":
        return {c: {"old": redacted(c, v)} for c, v in old.items()}
    assert new is not None
    return {c: {"old": redacted(c, old[c]), "new": redacted(c, new[c])} for c in new if old[c] != new[c]}


@pytest.mark.parametrize(("table", "operation"), list(CASES), ids=[f"{t}-{o}" for t, o in CASES])
def test_every_operation_on_every_audited_table_is_logged(db: Database, acme: Tenant, table: str,
                                                          operation: str) -> None:
    case = CASES[(table, operation)]
    params = {"tenant": acme.id, "user": acme.user, "agent": acme.agent, "inbox": acme.inbox,
              "conversation": acme.conversation, "fresh": uuid.uuid4()}
    if case.prep:
        run_as(db, "admin", acme.id, case.prep + " RETURNING 1", params)
    old = run_as(db, "admin", acme.id, case.before, params) if case.before else None
    since, t0 = audit_mark(db)
    image = run_as(db, case.who, acme.id, case.act, params)
    _, t1 = audit_mark(db)
    assert image is not None
    new = image if operation != "DELETE" else None
    old = image if operation == "DELETE" else old
    with db.admin() as c:
        superuser = scalar(c, "SELECT session_user")
    [row] = audit_rows(db, since)
    assert row["tenant_id"] == uuid.UUID(image["id" if table == "tenants" else "tenant_id"])
    assert (row["table_name"], row["operation"]) == (table, operation)
    assert row["row_key"] == {k: image[k] for k in PRIMARY_KEYS[table]}
    assert row["changes"] == expected_changes(operation, old, new)
    assert row["changes"], "an audited change with no changed column"
    assert (row["actor"], row["app_user_id"]) == ((APP_LOGIN, APP_USER) if case.who == "app" else (superuser, None))
    assert t0 <= row["occurred_at"] <= t1


def test_create_tenant_logs_the_tenant_and_its_account_vars(db: Database) -> None:
    since, _ = audit_mark(db)
    tenant = db.create_tenant("fresh")
    rows = audit_rows(db, since)
    assert [(r["table_name"], r["operation"], r["tenant_id"]) for r in rows] == [
        ("tenants", "INSERT", tenant), ("account_vars", "INSERT", tenant)]
    assert rows[0]["changes"]["slug"] == {"new": "fresh"}


def test_the_audit_history_outlives_a_deleted_tenant(db: Database) -> None:
    tenant = db.create_tenant("doomed")
    with db.admin() as c:
        c.execute("DELETE FROM dom360.account_vars WHERE tenant_id = %s", [tenant])
        c.execute("DELETE FROM dom360.tenants WHERE id = %s", [tenant])
    history = [(r["table_name"], r["operation"]) for r in audit_rows(db) if r["tenant_id"] == tenant]
    assert history == [("tenants", "INSERT"), ("account_vars", "INSERT"), ("account_vars", "DELETE"),
                       ("tenants", "DELETE")]


def test_a_rolled_back_change_leaves_no_audit_row(db: Database, acme: Tenant) -> None:
    since, _ = audit_mark(db)
    with db.app() as c, c.transaction(force_rollback=True):
        c.execute("SELECT dom360.set_tenant(%s)", [acme.id])
        c.execute("UPDATE dom360.users SET name = 'Temp'")
        assert scalar(c, "SELECT count(*) FROM dom360.audit_log WHERE id > %s", [since]) == 1
    assert audit_rows(db, since) == []


def test_an_update_that_changes_nothing_is_still_logged(db: Database, acme: Tenant) -> None:
    since, _ = audit_mark(db)
    run_as(db, "app", acme.id, "UPDATE dom360.inboxes SET name = name RETURNING 1", {})
    [row] = audit_rows(db, since)
    assert (row["operation"], row["changes"]) == ("UPDATE", {})


def test_the_actor_is_the_role_in_effect(db: Database, acme: Tenant, owner_member: str) -> None:
    since, _ = audit_mark(db)
    with db.admin() as c, c.transaction():
        c.execute("SELECT set_config('app.tenant_id', %s, true)", [str(acme.id)])
        c.execute("SET LOCAL ROLE dom360_owner")
        c.execute("UPDATE dom360.inboxes SET name = 'by the owner'")
    with psycopg.connect(owner_member) as c, c.transaction():
        login = scalar(c, "SELECT session_user")
        c.execute("SELECT set_config('app.tenant_id', %s, true)", [str(acme.id)])
        c.execute("UPDATE dom360.inboxes SET name = 'by an administrator'")
    with db.app() as c, c.transaction():  # through a function (SECURITY INVOKER) too
        c.execute("SELECT dom360.set_tenant(%s)", [acme.id])
        c.execute("SELECT dom360.set_account_secret('webhook_secret', 'wh', %s)", [KEY])
    assert [(r["table_name"], r["actor"]) for r in audit_rows(db, since)] == [
        ("inboxes", "dom360_owner"), ("inboxes", login), ("account_vars", APP_LOGIN)]


def test_the_transactions_tenant_is_restored_after_logging_another_tenants_change(
        db: Database, pair: tuple[Tenant, Tenant]) -> None:
    a, b = pair
    since, _ = audit_mark(db)
    with db.admin() as c, c.transaction():
        c.execute("SELECT set_config('app.tenant_id', %s, true)", [str(a.id)])
        c.execute("UPDATE dom360.users SET name = 'Bea' WHERE tenant_id = %s", [b.id])  # a superuser: no RLS
        assert scalar(c, "SELECT dom360.current_tenant_id()") == a.id
    with db.admin() as c, c.transaction():
        c.execute("UPDATE dom360.agents SET name = 'Sal' WHERE tenant_id = %s", [b.id])
        assert scalar(c, "SELECT dom360.current_tenant_id()") is None
    assert [(r["table_name"], r["tenant_id"]) for r in audit_rows(db, since)] == [("users", b.id), ("agents", b.id)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(plaintext=st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                         min_size=8, max_size=200))
def test_secrets_are_redacted(db: Database, plaintext: str) -> None:
    with db.admin() as c:
        found = c.execute("SELECT id FROM dom360.tenants WHERE slug = 'redact'").fetchone()
    tenant = found[0] if found else db.create_tenant("redact")
    since, _ = audit_mark(db)
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [tenant])
        c.execute("SELECT set_config('app.encryption_key', %s, true)", [KEY])
        c.execute("SELECT dom360.set_account_secret('agents_api_token', %s)", [plaintext])
        c.execute("SELECT dom360.set_account_secret('webhook_secret', %s)", [plaintext])
    with db.admin() as c:
        ciphertexts = c.execute("SELECT agents_api_token_enc, webhook_secret_enc FROM dom360.account_vars "
                                "WHERE tenant_id = %s", [tenant]).fetchone()
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [tenant])
        c.execute("SELECT dom360.set_account_secret('agents_api_token', NULL)")
    rows = audit_rows(db, since)
    assert [r["changes"]["agents_api_token_enc"] for r in rows if "agents_api_token_enc" in r["changes"]] == [
        {"old": None, "new": "[redacted]"}, {"old": "[redacted]", "new": None}]
    assert rows[1]["changes"]["webhook_secret_enc"]["new"] == "[redacted]"
    with db.admin() as c:
        everything = scalar(c, "SELECT string_agg(t::text, ' ') FROM dom360.audit_log t")
        values = [r[0] for r in c.execute(  # every value of the log (not the column names), JSON values included
            "SELECT v FROM dom360.audit_log t CROSS JOIN LATERAL jsonb_each_text(to_jsonb(t)) AS e(k, v) "
            "WHERE v IS NOT NULL AND k NOT IN ('changes', 'row_key') "
            "UNION ALL SELECT d.value #>> '{}' FROM dom360.audit_log t "
            "CROSS JOIN LATERAL jsonb_each(t.changes) AS ch(col, change) "
            "CROSS JOIN LATERAL jsonb_each(ch.change) AS d")]
    assert "[redacted]" in values
    assert not [v for v in values if v is not None and plaintext in v]
    for needle in (*ciphertexts, KEY):
        assert needle not in everything


# --- who may read and who may change the log ---------------------------------------------------------------

def test_the_app_reads_only_its_own_tenants_audit_rows(db: Database, pair: tuple[Tenant, Tenant]) -> None:
    a, b = pair
    with db.admin() as c:
        own = scalar(c, "SELECT count(*) FROM dom360.audit_log WHERE tenant_id = %s", [a.id])
        assert own > 1 and scalar(c, "SELECT count(*) FROM dom360.audit_log WHERE tenant_id = %s",
                                     [b.id]) > 1
    with db.app() as c:
        with c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [a.id])
            assert {r[0] for r in c.execute("SELECT tenant_id FROM dom360.audit_log")} == {a.id}
            assert scalar(c, "SELECT count(*) FROM dom360.audit_log") == own
            assert scalar(c, "SELECT count(*) FROM dom360.audit_log WHERE tenant_id = %s", [b.id]) == 0
        with c.transaction():
            assert scalar(c, "SELECT count(*) FROM dom360.audit_log") == 0


def test_the_analytics_role_reads_every_tenants_audit_rows_and_writes_none(
        db: Database, pair: tuple[Tenant, Tenant]) -> None:
    a, b = pair
    with db.analytics() as c:
        assert {r[0] for r in c.execute("SELECT DISTINCT tenant_id FROM dom360.audit_log")} == {a.id, b.id}
        c.rollback()
        for stmt in ("UPDATE dom360.audit_log SET actor = 'x'", "DELETE FROM dom360.audit_log",
                     "INSERT INTO dom360.audit_log (table_name, operation, row_key) VALUES ('users', 'INSERT', '{}')"):
            with pytest.raises(errors.InsufficientPrivilege), c.transaction():
                c.execute("SELECT dom360.set_tenant(%s)", [a.id])
                c.execute(stmt)


def snapshot(db: Database) -> list[tuple[Any, ...]]:
    with db.admin() as c:
        return c.execute("SELECT to_jsonb(t)::text FROM dom360.audit_log t ORDER BY tenant_id, id").fetchall()


def test_the_app_cannot_tamper_with_audit_rows(db: Database, pair: tuple[Tenant, Tenant]) -> None:
    a, b = pair
    before = snapshot(db)
    with db.app() as c:
        for stmt, args in (("UPDATE dom360.audit_log SET changes = '{}'", []),
                           ("DELETE FROM dom360.audit_log", []),
                           ("TRUNCATE dom360.audit_log", []),
                           ("INSERT INTO dom360.audit_log (table_name, operation, row_key) "
                            "VALUES ('users', 'DELETE', '{}')", []),
                           ("INSERT INTO dom360.audit_log (tenant_id, table_name, operation, row_key) "
                            "VALUES (%s, 'users', 'DELETE', '{}')", [b.id]),
                           ("SELECT dom360.purge_audit_log('1 day')", []),
                           ("SELECT * FROM dom360.tenant_ids()", []),
                           ("SELECT dom360.audit_row_change()", []),
                           ("ALTER TABLE dom360.audit_log DISABLE TRIGGER audit_log_append_only", [])):
            with pytest.raises((errors.InsufficientPrivilege, errors.FeatureNotSupported)), c.transaction():
                c.execute("SELECT dom360.set_tenant(%s)", [a.id])
                c.execute(stmt, args)
    assert snapshot(db) == before


def test_nobody_updates_and_only_the_owner_deletes(db: Database, acme: Tenant, owner_member: str) -> None:
    before = snapshot(db)
    with db.admin() as c:  # a superuser too: the trigger holds unless it is switched off
        for stmt in ("UPDATE dom360.audit_log SET actor = 'nobody'", "DELETE FROM dom360.audit_log",
                     "TRUNCATE dom360.audit_log"):
            with pytest.raises(errors.InsufficientPrivilege, match="append-only"), c.transaction():
                c.execute(stmt)
        with c.transaction(force_rollback=True):
            c.execute("SELECT set_config('app.tenant_id', %s, true)", [str(acme.id)])
            c.execute("SET LOCAL ROLE dom360_owner")
            with pytest.raises(errors.InsufficientPrivilege, match="UPDATE refused for role dom360_owner"), \
                    c.transaction():
                c.execute("UPDATE dom360.audit_log SET actor = 'nobody'")
            assert c.execute("DELETE FROM dom360.audit_log").rowcount >= 1  # retention is the owner's
    with psycopg.connect(owner_member) as c:  # a member of the owner role deletes only through purge_audit_log
        c.execute("SELECT set_config('app.tenant_id', %s, true)", [str(acme.id)])
        with pytest.raises(errors.InsufficientPrivilege, match="DELETE refused"):
            c.execute("DELETE FROM dom360.audit_log")
    assert snapshot(db) == before


def test_purge_deletes_old_rows_in_batches_as_an_administrator(db: Database, pair: tuple[Tenant, Tenant],
                                                               owner_member: str) -> None:
    a, b = pair
    with db.admin() as c:  # back-dated rows (a superuser may INSERT; the trigger guards UPDATE and DELETE)
        for tenant in (a.id, b.id):
            for i in range(5):
                c.execute("INSERT INTO dom360.audit_log (tenant_id, occurred_at, table_name, operation, row_key) "
                          "VALUES (%s, now() - make_interval(days => 400 + %s), 'users', 'UPDATE', '{}')", [tenant, i])
    recent = "SELECT to_jsonb(t)::text FROM dom360.audit_log t WHERE occurred_at > now() - interval '1 day' ORDER BY id"
    with db.admin() as c:
        kept = c.execute(recent).fetchall()
    assert len(kept) > 2
    with psycopg.connect(owner_member, autocommit=True) as c:
        for stmt in ("SELECT dom360.purge_audit_log('1 hour')", "SELECT dom360.purge_audit_log('30 days', 0)"):
            with pytest.raises(errors.InvalidParameterValue):
                c.execute(stmt)
        counts = [scalar(c, "SELECT dom360.purge_audit_log('365 days', 3)") for _ in range(5)]
        assert counts == [3, 3, 3, 1, 0]
        assert scalar(c, "SELECT dom360.current_tenant_id()") is None
    with db.admin() as c:
        assert scalar(c, "SELECT count(*) FROM dom360.audit_log WHERE occurred_at < now() - interval '365 days'"
                         ) == 0
        assert c.execute(recent).fetchall() == kept


def test_purge_reaches_a_deleted_tenant_by_its_id(db: Database, owner_member: str) -> None:
    tenant = db.create_tenant("gone")
    with db.admin() as c:
        c.execute("DELETE FROM dom360.account_vars WHERE tenant_id = %s", [tenant])
        c.execute("DELETE FROM dom360.tenants WHERE id = %s", [tenant])
        c.execute("INSERT INTO dom360.audit_log (tenant_id, occurred_at, table_name, operation, row_key) "
                  "VALUES (%s, now() - interval '2 years', 'users', 'DELETE', '{}')", [tenant])
    with psycopg.connect(owner_member, autocommit=True) as c:
        assert scalar(c, "SELECT dom360.purge_audit_log('365 days')") == 0  # not a tenant any more
        assert scalar(c, "SELECT dom360.purge_audit_log('365 days', 100, %s)", [tenant]) == 1
    assert [r["operation"] for r in audit_rows(db) if r["tenant_id"] == tenant] == [
        "INSERT", "INSERT", "DELETE", "DELETE"]
