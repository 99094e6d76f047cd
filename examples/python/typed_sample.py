"""A program using the client, checked with `mypy --strict` by the tests (sync and asyncio, rows, errors).

    python examples/python/typed_sample.py DSN TENANT_ID INBOX_ID
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from datetime import datetime
from decimal import Decimal

from dom360db.client import (
    AsyncDom360,
    ChatTurn,
    Dom360,
    InvalidInput,
    Message,
    StoredMessage,
    TenantConfig,
    TenantNotSet,
    UsageDaily,
)


def sync_part(dsn: str, tenant_id: uuid.UUID, inbox_id: uuid.UUID) -> int:
    with Dom360(dsn, max_size=2) as db:
        with db.tenant(tenant_id) as t:
            conv: uuid.UUID = t.get_or_create_conversation(inbox_id, "typed-1", agent_type="SDR")
            stored: StoredMessage = t.append_message(conv, "user", "Olá", input_tokens=12)
            history: list[Message] = t.recent_messages(conv, limit=5)
            config: TenantConfig = t.get_tenant_config()
            timeout_ms: int = config.agents_timeout_ms
            token: str | None = config.agents_api_token
            costs = t.tenant_cost_daily()
            cost: Decimal | None = costs[0].cost if costs else None
            (count,) = t.execute("SELECT count(*) FROM dom360.inboxes").fetchone() or (0,)
            print(stored.message_index, len(history), timeout_ms, token, cost, count)
        try:
            with db.tenant(tenant_id) as t:
                t.append_message(conv, "user", "x", input_tokens=-1)
        except InvalidInput as exc:
            print("refused:", exc, exc.sqlstate)
        turn: ChatTurn = db.chat_turn(tenant_id, inbox_id, "typed-1", "assistant", "Oi!", output_tokens=3)
        return turn.message.message_index


async def async_part(dsn: str, tenant_id: uuid.UUID) -> list[UsageDaily]:
    async with AsyncDom360(dsn, max_size=2) as db:
        async with db.tenant(tenant_id) as t:
            usage = await t.tenant_usage_daily()
            reached: datetime | None = None
            print(reached, len(await t.tenant_recent_messages(3)))
            try:
                await t.execute("SELECT pg_catalog.set_config('app.tenant_id', '', true)")
                await t.tenant_usage()
            except TenantNotSet as exc:
                print("no tenant:", exc.sqlstate)
        return usage


def main() -> None:
    dsn, tenant_id, inbox_id = sys.argv[1], uuid.UUID(sys.argv[2]), uuid.UUID(sys.argv[3])
    index = sync_part(dsn, tenant_id, inbox_id)
    usage = asyncio.run(async_part(dsn, tenant_id))
    print(index, sum(u.total_tokens for u in usage))


if __name__ == "__main__":
    main()
