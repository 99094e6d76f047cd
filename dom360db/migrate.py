"""The migration runner: validate, plan, lock, apply, record.

- Versioned files (`sql/schema/`) are applied once, in version order, and never change afterwards:
  `validate` refuses an applied file whose rendered text differs from what was applied.
- Repeatable files (`sql/functions/`, `sql/policies/`) are re-applied whenever their rendered text
  changes (the checksum covers the text after template parameters).
- Each file runs in its own transaction (or, with the `-- dom360:no-transaction` marker, statement by
  statement in autocommit) and is recorded in `dom360db_meta.applied_files` in that same transaction.
- Concurrent runners are serialized by a table lock (dom360db_meta.run_lock, which no other role may lock)
  held on a dedicated connection and taken by polling `LOCK … NOWAIT` with a timeout: a blocking wait could
  deadlock with statements such as `CREATE INDEX CONCURRENTLY`, which wait for every other transaction.
"""

from __future__ import annotations

import getpass
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import psycopg
from psycopg import errors, sql
from psycopg.types.json import Jsonb

from dom360db import __version__, citus, config, runlock, shipped
from dom360db.connect import connect, describe, error_line, scalar
from dom360db.errors import Dom360Error
from dom360db.progress import Progress
from dom360db.queries import composed, query
from dom360db.report import table
from dom360db.sqlfiles import SqlFile, Statement, split_statements

State = Literal["applied", "pending", "changed", "missing"]


@dataclass(frozen=True)
class Applied:
    kind: str
    version: int | None
    path: str
    checksum: str
    applied_at: datetime


@dataclass(frozen=True)
class FileStatus:
    kind: str
    version: int | None
    path: str
    state: State  # changed: a versioned file edited after it was applied (refused), or a repeatable to re-apply
    applied_at: datetime | None

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "version": self.version,
            "path": self.path,
            "state": self.state,
            "applied_at": self.applied_at.isoformat() if self.applied_at else None,
        }


def applied_files(conn: psycopg.Connection) -> dict[str, Applied]:
    """The latest application of every file, by path (empty when the runner never ran here)."""
    if not scalar(conn, query("migrate.meta_exists")):
        return {}
    return {row[2]: Applied(*row) for row in conn.execute(query("migrate.applied"))}


def status(files: Sequence[SqlFile], applied: dict[str, Applied]) -> list[FileStatus]:
    """Every local file with its state, then applied files that no longer exist locally."""
    out: list[FileStatus] = []
    for f in files:
        a = applied.get(f.path)
        if a is None:
            out.append(FileStatus(f.kind, f.version, f.path, "pending", None))
        elif a.checksum != f.checksum:
            out.append(FileStatus(f.kind, f.version, f.path, "changed", a.applied_at))
        else:
            out.append(FileStatus(f.kind, f.version, f.path, "applied", a.applied_at))
    local = {f.path for f in files}
    for path, a in sorted(applied.items()):
        if path not in local:
            out.append(FileStatus(a.kind, a.version, path, "missing", a.applied_at))
    return out


def status_text(rows: Sequence[FileStatus]) -> str:
    """`dom360db status`: a table of the files, then how many are in each state."""
    lines = table(["kind", "version", "file", "state", "applied at"],
                  [[r.kind, r.version, r.path, r.state,
                    r.applied_at.strftime("%Y-%m-%d %H:%M:%S") if r.applied_at else None] for r in rows])
    counts = {s: sum(1 for r in rows if r.state == s) for s in ("applied", "pending", "changed", "missing")}
    return lines + "\n" + (", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no files")


