"""Which database to talk to, and connecting to it with errors a person can act on."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo
from psycopg.abc import Params, Query

from dom360db.errors import Dom360Error

CONNECT_TIMEOUT_S = 10


def resolve_dsn(dsn: str | None, home: Path | None = None) -> str:
    """`--dsn`, else `DATABASE_URL`, else the running embedded server, else a clear error."""
    if dsn:
        return dsn
    env = os.environ.get("DATABASE_URL")
    if env:
        return env
    from dom360db.embedded import EmbeddedServer  # imported late: only this path needs it

    info = EmbeddedServer(home).info()
    if info is not None:
        return info.dsn
    raise Dom360Error("no database: pass --dsn, set DATABASE_URL, or start the embedded server with `dom360db up`")


def describe(dsn: str) -> str:
    """`user@host:port/dbname` for messages: never the password."""
    try:
        p = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError:
        return "<unparsable DSN>"
    host = p.get("host") or os.environ.get("PGHOST") or "local socket"
    port = p.get("port") or os.environ.get("PGPORT") or "5432"
    user = p.get("user") or os.environ.get("PGUSER") or ""
    db = p.get("dbname") or os.environ.get("PGDATABASE") or user
    return f"{user + '@' if user else ''}{host}:{port}/{db}"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    # libpq: 'connection failed: connection to server at "127.0.0.1", port 1 failed: Connection refused\n\tIs …'
    line = text.splitlines()[0] if text else type(exc).__name__
    line = re.sub(r"^connection failed: ", "", line)
    line = re.sub(r'^connection to server at "[^"]*"(?: \([^)]*\))?, port \d+ failed: ', "", line)
    line = re.sub(r'^connection to server on socket "[^"]*" failed: ', "", line)
    return line.strip() or type(exc).__name__


def connect(dsn: str, *, autocommit: bool = True, application_name: str = "dom360db") -> psycopg.Connection:
    """Open a connection; any failure becomes one line naming the server (never the password)."""
    try:
        params = conninfo.conninfo_to_dict(dsn)
    except psycopg.ProgrammingError as exc:
        raise Dom360Error(f"invalid DSN: {_first_line(exc)}") from exc
    params.setdefault("connect_timeout", os.environ.get("PGCONNECT_TIMEOUT", str(CONNECT_TIMEOUT_S)))
    params.setdefault("application_name", application_name)
    try:
        return psycopg.connect(conninfo.make_conninfo(**params), autocommit=autocommit)
    except psycopg.Error as exc:
        raise Dom360Error(f"cannot connect to {describe(dsn)}: {_first_line(exc)}") from exc


def error_line(exc: psycopg.Error) -> str:
    """One line for a server error: message, SQLSTATE, and the detail or hint when there is one."""
    diag = exc.diag
    msg = diag.message_primary or _first_line(exc)
    extra = diag.message_detail or diag.message_hint
    code = f" [{diag.sqlstate}]" if diag.sqlstate else ""
    return f"{msg}{code}" + (f" ({extra.strip()})" if extra else "")


first_line = _first_line  # public name, for dom360db.client


def scalar(conn: psycopg.Connection[Any] | psycopg.Cursor[Any], query: Query, params: Params | None = None) -> Any:
    """The first column of the query's first row (the query must return one: LookupError otherwise)."""
    row = conn.execute(query, params).fetchone()
    if row is None:
        raise LookupError("the query returned no row")
    return row[0]


def set_tenant_id(conn: psycopg.Connection[Any], tenant: Any) -> None:
    """Scope the transaction to `tenant` (a uuid; any status: export, erase, import, backfill and secret rotation
    reach suspended and closed tenants) with SET LOCAL, which Citus propagates to the workers (where row-level
    security, forced on the owner, reads it; set_config is not propagated). The same effect on one server."""
    import uuid

    from psycopg import sql

    from dom360db.queries import composed

    conn.execute(composed("common.set_local_tenant_id", tenant_id=sql.Literal(str(uuid.UUID(str(tenant))))))
