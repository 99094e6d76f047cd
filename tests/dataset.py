"""A small but complete dom360 dataset written through the public SQL API, and what it must look like.

Used by the backup/restore and upgrade tests: `fill` writes tenants, inboxes, conversations, messages with
request ids, secrets, prices and stages (only functions and statements the docs document, so it runs
against the baseline release's schema too); `observe` reads everything back as a superuser into plain
Python values, so "the data survived" is `observe(before) == observe(after)`; `check_alive` then writes
through the API again and checks numbering, idempotency, counters, the summary and the secrets.
"""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
from psycopg import sql

from support import scalar

KEY = "dom360-dataset-key-0123456789abcdef0123456789"  # ≥ 32 characters, as docs/secrets-and-audit.md asks
APP_ROLE = "dom360_app"


def _tenant(c: psycopg.Connection, tid: uuid.UUID, *, role: str | None = None) -> None:
    if role:
        c.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
    c.execute("SELECT dom360.set_tenant(%s)", [tid])


def fill(dsn: str, *, tenants: int = 2, conversations: int = 3, messages: int = 4, bulk: int = 0) -> list[uuid.UUID]:
    """Write the dataset; `bulk` more messages per tenant (plain INSERTs, numbered by the trigger) make a
    dump that takes a while to restore. Returns the tenant ids."""
    ids: list[uuid.UUID] = []
    with psycopg.connect(dsn) as c:
        for t in range(tenants):
            with c.transaction():
                tid = scalar(c, "SELECT dom360.create_tenant(%s, %s)", [f"Tenant {t}", f"tenant-{t}"])
            ids.append(tid)
            with c.transaction():  # operators write prices (the owner or a superuser, tenant set)
                _tenant(c, tid)
                c.execute("INSERT INTO dom360.token_prices (tenant_id, agent_type, valid_from, input_price_per_1k, "
                          "output_price_per_1k) VALUES (%s, 'SDR', '2020-01-01', 0.5, 1.5)", [tid])
            with c.transaction():
                _tenant(c, tid, role=APP_ROLE)
                c.execute("SELECT set_config('app.encryption_key', %s, true)", [KEY])
                c.execute("SELECT dom360.set_account_secret('agents_api_token', %s)", [f"token-of-tenant-{t}"])
                inbox = scalar(c, "INSERT INTO dom360.inboxes (name, channel) VALUES ('Site chat', 'web') "
                                  "RETURNING id")  # type: ignore[index]
                for k in range(conversations):
                    conv = scalar(c, "SELECT dom360.get_or_create_conversation(%s, %s, 'SDR')",
                                     [inbox, f"customer-{k}"])  # type: ignore[index]
                    for m in range(messages):
                        c.execute("SELECT * FROM dom360.append_message(%s, %s, %s, %s, %s, NULL, NULL, %s)",
                                  [conv, "user" if m % 2 == 0 else "assistant", f"t{t} c{k} m{m} olá",
                                   10 + m, 20 * (m % 2), f"req-{t}-{k}-{m}"])
                    if k == 0:
                        c.execute("SELECT dom360.set_conversation_stage(%s, 'qualified')", [conv])
                for b in range(0, bulk, 500):  # 500 per conversation: one counter row updated 500 times, not `bulk`
                    conv = scalar(c, "SELECT dom360.get_or_create_conversation(%s, %s)", [inbox, f"bulk-{b}"])
                    c.execute("INSERT INTO dom360.messages (conversation_id, role, content, input_tokens, output_tokens) "
                              "SELECT %s, 'user', repeat(md5(g::text), 30), 1, 0 FROM generate_series(1, %s) g",
                              [conv, min(500, bulk - b)])
    return ids


