"""What each tenant-transaction method runs, defined once for the sync and the async client: the named query
(`sql/queries/client.sql`), its parameters, the row class, and how the rows become the method's result.
`TenantTx` and `AsyncTenantTx` only run a `Call` (their one I/O difference: awaited or not)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from functools import partial
from typing import Any, Generic, LiteralString, TypeVar

from psycopg.rows import RowFactory, class_row, tuple_row

from dom360db.client import rows
from dom360db.client._common import Params, message_params, period
from dom360db.client.errors import Dom360ClientError
from dom360db.queries import query

T = TypeVar("T")
R = TypeVar("R")


@dataclass(frozen=True)
class Call(Generic[R]):
    """One statement of a method: run `query` with `params` through a cursor with `row_factory`, fetch every row,
    and `result` of those rows is what the method returns."""

    name: str  # the query client.<name>
    params: Params
    row_factory: RowFactory[Any]
    result: Callable[[list[Any]], R]

    @property
    def query(self) -> LiteralString:
        return query(f"client.{self.name}")


def _only(name: str, fetched: list[T]) -> T:
    if len(fetched) != 1:
        raise Dom360ClientError(f"{name}: expected one row, got {len(fetched)}")
    return fetched[0]


def _first_value(fetched: list[tuple[Any, ...]]) -> Any:
    assert fetched, "a scalar function returns one row"
    return fetched[0][0]


def every_row(cls: type[T], name: str, params: Params = None) -> Call[list[T]]:
    """Every row, as `cls`."""
    return Call(name, params, class_row(cls), list)


def one_row(cls: type[T], name: str, params: Params = None) -> Call[T]:
    """The one row, as `cls` (any other count is an error)."""
    return Call(name, params, class_row(cls), partial(_only, name))


def scalar(name: str, params: Params = None) -> Call[Any]:
    """The first column of the one row (a scalar function); each method below states its type."""
    return Call(name, params, tuple_row, _first_value)


# -- the chat path ---------------------------------------------------------------------------------------------

def get_or_create_conversation(inbox_id: uuid.UUID, external_id: str, agent_type: rows.AgentType | None) -> Call[uuid.UUID]:
    return scalar("get_or_create_conversation", {"inbox_id": inbox_id, "external_id": external_id,
                                                 "agent_type": agent_type})


def append_message(conversation_id: uuid.UUID, role: rows.Role, content: str, input_tokens: int, output_tokens: int,
                   tool_calls: Any, metadata: Any, request_id: str | None) -> Call[rows.StoredMessage]:
    return one_row(rows.StoredMessage, "append_message", message_params(
        conversation_id, role, content, input_tokens, output_tokens, tool_calls, metadata, request_id))


def recent_messages(conversation_id: uuid.UUID, limit: int) -> Call[list[rows.Message]]:
    return every_row(rows.Message, "recent_messages", {"conversation_id": conversation_id, "limit": limit})


def tenant_recent_messages(limit: int) -> Call[list[rows.TenantMessage]]:
    return every_row(rows.TenantMessage, "tenant_recent_messages", {"limit": limit})


def set_conversation_stage(conversation_id: uuid.UUID, stage: rows.Stage, reached_at: datetime | None) -> Call[datetime]:
    return scalar("set_conversation_stage", {"conversation_id": conversation_id, "stage": stage, "reached_at": reached_at})


# -- inboxes, deleting one row, forgetting a customer ----------------------------------------------------------

def create_inbox(name: str, channel: rows.Channel) -> Call[rows.Inbox]:
    return one_row(rows.Inbox, "create_inbox", {"name": name, "channel": channel})


def inboxes() -> Call[list[rows.Inbox]]:
    return every_row(rows.Inbox, "inboxes")


def delete(noun: str, row_id: uuid.UUID) -> Call[bool]:
    """dom360.delete_<noun>(id): whether the tenant had that row (the app has no DELETE privilege: docs/security.md)."""
    return scalar(f"delete_{noun}", {"id": row_id})


def forget_customer(external_id: str) -> Call[rows.Forgotten]:
    return one_row(rows.Forgotten, "forget_customer", {"external_id": external_id})


# -- configuration and secrets ---------------------------------------------------------------------------------

def get_tenant_config() -> Call[rows.TenantConfig]:
    return one_row(rows.TenantConfig, "tenant_config")


def set_account_secret(name: rows.SecretName | str, plaintext: str | None, key: str | None) -> Call[None]:
    return scalar("set_account_secret", {"name": name, "plaintext": plaintext, "key": key})


def encrypt_sensitive_field(plaintext: str | None, key: str | None) -> Call[str | None]:
    return scalar("encrypt_sensitive_field", {"plaintext": plaintext, "key": key})


def decrypt_sensitive_field(ciphertext: str | None, key: str | None) -> Call[str | None]:
    return scalar("decrypt_sensitive_field", {"ciphertext": ciphertext, "key": key})


# -- consumption and analytics: each takes the UTC days date_from .. date_to (None: unbounded) ------------------

def tenant_usage(date_from: date | None, date_to: date | None) -> Call[list[rows.Usage]]:
    return every_row(rows.Usage, "usage", period(date_from, date_to))


def tenant_consumption_summary() -> Call[list[rows.MonthlyConsumption]]:
    return every_row(rows.MonthlyConsumption, "tenant_consumption_summary")


def tenant_usage_daily(date_from: date | None, date_to: date | None) -> Call[list[rows.UsageDaily]]:
    return every_row(rows.UsageDaily, "tenant_usage_daily", period(date_from, date_to))


def tenant_cost_daily(date_from: date | None, date_to: date | None) -> Call[list[rows.CostDaily]]:
    return every_row(rows.CostDaily, "tenant_cost_daily", period(date_from, date_to))


def tenant_response_times(date_from: date | None, date_to: date | None) -> Call[list[rows.ResponseTimes]]:
    return every_row(rows.ResponseTimes, "tenant_response_times", period(date_from, date_to))


def tenant_lead_funnel(date_from: date | None, date_to: date | None) -> Call[list[rows.FunnelStage]]:
    return every_row(rows.FunnelStage, "tenant_lead_funnel", period(date_from, date_to))
