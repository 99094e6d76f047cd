"""The asyncio client: `AsyncDom360`, a psycopg_pool.AsyncConnectionPool, and `AsyncTenantTx`, one tenant's
transaction, with the same methods as the synchronous client (awaited).

    async with AsyncDom360(dsn) as db:
        async with db.tenant(tenant_id) as t:
            conv = await t.get_or_create_conversation(inbox_id, "cust-1")
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from datetime import date, datetime
from typing import Any, TypeVar

import psycopg
from psycopg.rows import TupleRow, class_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from dom360db.client import _calls as calls
from dom360db.client import _common as c
from dom360db.client.errors import Dom360ClientError, Unavailable, translate
from dom360db.client.rows import (
    AgentType,
    Channel,
    ChatTurn,
    CostDaily,
    Forgotten,
    FunnelStage,
    Inbox,
    Message,
    MonthlyConsumption,
    ResponseTimes,
    Role,
    SecretName,
    Stage,
    StoredMessage,
    TenantConfig,
    TenantMessage,
    Usage,
    UsageDaily,
)
from dom360db.queries import query

R = TypeVar("R")


class AsyncTenantTx:
    """One transaction of one tenant: obtained from `AsyncDom360.tenant()`, valid inside its `with` block.

    Every method calls one dom360 function; a refusal raises a `Dom360ClientError` subclass (see errors.py).
    """

    def __init__(self, conn: psycopg.AsyncConnection[TupleRow], tenant_id: uuid.UUID) -> None:
        self._conn = conn
        self.tenant_id = tenant_id

    # -- plumbing --------------------------------------------------------------------------------------------

    async def execute(self, query: c.Query, params: c.Params = None) -> psycopg.AsyncCursor[TupleRow]:
        """Your own SQL in this tenant transaction (row-level security applies); errors as client exceptions."""
        try:
            return await self._conn.execute(query, params)
        except psycopg.Error as exc:
            raise translate(exc) from exc

    async def _call(self, call: calls.Call[R]) -> R:
        try:
            async with self._conn.cursor(row_factory=call.row_factory) as cur:
                await cur.execute(call.query, call.params)
                rows = await cur.fetchall()
        except psycopg.Error as exc:
            raise translate(exc) from exc
        return call.result(rows)

    # -- the chat path ---------------------------------------------------------------------------------------

    async def get_or_create_conversation(self, inbox_id: uuid.UUID, external_id: str,
                                   agent_type: AgentType | None = None) -> uuid.UUID:
        """The open conversation of (tenant, inbox, customer), created when none."""
        return await self._call(calls.get_or_create_conversation(inbox_id, external_id, agent_type))

    async def append_message(self, conversation_id: uuid.UUID, role: Role, content: str, *, input_tokens: int = 0,
                       output_tokens: int = 0, tool_calls: Any = None, metadata: Any = None,
                       request_id: str | None = None) -> StoredMessage:
        """Stores a message; a retried call with the same request_id returns the first call's row."""
        return await self._call(calls.append_message(conversation_id, role, content, input_tokens, output_tokens, tool_calls,
                                               metadata, request_id))

    async def recent_messages(self, conversation_id: uuid.UUID, limit: int = 20) -> list[Message]:
        """The conversation's newest messages, newest first (at most 1000)."""
        return await self._call(calls.recent_messages(conversation_id, limit))

    async def tenant_recent_messages(self, limit: int = 10) -> list[TenantMessage]:
        """The tenant's newest messages across conversations, newest first (at most 1000)."""
        return await self._call(calls.tenant_recent_messages(limit))

    async def set_conversation_stage(self, conversation_id: uuid.UUID, stage: Stage,
                               reached_at: datetime | None = None) -> datetime:
        """Moves a conversation along the lead funnel; returns when it reached the stage."""
        return await self._call(calls.set_conversation_stage(conversation_id, stage, reached_at))

    # -- inboxes ---------------------------------------------------------------------------------------------

    async def create_inbox(self, name: str, channel: Channel) -> Inbox:
        return await self._call(calls.create_inbox(name, channel))

    async def inboxes(self) -> list[Inbox]:
        return await self._call(calls.inboxes())

    # -- deleting one row (the app has no DELETE privilege: docs/security.md) --------------------------------

    async def delete_conversation(self, conversation_id: uuid.UUID) -> bool:
        """Deletes the tenant's conversation (refused while it has messages); False when the tenant has none with that id."""
        return await self._call(calls.delete("conversation", conversation_id))

    async def delete_user(self, user_id: uuid.UUID) -> bool:
        """Deletes the tenant's user; False when the tenant has none with that id."""
        return await self._call(calls.delete("user", user_id))

    async def delete_inbox(self, inbox_id: uuid.UUID) -> bool:
        """Deletes the tenant's inbox; False when the tenant has none with that id."""
        return await self._call(calls.delete("inbox", inbox_id))

    async def delete_agent(self, agent_id: uuid.UUID) -> bool:
        """Deletes the tenant's agent; False when the tenant has none with that id."""
        return await self._call(calls.delete("agent", agent_id))

    async def forget_customer(self, external_id: str) -> Forgotten:
        """Erases one customer (external_id) of the tenant: conversations, messages, request ids, stages; the usage
        counters keep their counts (billing figures). LGPD/GDPR erasure: docs/lifecycle.md."""
        return await self._call(calls.forget_customer(external_id))

    # -- configuration and secrets ---------------------------------------------------------------------------

    async def get_tenant_config(self) -> TenantConfig:
        """The tenant's agent settings; secrets decrypted only when the transaction has the key."""
        return await self._call(calls.get_tenant_config())

    async def set_account_secret(self, name: SecretName | str, plaintext: str | None, key: str | None = None) -> None:
        """Stores a secret encrypted (key: `key`, else the transaction's encryption_key); None removes it."""
        return await self._call(calls.set_account_secret(name, plaintext, key))

    async def encrypt_sensitive_field(self, plaintext: str | None, key: str | None = None) -> str | None:
        return await self._call(calls.encrypt_sensitive_field(plaintext, key))

    async def decrypt_sensitive_field(self, ciphertext: str | None, key: str | None = None) -> str | None:
        return await self._call(calls.decrypt_sensitive_field(ciphertext, key))

    # -- consumption and analytics ---------------------------------------------------------------------------

    async def tenant_usage(self, date_from: date | None = None, date_to: date | None = None) -> list[Usage]:
        """Messages and tokens per inbox and UTC day, exact at every commit."""
        return await self._call(calls.tenant_usage(date_from, date_to))

    async def tenant_consumption_summary(self) -> list[MonthlyConsumption]:
        return await self._call(calls.tenant_consumption_summary())

    async def tenant_usage_daily(self, date_from: date | None = None, date_to: date | None = None) -> list[UsageDaily]:
        return await self._call(calls.tenant_usage_daily(date_from, date_to))

    async def tenant_cost_daily(self, date_from: date | None = None, date_to: date | None = None) -> list[CostDaily]:
        return await self._call(calls.tenant_cost_daily(date_from, date_to))

    async def tenant_response_times(self, date_from: date | None = None, date_to: date | None = None) -> list[ResponseTimes]:
        return await self._call(calls.tenant_response_times(date_from, date_to))

    async def tenant_lead_funnel(self, date_from: date | None = None, date_to: date | None = None) -> list[FunnelStage]:
        return await self._call(calls.tenant_lead_funnel(date_from, date_to))

    # -- earlier names, kept ---------------------------------------------------------------------------------

    async def tenant_config(self) -> TenantConfig:
        """Same as get_tenant_config()."""
        return await self.get_tenant_config()

    async def usage(self, date_from: date | None = None, date_to: date | None = None) -> list[Usage]:
        """Same as tenant_usage()."""
        return await self.tenant_usage(date_from, date_to)


