"""Login roles in the product's group roles, with the timeouts docs/security.md recommends for app logins.

dom360db creates group roles only (schema/0001, `dom360db roles`): logins stay the operator's to create. The test
suite and the benchmarks need logins of their own; this module is the one place that creates them (tests/support.py,
bench/), so that every such login is made the same way and passes doctor's `app_login_timeouts`.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import sql

#: The settings doctor checks on every member of the app role (docs/security.md, "Timeouts for app logins").
TIMEOUTS = ("idle_in_transaction_session_timeout", "statement_timeout")


def set_login_timeouts(conn: psycopg.Connection[Any], login: str, value: str = "5min") -> None:
    """`ALTER ROLE login SET` each of TIMEOUTS to `value` (a superuser's connection)."""
    for setting in TIMEOUTS:
        conn.execute(sql.SQL("ALTER ROLE {} SET {} = {}").format(sql.Identifier(login), sql.Identifier(setting),
                                                                 sql.Literal(value)))


def ensure_login(conn: psycopg.Connection[Any], login: str, group: str, password: str | None = None) -> None:
    """Create `login` or reset an existing one: LOGIN and none of SUPERUSER, BYPASSRLS, CREATEDB, CREATEROLE, the
    given password (none: left as it is, or no password for a new login), a member of `group`, with the
    recommended timeouts. Idempotent; a superuser's autocommit connection."""
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [login]).fetchone() is not None
    conn.execute(sql.SQL("{} {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE{}").format(
        sql.SQL("ALTER ROLE") if exists else sql.SQL("CREATE ROLE"), sql.Identifier(login),
        sql.SQL(" PASSWORD {}").format(sql.Literal(password)) if password is not None else sql.SQL(""),
    ))
    conn.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(group), sql.Identifier(login)))
    set_login_timeouts(conn, login)
