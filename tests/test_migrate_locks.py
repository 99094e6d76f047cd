"""Online safety of migrations (issue 10): every statement of a file waits at most `lock_timeout` for a
lock, so the application's queries never queue behind a migration for longer; a file whose lock is not
granted is rolled back and retried, and after the last attempt nothing of it is applied."""

from __future__ import annotations

import threading

import psycopg
import pytest

from dom360db import config, migrate, sqlfiles
from dom360db.errors import Dom360Error

from support import Database, scalar

EXTRA = "SET LOCAL ROLE {};\nALTER TABLE dom360.inboxes ADD COLUMN lock_probe int;\n"


def files_plus(sql_text: str, *, no_transaction: bool = False) -> list[sqlfiles.SqlFile]:
    text = ("-- dom360:no-transaction\n" if no_transaction else "") + sql_text
    extra = sqlfiles.SqlFile("versioned", "schema/9999_lock_probe.sql", 9999, "lock_probe", text)
    return [*sqlfiles.load(config.DEFAULTS), extra]


def has_column(db: Database) -> bool:
    with db.admin() as c:
        return bool(scalar(c, "SELECT count(*) FROM pg_attribute WHERE attrelid = 'dom360.inboxes'::regclass "
                              "AND attname = 'lock_probe'"))  # type: ignore[index]


@pytest.mark.parametrize("no_transaction", [False, True])
def test_a_busy_table_is_retried_then_given_up_with_nothing_applied(db: Database, no_transaction: bool) -> None:
    files = files_plus(EXTRA.format('"dom360_owner"') if not no_transaction else
                       "ALTER TABLE dom360.inboxes ADD COLUMN lock_probe int;\n", no_transaction=no_transaction)
    said: list[str] = []
    with db.admin() as holder:
        holder.execute("BEGIN")
        holder.execute("LOCK TABLE dom360.inboxes IN ACCESS SHARE MODE")  # a long reader
        with pytest.raises(Dom360Error, match="lock"):
            migrate.migrate(db.admin_dsn, files, lock_timeout_s=10, ddl_lock_timeout_ms=50, attempts=3,
                            progress=said.append)
        holder.execute("ROLLBACK")
    assert sum("retrying" in s for s in said) == 2
    assert not has_column(db)
    with db.admin() as c:
        assert not scalar(c, "SELECT count(*) FROM dom360db_meta.applied_files WHERE version = 9999")


def test_a_lock_released_between_attempts_lets_the_file_through(db: Database) -> None:
    files = files_plus(EXTRA.format('"dom360_owner"'))
    holder = psycopg.connect(db.admin_dsn, autocommit=True)
    holder.execute("BEGIN")
    holder.execute("LOCK TABLE dom360.inboxes IN ACCESS SHARE MODE")
    released = threading.Event()

    def progress(msg: str) -> None:
        if "retrying" in msg and not released.is_set():  # the reader finishes after the first attempt
            holder.execute("ROLLBACK")
            released.set()

    try:
        outcome = migrate.migrate(db.admin_dsn, files, lock_timeout_s=10, ddl_lock_timeout_ms=50, attempts=3,
                                  progress=progress)
    finally:
        holder.close()
    assert released.is_set() and has_column(db)
    assert [f.path for f, _ in outcome.applied] == ["schema/9999_lock_probe.sql"]