def validate(files: Sequence[SqlFile], applied: dict[str, Applied]) -> None:
    """Refuse when an applied versioned file was edited, renamed or removed since it was applied."""
    by_version = {f.version: f for f in files if f.kind == "versioned"}
    for a in sorted(applied.values(), key=lambda a: (a.version or 0, a.path)):
        if a.kind != "versioned":
            continue
        f = by_version.get(a.version)
        when = a.applied_at.strftime("%Y-%m-%d %H:%M:%S %Z").strip()
        if f is None or f.path != a.path:
            now = f"is now {f.path}" if f else "has no file any more"
            raise Dom360Error(
                f"{a.path} was applied on {when} but version {a.version} {now}: "
                "versioned files are forward-only; restore it"
            )
        if f.checksum != a.checksum and shipped.predates_baseline(f, a.checksum):
            raise Dom360Error(
                f"{a.path} was applied on {when} from a text that no release since the upgrade baseline "
                f"{shipped.BASELINE} shipped: this database was migrated by an earlier, unsupported version; "
                "upgrade it by moving its data into a new database (docs/operations.md, \"Databases from "
                "before the baseline\"); nothing was applied"
            )
        if f.checksum != a.checksum:
            raise Dom360Error(
                f"{a.path} was changed after it was applied on {when} "
                f"(checksum {a.checksum[:12]} applied, {f.checksum[:12]} now): versioned files are "
                "forward-only; revert the edit and put the change in a new file (or restore the "
                "template parameters it was applied with)"
            )


def pending(files: Sequence[SqlFile], applied: dict[str, Applied], *, reapply: bool = False) -> list[SqlFile]:
    """Files to apply, in order: versioned never applied, then repeatables whose text changed (or all
    repeatables with `reapply`, to restore functions or policies someone altered by hand)."""
    return [
        f for f in files
        if (a := applied.get(f.path)) is None
        or (f.kind == "repeatable" and (reapply or a.checksum != f.checksum))
    ]


@contextmanager
def migration_lock(dsn: str, timeout_s: float, progress: Progress) -> Iterator[None]:
    """Hold the runner's lock (dom360db_meta.run_lock, dom360db/runlock.py) on a dedicated connection for the
    duration of the block."""
    conn = connect(dsn, application_name="dom360db migrate (lock)")
    try:
        for attempt in range(5):  # concurrent first runs race on CREATE … IF NOT EXISTS: the loser retries
            try:
                with conn.transaction():
                    for name in ("meta_schema", "meta_run_lock", "meta_run_lock_comment"):
                        conn.execute(query(f"migrate.{name}"))
                break
            except (psycopg.errors.UniqueViolation, psycopg.errors.DuplicateObject,
                    psycopg.errors.DuplicateTable, psycopg.errors.DuplicateSchema):
                if attempt == 4:
                    raise
    finally:
        conn.close()

    def waiting(holder: runlock.Holder | None) -> None:
        progress("waiting for another migrate to finish" + (f" ({holder})" if holder else ""))

    try:
        with runlock.held(dsn, "dom360db_meta.run_lock", wait_s=timeout_s, application_name="dom360db migrate (lock)",
                          what="dom360db migrate", waiting=waiting):
            yield
    except runlock.LockBusy as exc:
        raise Dom360Error(f"{exc}; retry later or raise --lock-timeout") from None


def _bootstrap(conn: psycopg.Connection) -> None:
    with conn.transaction():
        for name in ("meta_schema", "meta_comment", "meta_table", "meta_table_comment",
                     "meta_columns_comment", "meta_versioned_unique"):
            conn.execute(query(f"migrate.{name}"))


def _fail(f: SqlFile, line: int, stmt: str, exc: psycopg.Error, applied_before: bool) -> Dom360Error:
    pos = exc.diag.statement_position
    if pos:
        line += stmt[: int(pos) - 1].count("\n")
    context = exc.diag.context
    where = ""
    if context and "line" in context:
        where = f" (in {context.strip().splitlines()[0]})"
    if f.transactional:
        tail = "nothing from this file was applied"
    elif applied_before:
        tail = "statements before this line were applied (no-transaction file); fix it and re-run"
    else:
        tail = "nothing from this file was applied"
    return Dom360Error(f"{f.path}:{line}: {error_line(exc)}{where}; {tail}")


def _record(conn: psycopg.Connection, f: SqlFile, elapsed_ms: float) -> None:
    conn.execute(query("migrate.reset_role"))  # a file's SET LOCAL ROLE must not decide who records it
    conn.execute(
        query("migrate.record"),
        {
            "kind": f.kind,
            "version": f.version,
            "path": f.path,
            "name": f.name,
            "checksum": f.checksum,
            "params": Jsonb(f.params),
            "os_user": getpass.getuser(),
            "duration_ms": round(elapsed_ms, 3),
            "tool_version": __version__,
        },
    )


