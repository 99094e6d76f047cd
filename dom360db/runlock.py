"""Mutual exclusion of `migrate` runs and of `maintain` runs: a table lock held on a dedicated connection.

Not an advisory lock: any role may take any advisory lock, so an app login that took the key first made
`maintain` skip everything and exit 0, and could keep every `migrate` waiting (issue #16). `LOCK TABLE` needs
privileges on the table, and these tables grant none to the app: `dom360db_meta.run_lock` (migrate; created
by the runner's bootstrap, owned by the migrating role) and the view `dom360.maintenance_lock` (maintain;
owned by the owner role, so its members can run maintain).

Taken by polling `LOCK … NOWAIT`, never by a blocking wait: a blocked lock request could deadlock, undetected,
with a `CREATE INDEX CONCURRENTLY` of the holder (it waits for every older transaction). The holding
transaction does nothing else and keeps no snapshot (READ COMMITTED, idle), so it holds back no vacuum and no
concurrent index build; `idle_in_transaction_session_timeout` is switched off for that one session, so a
server-wide setting cannot end it and hand the lock to a second copy.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from psycopg import sql

from dom360db.connect import connect
from dom360db.errors import Dom360Error
from dom360db.queries import query

#: Polling interval of the bounded wait.
POLL_S = 0.2


@dataclass(frozen=True)
class Holder:
    """The session that holds a run lock, as pg_stat_activity shows it."""

    pid: int
    role: str
    application_name: str
    held_for: timedelta | None

    def __str__(self) -> str:
        return f"backend pid {self.pid}, role {self.role}, application_name {self.application_name or '(none)'!r}"


class LockBusy(Dom360Error):
    """The lock was still held by another session when the bounded wait ended."""

    def __init__(self, message: str, holder: Holder | None) -> None:
        super().__init__(message)
        self.holder = holder


def holder(conn: psycopg.Connection, table: str) -> Holder | None:
    row = conn.execute(query("migrate.run_lock_holder"), {"table": table}).fetchone()
    return Holder(*row) if row else None


@contextmanager
def held(dsn: str, table: str, *, wait_s: float, application_name: str, what: str,
         waiting: Callable[[Holder | None], None] = lambda h: None) -> Iterator[None]:
    """Hold an EXCLUSIVE lock on `table` ("schema.name") for the block, waiting at most `wait_s` seconds for
    it; `waiting` is told once who holds it. Raises LockBusy naming the holder when the wait ends first."""
    schema, _, name = table.partition(".")
    lock = sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE NOWAIT").format(sql.Identifier(schema, name))
    conn = connect(dsn, autocommit=False, application_name=application_name)
    try:
        conn.execute(query("migrate.no_idle_timeout"))
        conn.commit()
        deadline = time.monotonic() + wait_s
        told = False
        while True:
            try:
                conn.execute(lock)
                break
            except psycopg.errors.LockNotAvailable:
                conn.rollback()
            except psycopg.errors.UndefinedTable as exc:
                raise Dom360Error(f"{table} does not exist: run dom360db migrate") from exc
            who = holder(conn, table)
            conn.rollback()
            if not told:
                waiting(who)
                told = True
            if time.monotonic() >= deadline:
                raise LockBusy(f"another {what} still holds {table} after {wait_s:g} s"
                               + (f" ({who})" if who else "") + ": this run did nothing", who)
            time.sleep(POLL_S)
        yield
    finally:
        conn.close()  # ends the transaction: releases the lock