def observe(dsn: str) -> dict[str, Any]:
    """Everything the dataset wrote, as sorted plain values (read as a superuser: every tenant)."""
    q = {
        "tenants": "SELECT id, slug, name, status FROM dom360.tenants ORDER BY id",
        "inboxes": "SELECT tenant_id, id, name, channel FROM dom360.inboxes ORDER BY 1, 2",
        "conversations": "SELECT tenant_id, id, inbox_id, external_id, agent_type, message_count, status "
                         "FROM dom360.conversations ORDER BY 1, 2",
        "messages": "SELECT tenant_id, conversation_id, message_index, role, content, input_tokens, output_tokens, "
                    "created_at FROM dom360.messages ORDER BY 1, 2, 3",
        "requests": "SELECT tenant_id, request_id, conversation_id FROM dom360.message_requests ORDER BY 1, 2",
        "counters": "SELECT tenant_id, inbox_id, day, sum(messages_count)::bigint, sum(input_tokens)::bigint, "
                    "sum(output_tokens)::bigint FROM dom360.consumption_inbox_daily_stripes GROUP BY 1, 2, 3 ORDER BY 1, 2, 3",
        "prices": "SELECT tenant_id, agent_type, valid_from, input_price_per_1k, output_price_per_1k "
                  "FROM dom360.token_prices ORDER BY 1, 2, 3",
        "stages": "SELECT tenant_id, conversation_id, stage, reached_at FROM dom360.conversation_stages ORDER BY 1, 2, 3",
        "secrets": "SELECT tenant_id, dom360.decrypt_sensitive_field(agents_api_token_enc, %(key)s) "
                   "FROM dom360.account_vars ORDER BY 1",
        "audit": "SELECT count(*) FROM dom360.audit_log",
    }
    with psycopg.connect(dsn) as c:
        return {name: c.execute(text, {"key": KEY} if "%(key)s" in text else None).fetchall() for name, text in q.items()}


def check_alive(dsn: str, tenants: list[uuid.UUID]) -> None:
    """Write and read through the API after a restore or an upgrade: numbering continues, a retried request
    id is still idempotent, counters follow the messages, the summary refreshes and the secrets decrypt."""
    with psycopg.connect(dsn) as c:
        for n, tid in enumerate(tenants):
            with c.transaction():
                _tenant(c, tid, role=APP_ROLE)
                c.execute("SELECT set_config('app.encryption_key', %s, true)", [KEY])
                conv, count = c.execute("SELECT id, message_count FROM dom360.conversations "
                                        "WHERE external_id = 'customer-0'").fetchone()  # type: ignore[misc]
                first = scalar(c, "SELECT message_index FROM dom360.append_message(%s, 'user', 'retry', 0, 0, NULL, NULL, %s)",
                                  [conv, f"req-{n}-0-0"])  # type: ignore[index]
                assert first == 1, "a retried request id must return the first call's message"
                new = scalar(c, "SELECT message_index FROM dom360.append_message(%s, 'user', 'after', 3, 4)",
                                [conv])  # type: ignore[index]
                assert new == count + 1, f"numbering must continue: got {new} after {count}"
                token = scalar(c, "SELECT agents_api_token FROM dom360.get_tenant_config()")
                assert token == f"token-of-tenant-{n}"
                usage = c.execute("SELECT sum(messages_count), sum(input_tokens) FROM dom360.tenant_usage()").fetchone()
                exact = c.execute("SELECT count(*), sum(input_tokens) FROM dom360.messages").fetchone()
                assert tuple(usage) == tuple(exact), "the counters must equal the sums over the messages"  # type: ignore[arg-type]
        c.commit()
        c.execute("REFRESH MATERIALIZED VIEW CONCURRENTLY dom360.mv_tenant_consumption_summary")
        c.commit()
        for tid in tenants:
            with c.transaction():
                _tenant(c, tid, role=APP_ROLE)
                summary = scalar(c, "SELECT sum(messages_count) FROM dom360.tenant_consumption_summary()")
                exact = scalar(c, "SELECT count(*) FROM dom360.messages")
                assert summary == exact, "the summary must have every message after a refresh"
