"""What the sync and async clients share: the queries, argument building, connection checks."""

from __future__ import annotations

import os
import uuid
from collections.abc import Sequence
from datetime import date
from typing import Any, LiteralString

import psycopg
from psycopg import conninfo, sql
from psycopg.types.json import Jsonb

from dom360db.client.errors import Dom360ClientError, Unavailable
from dom360db.connect import describe, first_line

#: Seconds to wait for the first connection (and for a pooled one): a down server fails fast, with its cause.
CONNECT_TIMEOUT_S = 5.0

#: What `execute()` takes (as psycopg's own execute) and the parameters of a query.
Query = LiteralString | bytes | sql.SQL | sql.Composed
Params = Sequence[Any] | dict[str, Any] | None


def conninfo_with_timeout(dsn: str, timeout: float, application_name: str) -> str:
    """The DSN with libpq's connect_timeout (whole seconds, at least 2, as libpq wants) and an application name."""
    try:
        params = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise Dom360ClientError(f"invalid DSN: {first_line(exc)}") from exc
    params.setdefault("connect_timeout", str(max(2, round(timeout))))
    params.setdefault("application_name", application_name)
    return conninfo.make_conninfo("", **params)


def unavailable(dsn: str, exc: BaseException) -> Unavailable:
    return Unavailable(f"cannot connect to {describe(dsn)}: {first_line(exc)}", sqlstate=getattr(exc, "sqlstate", None))


def json_or_none(value: Any) -> Jsonb | None:
    return None if value is None else Jsonb(value)


def message_params(conversation_id: uuid.UUID | None, role: str, content: str, input_tokens: int, output_tokens: int,
                   tool_calls: Any, metadata: Any, request_id: str | None) -> dict[str, Any]:
    return {"conversation_id": conversation_id, "role": role, "content": content, "input_tokens": input_tokens,
            "output_tokens": output_tokens, "tool_calls": json_or_none(tool_calls), "metadata": json_or_none(metadata),
            "request_id": request_id}


def period(date_from: date | None, date_to: date | None) -> dict[str, Any]:
    return {"date_from": date_from, "date_to": date_to}


def pool_kwargs(dsn: str, timeout: float, application_name: str) -> dict[str, Any]:
    """Pool options: connections in autocommit (transactions are explicit), libpq's connect_timeout. The wait
    for a free connection stays the pool's own `timeout` (default 30 s; a timeout raises Unavailable with the
    reason a new connection fails, if it does)."""
    return {"conninfo": conninfo_with_timeout(dsn, timeout, application_name), "kwargs": {"autocommit": True}}


def merge_options(ours: dict[str, Any], yours: dict[str, Any]) -> dict[str, Any]:
    """The caller's pool options over ours; connection `kwargs` merged (autocommit stays, e.g. prepare_threshold
    None for PgBouncer in transaction mode is added)."""
    return {**ours, **yours, "kwargs": {**ours["kwargs"], **yours.get("kwargs", {}), "autocommit": True}}


def env_timeout() -> float:
    return float(os.environ.get("DOM360_CONNECT_TIMEOUT", CONNECT_TIMEOUT_S))

