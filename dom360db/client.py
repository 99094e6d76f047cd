"""A thin typed client for backend teams: one method per stored function, on a psycopg_pool pool.

    db = Dom360("postgresql://api@db/dom360")
    with db.tenant(tenant_id) as t:                 # BEGIN; SELECT dom360.set_tenant(…)
        conv = t.get_or_create_conversation(inbox_id, "+55 11 90000-0001")
        t.append_message(conv, "user", "Olá", input_tokens=12, request_id=req_id)
    # COMMIT (ROLLBACK if the block raised)

The tenant is set per transaction (transaction-scoped setting), so a pooled connection never carries it
to the next user. Connect as a login role granted `dom360_app`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

import psycopg
from psycopg.rows import class_row
from psycopg.types.json import Jsonb
from psycopg_pool import ConnectionPool

from dom360db.queries import named_queries

Role = Literal["user", "assistant", "system", "tool"]
AgentType = Literal["SDR", "COPILOT"]


def _q(name: str) -> str:
    return named_queries("client.sql")[name]


@dataclass(frozen=True)
class StoredMessage:
    message_id: int
    message_index: int
    created_at: datetime


@dataclass(frozen=True)
class Message:
    message_id: int
    message_index: int
    role: str
    content: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    tool_calls: Any
    metadata: Any
    request_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class TenantConfig:
    tenant_id: uuid.UUID
    agents_endpoint_url: str
    agents_timeout_ms: int
    default_agent_type: str
    rag_enabled: bool
    rag_top_k: int
    updated_at: datetime
    agents_api_token: str | None  # decrypted when app.encryption_key is set in the transaction, else None
    webhook_secret: str | None
    secrets_present: list[str]  # names of the secrets the tenant has, with or without a key


@dataclass(frozen=True)
class Usage:
    inbox_id: uuid.UUID
    day: date
    messages_count: int
    input_tokens: int
    output_tokens: int
    total_tokens: int


class TenantTx:
    """One transaction of one tenant. Obtained from `Dom360.tenant()`; valid inside its `with` block."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self._conn = conn

    def get_or_create_conversation(self, inbox_id: uuid.UUID, external_id: str,
                                   agent_type: AgentType | None = None) -> uuid.UUID:
        row = self._conn.execute(_q("get_or_create_conversation"),
                                 {"inbox_id": inbox_id, "external_id": external_id, "agent_type": agent_type}).fetchone()
        return row[0]  # type: ignore[index]

    def append_message(self, conversation_id: uuid.UUID, role: Role, content: str, *, input_tokens: int = 0,
                       output_tokens: int = 0, tool_calls: Any = None, metadata: Any = None,
                       request_id: str | None = None) -> StoredMessage:
        with self._conn.cursor(row_factory=class_row(StoredMessage)) as cur:
            row = cur.execute(_q("append_message"), {
                "conversation_id": conversation_id, "role": role, "content": content,
                "input_tokens": input_tokens, "output_tokens": output_tokens,
                "tool_calls": None if tool_calls is None else Jsonb(tool_calls),
                "metadata": None if metadata is None else Jsonb(metadata),
                "request_id": request_id,
            }).fetchone()
        assert row is not None
        return row

    def recent_messages(self, conversation_id: uuid.UUID, limit: int = 20) -> list[Message]:
        with self._conn.cursor(row_factory=class_row(Message)) as cur:
            return cur.execute(_q("recent_messages"), {"conversation_id": conversation_id, "limit": limit}).fetchall()

    def tenant_config(self) -> TenantConfig:
        with self._conn.cursor(row_factory=class_row(TenantConfig)) as cur:
            row = cur.execute(_q("tenant_config")).fetchone()
        assert row is not None  # set_tenant guarantees the tenant exists; create_tenant made its row
        return row

    def usage(self, date_from: date | None = None, date_to: date | None = None) -> list[Usage]:
        with self._conn.cursor(row_factory=class_row(Usage)) as cur:
            return cur.execute(_q("usage"), {"date_from": date_from, "date_to": date_to}).fetchall()


class Dom360:
    """A pool of connections to a dom360 database (as a login granted `dom360_app`)."""

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10, **pool_kwargs: Any) -> None:
        self.pool = ConnectionPool(dsn, min_size=min_size, max_size=max_size, open=True,
                                   kwargs={"autocommit": True}, **pool_kwargs)

    @contextmanager
    def tenant(self, tenant_id: uuid.UUID, *, encryption_key: str | None = None) -> Iterator[TenantTx]:
        """A transaction with `tenant_id` set: committed at the end of the block, rolled back on error.

        With `encryption_key`, the transaction-scoped `app.encryption_key` is set too (as a bind parameter,
        never in the statement text), so `tenant_config()` returns the tenant's secrets decrypted.
        """
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(_q("set_tenant"), {"tenant_id": tenant_id})
            if encryption_key is not None:
                conn.execute(_q("set_encryption_key"), {"key": encryption_key})
            yield TenantTx(conn)

    def close(self) -> None:
        self.pool.close()

    def __enter__(self) -> Dom360:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
