"""The client's exceptions: one class per kind of failure a backend handles differently, mapped from SQLSTATE.

Every exception keeps the driver's error as `__cause__` and its SQLSTATE as `.sqlstate`; `.hint` carries the
server's hint (what to do). `CONTRACT` is the one table, shared with the TypeScript declarations
(`dom360db gen types --lang ts`) and docs/backend.md.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg

from dom360db.errors import Dom360Error

#: The message every app-facing function raises (with 42501) when no tenant is set (dom360.require_tenant()).
NO_TENANT_MESSAGE = "dom360: no tenant set: call dom360.set_tenant() first in this transaction"


class Dom360ClientError(Dom360Error):
    """Base class: a failure of a dom360 call. `.sqlstate` is the server's code (None: no server answer).

    `.code` is the TypeScript error code of the same failure: DATABASE_ERROR here, and for each subclass its name
    in upper snake case (`NotFound`: NOT_FOUND), unless the subclass sets its own.
    """

    code = "DATABASE_ERROR"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            cls.code = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls.__name__).upper()

    def __init__(self, message: str, *, sqlstate: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.hint = hint


class Unavailable(Dom360ClientError):
    """The server cannot be reached, or the connection was lost (retry later, elsewhere)."""


class PermissionDenied(Dom360ClientError):
    """42501: refused by a privilege or by row-level security; also a suspended tenant."""


class TenantNotSet(PermissionDenied):
    """42501 with the one "no tenant set" message: the call ran outside a tenant transaction."""


class NotFound(Dom360ClientError):
    """An unknown tenant, or an inbox or conversation that does not exist or is not the tenant's."""


class InvalidInput(Dom360ClientError):
    """A value the schema refuses: unknown role, agent type or stage, negative tokens, content over the limit."""


class Conflict(Dom360ClientError):
    """The state forbids it: a closed conversation, a stage that cannot move back, a request id reused."""


class WrongKey(Dom360ClientError):
    """28000: the encryption key does not decrypt the stored secret (or the ciphertext is damaged)."""


class Retryable(Dom360ClientError):
    """A serialization failure or deadlock: run the whole transaction again."""


#: SQLSTATE (or its two-character class) -> exception class. Exact codes win over classes.
CONTRACT: dict[str, type[Dom360ClientError]] = {
    "42501": PermissionDenied,   # insufficient_privilege (TenantNotSet when the message is NO_TENANT_MESSAGE)
    "P0002": NotFound,           # no_data_found: unknown tenant
    "02000": NotFound,           # no_data
    "23503": NotFound,           # foreign_key_violation: an inbox or conversation not the tenant's
    "23514": InvalidInput,       # check_violation: unknown role, agent type, stage; negative tokens
    "23502": InvalidInput,       # not_null_violation
    "22": InvalidInput,          # data exceptions: 22001 content too long, 22023 bad parameter, 22P02 bad uuid, 22004 NULL
    "23505": Conflict,           # unique_violation: a request id already used for another conversation
    "55000": Conflict,           # object_not_in_prerequisite_state: closed conversation, stage cannot move
    "28000": WrongKey,           # invalid_authorization_specification: wrong encryption key
    "40001": Retryable,          # serialization_failure
    "40P01": Retryable,          # deadlock_detected
    "08": Unavailable,           # connection exceptions
    "57P01": Unavailable,        # admin_shutdown
}


def class_for(sqlstate: str | None, message: str | None = None) -> type[Dom360ClientError]:
    """The exception class of a server error (the contract above)."""
    if sqlstate is None:
        return Unavailable
    if sqlstate == "42501" and message == NO_TENANT_MESSAGE:
        return TenantNotSet
    return CONTRACT.get(sqlstate) or CONTRACT.get(sqlstate[:2]) or Dom360ClientError


def translate(exc: psycopg.Error) -> Dom360ClientError:
    """The client exception for a psycopg error (raise it `from exc`, so the original is `__cause__`)."""
    diag = exc.diag
    sqlstate = exc.sqlstate
    primary = diag.message_primary
    if sqlstate is None or primary is None:  # no server error: a connection problem, a pool timeout
        text = str(exc).strip().splitlines()
        cls: type[Dom360ClientError] = Unavailable if isinstance(exc, psycopg.OperationalError) else Dom360ClientError
        return cls(text[0] if text else type(exc).__name__, sqlstate=sqlstate)
    message = primary
    if diag.constraint_name and sqlstate == "23514":  # a table's CHECK: say which value, not only which constraint
        message = f"invalid value refused by {diag.table_name or 'the table'} (check {diag.constraint_name})"
    return class_for(sqlstate, primary)(message, sqlstate=sqlstate, hint=diag.message_hint)
