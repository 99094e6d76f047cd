"""One error contract, fail-closed everywhere: with no tenant set, every function the app may execute raises
insufficient_privilege (42501) with the same message (dom360.require_tenant()), instead of some returning no
rows and others raising. The functions are enumerated from the catalog, so a new one cannot escape.
"""

from __future__ import annotations

import psycopg
import pytest
from psycopg import errors, sql

from support import Database

NO_TENANT = "dom360: no tenant set: call dom360.set_tenant() first in this transaction"

#: Functions the app may call without a tenant, and why. Everything else the app can EXECUTE must fail closed.
EXEMPT = {
    "set_tenant": "sets the tenant",
    "current_tenant_id": "answers whether one is set (NULL when not); row-level security and column defaults use it",
    "encrypt_sensitive_field": "a pure function of its arguments and app.encryption_key; reads no tenant row",
    "decrypt_sensitive_field": "a pure function of its arguments and app.encryption_key; reads no tenant row",
}

APP_FUNCTIONS = """
SELECT p.proname, p.pronargs
  FROM pg_catalog.pg_proc AS p
 WHERE p.pronamespace = 'dom360'::regnamespace
   AND p.prokind = 'f'
   AND p.prorettype <> 'pg_catalog.trigger'::regtype
   AND pg_catalog.has_function_privilege(%s, p.oid, 'EXECUTE')
 ORDER BY p.proname
"""


def app_functions(db: Database, role: str = "dom360_app") -> list[tuple[str, int]]:
    with db.admin() as c:
        return [(r[0], r[1]) for r in c.execute(APP_FUNCTIONS, [role])]


def call(c: psycopg.Connection, name: str, nargs: int) -> None:
    """`SELECT * FROM dom360.name(NULL, …)`: every argument NULL (the guard comes before any argument check)."""
    c.execute(sql.SQL("SELECT * FROM {}({})").format(sql.Identifier("dom360", name),
                                                     sql.SQL(", ").join([sql.Placeholder()] * nargs)), [None] * nargs)


def test_the_list_is_the_catalog(db: Database) -> None:
    names = {n for n, _ in app_functions(db)}
    assert set(EXEMPT) <= names, f"exempt but gone (update EXEMPT): {sorted(set(EXEMPT) - names)}"
    # the analytics functions, the chat path and the secrets are all there: the query cannot go vacuous
    assert {"append_message", "get_or_create_conversation", "recent_messages", "tenant_recent_messages",
            "get_tenant_config", "tenant_usage", "tenant_usage_daily", "tenant_cost_daily", "set_conversation_stage",
            "set_account_secret", "tenant_consumption_summary", "require_tenant"} <= names


@pytest.mark.parametrize("blank", [False, True], ids=["unset", "blank"])
def test_every_app_function_fails_closed_with_one_message(db: Database, blank: bool) -> None:
    funcs = [(n, k) for n, k in app_functions(db) if n not in EXEMPT]
    seen: dict[str, str] = {}
    with db.app() as c:
        for name, nargs in funcs:
            with pytest.raises(psycopg.Error) as info, c.transaction():
                if blank:  # what an ended transaction-scoped setting leaves on the connection
                    c.execute("SELECT set_config('app.tenant_id', '', true)")
                call(c, name, nargs)
            exc = info.value
            seen[name] = f"{exc.sqlstate}: {exc.diag.message_primary}"
    assert seen == dict.fromkeys(seen, f"42501: {NO_TENANT}"), {k: v for k, v in seen.items() if v != "42501: " + NO_TENANT}


#: The analytics role reads every tenant by design; the one function it owns lists them all (for the owner's
#: maintenance). Its other functions are the app's tenant functions and fail closed as for the app.
ANALYTICS_EXEMPT = {"tenant_ids": "owned by the analytics role: every tenant id, for the owner's maintenance",
                    "consumption_summary_rows": "the summary view's source (schema/0070): every tenant's rows, which the "
                                                "analytics role reads by design (its analytics_read policies)",
                    "lookup_tenants": "owned by the analytics role like tenant_ids: a tenant by slug or id, for the "
                                      "owner's lifecycle commands (docs/lifecycle.md)",
                    "response_turns_between": "the analytics role's response turns of a range (SECURITY INVOKER: its "
                                              "analytics_read policies, every tenant by design; the tenant is an "
                                              "argument, NULL for all; docs/performance.md)"}


def test_analytics_role_fails_closed_too(db: Database) -> None:
    funcs = [(n, k) for n, k in app_functions(db, "dom360_analytics") if n not in EXEMPT and n not in ANALYTICS_EXEMPT]
    assert any(n == "tenant_recent_messages" for n, _ in funcs)
    with db.analytics() as c:
        for name, nargs in funcs:
            with pytest.raises(errors.InsufficientPrivilege) as info, c.transaction():
                call(c, name, nargs)
                pytest.fail(f"dom360.{name} ran without a tenant")
            assert info.value.diag.message_primary == NO_TENANT, name


def test_a_malformed_tenant_is_not_no_tenant(db: Database) -> None:
    with db.app() as c, pytest.raises(errors.InvalidTextRepresentation), c.transaction():
        c.execute("SELECT set_config('app.tenant_id', 'not-a-uuid', true)")
        c.execute("SELECT * FROM dom360.tenant_usage()")


def test_require_tenant_is_inlined(db: Database) -> None:
    """The guard costs no function call on the chat path: PostgreSQL inlines require_tenant()."""
    with db.app() as c:
        plan = "\n".join(r[0] for r in c.execute("EXPLAIN (VERBOSE) SELECT dom360.require_tenant()"))
    assert "require_tenant" not in plan and "raise_no_tenant" in plan, plan
