"""A thin typed client for backend teams: one method per dom360 function, sync (threads) and asyncio.

    db = Dom360("postgresql://api@db/dom360")                 # or: async with AsyncDom360(dsn) as db
    with db.tenant(tenant_id) as t:                           # BEGIN; SELECT dom360.set_tenant(…)
        conv = t.get_or_create_conversation(inbox_id, "+55 11 90000-0001")
        t.append_message(conv, "user", "Olá", input_tokens=12, request_id=req_id)
    # COMMIT (ROLLBACK if the block raised)
    turn = db.chat_turn(tenant_id, inbox_id, "+55 11 90000-0001", "user", "Olá")   # one round trip

The tenant is set per transaction (transaction-scoped setting), so a pooled connection never carries it
to the next user. Connect as a login role granted `dom360_app`. Failures raise `Dom360ClientError`
subclasses mapped from SQLSTATE (errors.py; docs/backend.md has the table).
"""

from dom360db.client._async import AsyncDom360, AsyncTenantTx
from dom360db.client._sync import Dom360, TenantTx
from dom360db.client.errors import (
    Conflict,
    Dom360ClientError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    Retryable,
    TenantNotSet,
    Unavailable,
    WrongKey,
)
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

__all__ = [
    "AgentType", "AsyncDom360", "AsyncTenantTx", "Channel", "ChatTurn", "Conflict", "CostDaily", "Dom360",
    "Dom360ClientError", "Forgotten", "FunnelStage", "Inbox", "InvalidInput", "Message", "MonthlyConsumption", "NotFound",
    "PermissionDenied", "ResponseTimes", "Retryable", "Role", "SecretName", "Stage", "StoredMessage", "TenantConfig",
    "TenantMessage", "TenantNotSet", "TenantTx", "Unavailable", "Usage", "UsageDaily", "WrongKey",
]
