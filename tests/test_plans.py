"""Row-level security stays index-friendly: as the app role, the tenant condition of the policy is an
index condition (not a filter) in the main queries. Sequential scans are disabled for the EXPLAIN so the
tiny test tables do not hide the question: can the policy's qual drive an index?"""

from __future__ import annotations

import pytest
from psycopg import sql

from support import Database, Tenant, seed

MAIN_QUERIES = {
    "open conversations of an inbox": ("SELECT * FROM dom360.conversations WHERE inbox_id = %s AND status = 'open'",
                                       "inbox"),
    "a conversation by id": ("SELECT * FROM dom360.conversations WHERE id = %s", "conversation"),
    "a user by e-mail": ("SELECT * FROM dom360.users WHERE lower(email) = lower(%s)", "email"),
    "the tenant's inboxes": ("SELECT * FROM dom360.inboxes", None),
    "the tenant's config": ("SELECT * FROM dom360.account_vars", None),
    "messages of a conversation": ("SELECT * FROM dom360.messages WHERE conversation_id = %s "
                                   "ORDER BY message_index DESC LIMIT 20", "conversation"),
    "the tenant's last messages": ("SELECT * FROM dom360.messages ORDER BY created_at DESC LIMIT 10", None),
    "today's usage": ("SELECT * FROM dom360.consumption_inbox_daily WHERE day = current_date", None),
}


@pytest.fixture
def acme(db: Database) -> Tenant:
    t = seed(db, "acme")
    seed(db, "beta")
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [t.id])
        c.execute("SELECT * FROM dom360.append_message(%s, 'user', 'hi', 1, 1)", [t.conversation])
    return t


@pytest.mark.parametrize("name", list(MAIN_QUERIES))
def test_policy_is_an_index_condition(db: Database, acme: Tenant, name: str) -> None:
    stmt, arg = MAIN_QUERIES[name]
    args = {"inbox": [acme.inbox], "conversation": [acme.conversation], "email": ["ana@example.com"], None: []}[arg]
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [acme.id])
        c.execute("SET LOCAL enable_seqscan = off")
        plan = "\n".join(r[0] for r in c.execute(sql.SQL("EXPLAIN (COSTS OFF) {}").format(sql.SQL(stmt)), args))
    tenant_conds = [ln for ln in plan.splitlines() if "Index Cond:" in ln and "tenant_id = " in ln]
    assert tenant_conds, plan
    assert not any("Filter:" in ln and "current_setting" in ln for ln in plan.splitlines()), plan