class AsyncDom360:
    """A pool of connections to a dom360 database for asyncio, as a login granted `dom360_app`.

    `async with AsyncDom360(dsn) as db` (or `db = await AsyncDom360.connect(dsn)`) opens it: one connection is
    checked first, so an unreachable server raises `Unavailable` with the driver's reason within
    `connect_timeout` seconds.
    """

    def __init__(self, dsn: str, *, min_size: int = 1, max_size: int = 10, connect_timeout: float | None = None,
                 application_name: str = "dom360db.client", **pool_kwargs: Any) -> None:
        self._dsn = dsn
        self._timeout = c.env_timeout() if connect_timeout is None else connect_timeout
        self._options = c.merge_options(c.pool_kwargs(dsn, self._timeout, application_name), pool_kwargs)
        self.pool: AsyncConnectionPool[psycopg.AsyncConnection[TupleRow]] = AsyncConnectionPool(
            min_size=min_size, max_size=max_size, open=False, **self._options)

    @classmethod
    async def connect(cls, dsn: str, **kwargs: Any) -> AsyncDom360:
        db = cls(dsn, **kwargs)
        await db.open()
        return db

    async def open(self) -> None:
        try:  # one connection up front: its error is the one a person can act on
            await (await psycopg.AsyncConnection.connect(self._options["conninfo"])).close()
        except psycopg.Error as exc:
            raise c.unavailable(self._dsn, exc) from exc
        try:
            await self.pool.open(wait=True, timeout=self._timeout)
        except PoolTimeout as exc:
            await self.pool.close()
            raise await self._unavailable(exc) from exc

    async def _unavailable(self, exc: PoolTimeout) -> Dom360ClientError:
        """A pool timeout with its cause: a fresh connection attempt says why (or that the pool is just busy)."""
        try:
            conn = await psycopg.AsyncConnection.connect(c.conninfo_with_timeout(self._dsn, self._timeout,
                                                                                 "dom360db.client"))
            await conn.close()
        except psycopg.Error as conn_exc:
            return c.unavailable(self._dsn, conn_exc)
        return Unavailable(f"no free connection in the pool within {self.pool.timeout:g} s (max_size {self.pool.max_size})")

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[TupleRow]]:
        try:
            async with self.pool.connection() as conn:
                yield conn
        except PoolTimeout as exc:
            raise await self._unavailable(exc) from exc
        except psycopg.Error as exc:
            raise translate(exc) from exc

    @asynccontextmanager
    async def tenant(self, tenant_id: uuid.UUID, *, encryption_key: str | None = None) -> AsyncIterator[AsyncTenantTx]:
        """A transaction with `tenant_id` set: committed at the end of the block, rolled back if it raised.

        With `encryption_key`, the transaction-scoped `app.encryption_key` is set too (as a bind parameter).
        """
        async with self._connection() as conn, conn.transaction():
            await conn.execute(query("common.set_tenant"), {"tenant_id": tenant_id})
            if encryption_key is not None:
                await conn.execute(query("client.set_encryption_key"), {"key": encryption_key})
            yield AsyncTenantTx(conn, tenant_id)

    async def chat_turn(self, tenant_id: uuid.UUID, inbox_id: uuid.UUID, external_id: str, role: Role, content: str, *,
                        input_tokens: int = 0, output_tokens: int = 0, tool_calls: Any = None, metadata: Any = None,
                        request_id: str | None = None, agent_type: AgentType | None = None,
                        history: int = 20) -> ChatTurn:
        """One chat turn in one round trip: BEGIN, set_tenant, get_or_create_conversation + append_message,
        the conversation's newest `history` messages, newest first, COMMIT — sent as one pipeline. A retried
        request id stores nothing: `message` is then the first call's row (not necessarily the newest)."""
        params = {**c.message_params(None, role, content, input_tokens, output_tokens, tool_calls, metadata, request_id),
                  "tenant_id": tenant_id, "inbox_id": inbox_id, "external_id": external_id, "agent_type": agent_type,
                  "limit": max(history, 1)}
        async with self._connection() as conn:
            try:  # BEGIN and COMMIT are statements of the pipeline: conn.transaction() would sync at each end
                async with conn.pipeline():
                    await conn.execute(query("client.begin"))
                    await conn.execute(query("common.set_tenant"), params)
                    stored = await conn.execute(query("client.turn_append"), params)
                    hist = conn.cursor(row_factory=class_row(Message))
                    await hist.execute(query("client.turn_history"), params)
                    await conn.execute(query("client.commit"))
            except psycopg.Error:
                await self._rollback(conn)  # a refused statement left the transaction aborted: end it
                raise
            row = await stored.fetchone()
            messages = await hist.fetchall()
        assert row is not None
        return ChatTurn(row[0], StoredMessage(row[1], row[2], row[3]), messages)

    @staticmethod
    async def _rollback(conn: psycopg.AsyncConnection[TupleRow]) -> None:
        with suppress(psycopg.Error):  # a broken connection: the pool discards it
            await conn.rollback()

    async def close(self) -> None:
        await self.pool.close()

    async def __aenter__(self) -> AsyncDom360:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
