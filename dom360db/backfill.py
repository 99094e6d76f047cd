"""`dom360db backfill response-times`: fills the response turns of data stored before schema/0100.

schema/0100 has the messages trigger keep each answer's turn start (messages.turn_asked_at) and each
conversation's open turn (conversations.turn_asked_at), so that a month's response times read only that
month (docs/performance.md). Conversations that existed before are marked `response_turns_ready IS NULL`;
`dom360.backfill_response_turns(tenant, batch)` fills at most `batch` of them in one short transaction and
marks them. This module visits every tenant and calls it until it returns 0: an interruption (even kill -9)
leaves the finished conversations marked, and running the command again does the rest.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import psycopg

from dom360db.queries import named_queries


def q(name: str) -> str:
    return named_queries("backfill.sql")[name]


@dataclass
class Backfilled:
    tenants: int = 0
    conversations: int = 0
    batches: int = 0

    @property
    def summary(self) -> str:
        if not self.conversations:
            return f"response turns: nothing to fill ({self.tenants} tenant(s) checked)"
        return (f"response turns filled for {self.conversations:,} conversation(s) of {self.tenants} tenant(s) "
                f"in {self.batches} batch(es)")


def pending(conn: psycopg.Connection, tenant_id: uuid.UUID) -> int:
    with conn.transaction():
        conn.execute(q("set_tenant"), {"tenant_id": tenant_id})
        return int(conn.execute(q("response_turns_pending"), {"tenant_id": tenant_id}).fetchone()[0])  # type: ignore[index]


def response_times(conn: psycopg.Connection, *, batch_size: int = 500, start: Callable[[int], None] = lambda n: None,
                   advance: Callable[[int], None] = lambda n: None) -> Backfilled:
    """Fill every tenant's pending conversations, `batch_size` per transaction. `conn` is in autocommit mode."""
    tenants = [r[0] for r in conn.execute(q("tenant_ids"))]
    todo = {t: pending(conn, t) for t in tenants}
    start(sum(todo.values()))
    out = Backfilled(tenants=len(tenants))
    for tenant_id, count in todo.items():
        if not count:
            continue
        while True:
            with conn.transaction():
                done = int(conn.execute(q("response_turns_step"),
                                        {"tenant_id": tenant_id, "batch_size": batch_size}).fetchone()[0])  # type: ignore[index]
            if not done:
                break
            out.conversations += done
            out.batches += 1
            advance(done)
    return out
