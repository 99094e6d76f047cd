"""`dom360db backfill response-times`: fills the response turns of data stored before schema/0100.

schema/0100 has the messages trigger keep each answer's turn start (messages.turn_asked_at) and each
conversation's open turn (conversations.turn_asked_at), so that a month's response times read only that
month (docs/performance.md). Conversations that existed before are marked `response_turns_ready IS NULL`;
`dom360.backfill_response_turns(tenant, batch)` fills at most `batch` of them in one short transaction and
marks them. This module visits every tenant and calls it until it returns 0: an interruption (even kill -9)
leaves the finished conversations marked, and running the command again does the rest.

It also builds, CONCURRENTLY and one partition at a time, the partial index of the answers (schema/0102) on the
partitions that held rows when 0102 was applied, and attaches each to the partitioned index.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

import psycopg
from psycopg import sql

from dom360db.connect import scalar, set_tenant_id
from dom360db.queries import composed, query


def q(name: str) -> str:
    return query(f"backfill.{name}")


@dataclass
class Backfilled:
    tenants: int = 0
    conversations: int = 0
    batches: int = 0
    indexes: int = 0

    @property
    def summary(self) -> str:
        indexed = f"; answers index built on {self.indexes} partition(s)" if self.indexes else ""
        if not self.conversations:
            return f"response turns: nothing to fill ({self.tenants} tenant(s) checked){indexed}"
        return (f"response turns filled for {self.conversations:,} conversation(s) of {self.tenants} tenant(s) "
                f"in {self.batches} batch(es){indexed}")


def pending(conn: psycopg.Connection, tenant_id: uuid.UUID) -> int:
    with conn.transaction():
        set_tenant_id(conn, tenant_id)
        return int(scalar(conn, q("response_turns_pending"), {"tenant_id": tenant_id}))


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
                done = int(scalar(conn, q("response_turns_step"), {"tenant_id": tenant_id, "batch_size": batch_size}))
            if not done:
                break
            out.conversations += done
            out.batches += 1
            advance(done)
    out.indexes = answers_index(conn)
    return out


def answers_index(conn: psycopg.Connection) -> int:
    """Index and attach the partitions that lack the answers index; each CONCURRENTLY (autocommit)."""
    done = 0
    for schema, table, name, invalid in conn.execute(q("partitions_without_answers_index")).fetchall():
        index = sql.Identifier(schema, name)
        if invalid:  # an earlier run was interrupted while building it
            conn.execute(composed("backfill.drop_invalid_index", index=index))
        conn.execute(composed("backfill.create_answers_index", index_name=sql.Identifier(name),
                              partition=sql.Identifier(schema, table)))
        conn.execute(composed("backfill.attach_answers_index", index=index))
        done += 1
    return done
