"""What each function returns: one frozen dataclass per result row, fields in the function's column order.

`NULL` columns are `X | None`; every other column is never NULL. tests/test_client.py checks these classes
against the live catalog (names, order, types), so a changed function cannot leave them stale.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

Role = Literal["user", "assistant", "system", "tool"]
AgentType = Literal["SDR", "COPILOT"]
Stage = Literal["qualified", "meeting_booked", "won", "lost"]
Channel = Literal["web", "whatsapp", "email", "instagram", "telegram", "sms", "api"]
SecretName = Literal["agents_api_token", "webhook_secret"]


@dataclass(frozen=True)
class StoredMessage:
    """dom360.append_message()"""

    message_id: int
    message_index: int
    created_at: datetime


@dataclass(frozen=True)
class Message:
    """dom360.recent_messages()"""

    message_id: int
    message_index: int
    role: str
    content: str
    input_tokens: int
    output_tokens: int
    total_tokens: int
    tool_calls: Any | None  # JSON
    metadata: Any | None  # JSON
    request_id: str | None
    created_at: datetime


@dataclass(frozen=True)
class TenantMessage:
    """dom360.tenant_recent_messages()"""

    message_id: int
    conversation_id: uuid.UUID
    inbox_id: uuid.UUID
    message_index: int
    role: str
    content: str
    total_tokens: int
    created_at: datetime


@dataclass(frozen=True)
class TenantConfig:
    """dom360.get_tenant_config()"""

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
    """dom360.tenant_usage()"""

    inbox_id: uuid.UUID
    day: date
    messages_count: int
    input_tokens: int
    output_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class MonthlyConsumption:
    """dom360.tenant_consumption_summary()"""

    month: date
    messages_count: int
    input_tokens: int
    output_tokens: int
    total_tokens: int
    active_inboxes: int
    refreshed_at: datetime


@dataclass(frozen=True)
class UsageDaily:
    """dom360.tenant_usage_daily()"""

    day: date
    inbox_id: uuid.UUID
    agent_type: str  # '' when the conversation names none
    messages_count: int
    input_tokens: int
    output_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class CostDaily:
    """dom360.tenant_cost_daily(): the price columns and costs are None on a day without a price."""

    day: date
    inbox_id: uuid.UUID
    agent_type: str
    input_tokens: int
    output_tokens: int
    currency: str | None
    input_price_per_1k: Decimal | None
    output_price_per_1k: Decimal | None
    input_cost: Decimal | None
    output_cost: Decimal | None
    cost: Decimal | None


@dataclass(frozen=True)
class ResponseTimes:
    """dom360.tenant_response_times(): percentiles are None when no turn was answered."""

    day: date
    agent_type: str
    turns: int
    answered: int
    unanswered: int
    p50_seconds: float | None
    p95_seconds: float | None


@dataclass(frozen=True)
class FunnelStage:
    """dom360.tenant_lead_funnel()"""

    month: date
    stage: str
    stage_order: int
    conversations: int
    rate_from_previous: Decimal | None
    rate_from_new: Decimal | None
    median_hours_to_reach: float | None


@dataclass(frozen=True)
class Inbox:
    """A row of dom360.inboxes."""

    id: uuid.UUID
    name: str
    channel: str
    created_at: datetime


@dataclass(frozen=True)
class Forgotten:
    """dom360.forget_customer(): what was erased of one customer."""

    conversations: int
    messages: int


@dataclass(frozen=True)
class ChatTurn:
    """One chat turn: the conversation, the message of the request (for a retried request id, the first call's),
    and the conversation's newest messages, newest first."""

    conversation_id: uuid.UUID
    message: StoredMessage
    history: list[Message]


@dataclass(frozen=True)
class _InConversation:
    conversation_id: uuid.UUID


@dataclass(frozen=True)
class ChatTurnRow(Message, _InConversation):
    """dom360.chat_turn(): a Message with its conversation's id, which comes first (a dataclass takes its bases' fields
    in reverse method resolution order: _InConversation's, then Message's). The client's chat_turn returns a ChatTurn."""


#: Functions returning one value that may be NULL (every other scalar function never returns NULL).
NULLABLE_SCALARS = {"encrypt_sensitive_field", "decrypt_sensitive_field", "current_tenant_id"}

#: The dataclass of each function's rows (checked against the catalog by the tests).
ROWS: dict[str, type] = {
    "append_message": StoredMessage,
    "recent_messages": Message,
    "tenant_recent_messages": TenantMessage,
    "get_tenant_config": TenantConfig,
    "tenant_usage": Usage,
    "tenant_consumption_summary": MonthlyConsumption,
    "tenant_usage_daily": UsageDaily,
    "tenant_cost_daily": CostDaily,
    "tenant_response_times": ResponseTimes,
    "tenant_lead_funnel": FunnelStage,
    "chat_turn": ChatTurnRow,
    "forget_customer": Forgotten,
}