#: Defaults of the bound on every lock wait of a migration statement, and of the tries per file.
DDL_LOCK_TIMEOUT_MS = 5000
DDL_ATTEMPTS = 10
RETRY_PAUSE_S = 0.5


class _LockBusy(Exception):
    """A statement's lock was not granted within lock_timeout (the file's transaction is rolled back)."""

    def __init__(self, line: int) -> None:
        self.line = line


def _apply_once(conn: psycopg.Connection, f: SqlFile, statements: list[Statement], lock_timeout_ms: int | None,
                attempts: int, progress: Progress, t0: float) -> None:
    if f.transactional:
        try:
            with conn.transaction():
                if lock_timeout_ms is not None:  # a file's own SET LOCAL lock_timeout still wins
                    conn.execute(query("migrate.file_lock_timeout"), {"ms": str(lock_timeout_ms)})
                for st in statements:
                    try:
                        conn.execute(st.sql)
                    except errors.LockNotAvailable as exc:
                        raise _LockBusy(st.line) from exc
                    except psycopg.Error as exc:
                        raise _fail(f, st.line, st.sql, exc, False) from exc
                _record(conn, f, (time.perf_counter() - t0) * 1000)
        except psycopg.Error as exc:  # recording or the COMMIT itself (deferred constraints)
            raise Dom360Error(f"{f.path}: {error_line(exc)}; nothing from this file was applied") from exc
        return
    if lock_timeout_ms is not None:
        conn.execute(query("migrate.session_lock_timeout"), {"ms": str(lock_timeout_ms)})
    for n, st in enumerate(statements):
        for attempt in range(1, attempts + 1):  # statement by statement: the ones before it stay applied
            try:
                conn.execute(st.sql)
                break
            except errors.LockNotAvailable as exc:
                if attempt == attempts:
                    raise _fail(f, st.line, st.sql, exc, n > 0) from exc
                progress(f"{f.path}:{st.line}: lock not granted in time (attempt {attempt}/{attempts}); retrying")
                time.sleep(RETRY_PAUSE_S * attempt)
            except psycopg.Error as exc:
                raise _fail(f, st.line, st.sql, exc, n > 0) from exc
    conn.execute(query("migrate.reset_session"))  # a SET (ROLE) in the file must not leak into the next one
    with conn.transaction():
        _record(conn, f, (time.perf_counter() - t0) * 1000)


def apply_file(conn: psycopg.Connection, f: SqlFile, *, lock_timeout_ms: int | None = None, attempts: int = 1,
               progress: Progress = lambda s: None) -> float:
    """Apply one file and record it; return the elapsed milliseconds. Raises Dom360Error naming file:line.

    With `lock_timeout_ms`, every statement waits at most that long for a lock (so a migration never
    queues the application's queries behind it for longer); a transactional file whose lock is not
    granted is rolled back and tried again, up to `attempts` times with a growing pause; a
    no-transaction file retries the statement that waited."""
    statements = split_statements(f.sql)
    t0 = time.perf_counter()
    for attempt in range(1, attempts + 1):
        try:
            _apply_once(conn, f, statements, lock_timeout_ms, attempts, progress, t0)
            break
        except _LockBusy as busy:
            if attempt == attempts:
                raise Dom360Error(
                    f"{f.path}:{busy.line}: lock not granted within {lock_timeout_ms} ms, {attempts} attempt(s); "
                    "nothing from this file was applied (retry when the table is quieter, or raise "
                    "--ddl-lock-timeout / --attempts)") from None
            progress(f"{f.path}:{busy.line}: lock not granted in time (attempt {attempt}/{attempts}); retrying")
            time.sleep(RETRY_PAUSE_S * attempt)
    return (time.perf_counter() - t0) * 1000


