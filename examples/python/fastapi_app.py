"""A FastAPI service on the asyncio client (docs/backend.md): one chat turn per request in one round trip, a
dashboard read in a tenant transaction, and the error contract as HTTP statuses.

    DATABASE_URL=postgresql://api:…@db/dom360 uvicorn examples.python.fastapi_app:app
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import date
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from dom360db.client import (
    AsyncDom360,
    Conflict,
    Dom360ClientError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Retryable,
    Role,
    TenantNotSet,
    Unavailable,
)

#: HTTP status per exception class of the contract (the first match wins: TenantNotSet before PermissionDenied).
STATUS: list[tuple[type[Dom360ClientError], int]] = [
    (TenantNotSet, 500), (PermissionDenied, 403), (NotFound, 404), (InvalidInput, 400), (Conflict, 409),
    (Retryable, 503), (Unavailable, 503), (Dom360ClientError, 500),
]


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    async with AsyncDom360(os.environ["DATABASE_URL"], max_size=10) as db:  # fails at start if unreachable
        app.state.db = db
        yield


app = FastAPI(lifespan=lifespan)


@app.exception_handler(Dom360ClientError)
async def dom360_error(request: Request, exc: Exception) -> JSONResponse:
    status = next(code for cls, code in STATUS if isinstance(exc, cls))
    return JSONResponse({"error": type(exc).__name__, "message": str(exc)}, status_code=status)


class TurnIn(BaseModel):
    customer: str
    role: Role
    content: str
    request_id: str | None = None
    input_tokens: int = 0


@app.post("/tenants/{tenant_id}/inboxes/{inbox_id}/turns", status_code=201)
async def post_turn(tenant_id: uuid.UUID, inbox_id: uuid.UUID, turn: TurnIn, request: Request) -> dict[str, Any]:
    db: AsyncDom360 = request.app.state.db
    result = await db.chat_turn(tenant_id, inbox_id, turn.customer, turn.role, turn.content,
                                input_tokens=turn.input_tokens, request_id=turn.request_id, history=20)
    return {"conversation_id": str(result.conversation_id), "message_index": result.message.message_index,
            "history": [{"role": m.role, "content": m.content} for m in result.history]}


@app.get("/tenants/{tenant_id}/usage")
async def get_usage(tenant_id: uuid.UUID, request: Request, date_from: date | None = None) -> list[dict[str, Any]]:
    db: AsyncDom360 = request.app.state.db
    async with db.tenant(tenant_id) as t:
        rows = await t.tenant_usage_daily(date_from)
    return [{"day": r.day.isoformat(), "agent_type": r.agent_type, "total_tokens": r.total_tokens} for r in rows]