@dataclass(frozen=True)
class Outcome:
    applied: list[tuple[SqlFile, float]]

    @property
    def summary(self) -> str:
        if not self.applied:
            return "database is up to date: nothing to apply"
        v = sum(1 for f, _ in self.applied if f.kind == "versioned")
        r = len(self.applied) - v
        total = sum(ms for _, ms in self.applied) / 1000
        return f"applied {len(self.applied)} file(s) ({v} versioned, {r} repeatable) in {total:.2f} s"


def migrate(dsn: str, files: Sequence[SqlFile], *, lock_timeout_s: float = 300.0, reapply: bool = False,
            months_ahead: int | None = None, progress: Progress = lambda s: None,
            ddl_lock_timeout_ms: int | None = DDL_LOCK_TIMEOUT_MS, attempts: int = DDL_ATTEMPTS,
            params: Mapping[str, Any] | None = None) -> Outcome:
    """Validate, then apply every pending file under the migration lock; then, when `months_ahead` is
    given, make sure the time-partitioned tables have their partitions (idempotent).

    Where the target has the citus extension (dom360db/citus.py; `files` rendered with `citus` true):
    roles and settings are prepared first, and the tenant tables distributed after the versioned files."""
    done: list[tuple[SqlFile, float]] = []
    params = params if params is not None else config.DEFAULTS
    with migration_lock(dsn, lock_timeout_s, progress):
        progress(f"migrating {describe(dsn)}")
        on_citus = citus.prepare(dsn, params, progress)
        if {f.params["citus"] for f in files if "citus" in f.params} - {on_citus}:
            raise Dom360Error(
                "the files were rendered for " + ("a single server" if on_citus else "Citus")
                + " but the target " + ("has" if on_citus else "has not") + " the citus extension: render them "
                "with the parameter citus set from the target (dom360db.citus.with_citus); nothing was applied")
        conn = connect(citus.migrate_dsn(dsn) if on_citus else dsn, application_name="dom360db migrate")
        # No server-side prepared statements: psycopg prepares a query run 5 times (every file's SET LOCAL ROLE,
        # RESET ROLE), and the DISCARD ALL after a no-transaction file deallocates them behind its back.
        conn.prepare_threshold = None
        try:
            _bootstrap(conn)
            applied = applied_files(conn)
            validate(files, applied)
            distributed = False
            for f in pending(files, applied, reapply=reapply):
                if on_citus and not distributed and f.kind == "repeatable":
                    citus.distribute(conn, params, progress)
                    distributed = True
                ms = apply_file(conn, f, lock_timeout_ms=ddl_lock_timeout_ms, attempts=attempts, progress=progress)
                done.append((f, ms))
                progress(f"applied {f.path} ({ms:.0f} ms)")
            if (scalar(conn, query("migrate.has_secure_database"))
                    and scalar(conn, query("migrate.secure_database")) is False):
                progress("warning: TEMPORARY on this database could not be revoked from the app role (migrate "
                         "as the database owner or a superuser); dom360db doctor reports it")
            if months_ahead is not None:
                created = scalar(conn, query("migrate.ensure_partitions"), {"months_ahead": months_ahead})
                if created:
                    progress(f"created {created} partition(s) of dom360.messages")
            if on_citus:
                citus.finish(conn, params)  # tables of this run's versioned files, if any left; shard grants
        finally:
            conn.close()
    owner = next((f.params["owner_role"] for f in files if "owner_role" in f.params), None)
    if owner is not None:
        _hand_over_run_lock(dsn, owner)
    return Outcome(done)


def _hand_over_run_lock(dsn: str, owner_role: str) -> None:
    """dom360db_meta.run_lock to the owner role, once released (the bootstrap creates it as the migrating login,
    before the owner role may exist). A migrate that holds it again meanwhile hands it over when it ends."""
    conn = connect(dsn, autocommit=False, application_name="dom360db migrate")
    try:
        if scalar(conn, query("migrate.run_lock_not_owned"), {"owner_role": owner_role}):
            conn.execute(query("migrate.file_lock_timeout"), {"ms": 2000})
            conn.execute(composed("migrate.hand_over_run_lock", owner=sql.Identifier(owner_role)))
        conn.commit()
    except psycopg.errors.LockNotAvailable:
        conn.rollback()
    finally:
        conn.close()
