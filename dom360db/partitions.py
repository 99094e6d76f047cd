"""Monthly partitions: list, ensure (create ahead, move parked rows), retain (detach and drop old months).

The SQL does the work: `dom360.missing_month_partitions()` says what is missing, `dom360.create_month_partition()`
creates one month (its DDL, `dom360.month_partition_ddl()`, is rendered from `sql/partitions/_month.jinja`).
This module visits the months, one short transaction each, bounds every lock wait with `lock_timeout`,
retries a month whose lock was not granted in time, and reports.

Retention detaches a partition, then drops it (unless `detach_only`). `DETACH … CONCURRENTLY` never blocks
writers, but PostgreSQL refuses it on a table with a default partition, which `dom360.messages` has (see the
docs/operations.md, "Partitions"): there a plain DETACH runs, which needs a moment of ACCESS EXCLUSIVE on the parent; it
waits at most `lock_timeout` (queued writers wait behind it no longer than that), then gives up and retries.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime

import psycopg
from psycopg import errors, sql

from dom360db.connect import scalar
from dom360db.errors import Dom360Error
from dom360db.progress import Progress, Step
from dom360db.queries import query
from dom360db.report import table as text_table

RETRY_PAUSE_S = 0.5


@dataclass(frozen=True)
class Table:
    parent: str  # regclass text, e.g. "dom360.messages"
    default_partition: str | None


@dataclass(frozen=True)
class Partition:
    parent: str
    partition: str
    range_from: datetime | None
    range_to: datetime | None
    is_default: bool
    estimated_rows: int | None
    total_bytes: int
    detach_pending: bool

    @property
    def range_label(self) -> str:
        if self.is_default:
            return "DEFAULT (dated outside every other partition)"
        assert self.range_from is not None and self.range_to is not None
        return f"{self.range_from:%Y-%m-%d} .. {self.range_to:%Y-%m-%d}"

    def as_dict(self, parked: dict[str, int]) -> dict[str, object]:
        """`partitions list --json`: one partition (`parked`: rows in each default partition, by name)."""
        return {"parent": self.parent, "partition": self.partition,
                "from": self.range_from.isoformat() if self.range_from else None,
                "to": self.range_to.isoformat() if self.range_to else None,
                "default": self.is_default, "estimated_rows": self.estimated_rows,
                "rows": parked.get(self.partition) if self.is_default else None,
                "total_bytes": self.total_bytes, "detach_pending": self.detach_pending}

    def row(self, parked: dict[str, int]) -> list[object]:
        """`partitions list`: one row of the table (`parked`: rows in each default partition, by name)."""
        rows = parked.get(self.partition) if self.is_default else (
            "?" if self.estimated_rows is None else f"{self.estimated_rows:,}")
        note = ("DETACH pending (retain finishes it)" if self.detach_pending
                else ("rows to move: run partitions ensure" if self.is_default and parked.get(self.partition) else None))
        return [self.parent, self.partition, self.range_label, rows, human_bytes(self.total_bytes), note]


def listing(parts: list[Partition], parked: dict[str, int], *, as_json: bool) -> str:
    """`partitions list`: a table (or JSON) of the partitions; `parked`: rows in each default partition, by name."""
    if as_json:
        return json.dumps([p.as_dict(parked) for p in parts], indent=2)
    return text_table(["table", "partition", "range (UTC)", "rows (est.)", "size", "note"], [p.row(parked) for p in parts])


@dataclass
class Outcome:
    created: list[str] = field(default_factory=list)  # "dom360.messages 2027-01"
    existing: int = 0  # created meanwhile by someone else
    detached: list[str] = field(default_factory=list)
    detach_modes: dict[str, str] = field(default_factory=dict)  # partition: "CONCURRENTLY", "plain" or "FINALIZE"
    dropped: list[str] = field(default_factory=list)
    retries: int = 0

    def created_text(self) -> str:
        """`partitions ensure`: each partition created, then the counts."""
        lines = [f"created {label}" for label in self.created]
        return "\n".join([*lines, f"{len(self.created)} partition(s) created, {self.existing} already there"
                                   f"{self.retries_note}"])

    def retained_text(self) -> str:
        """`partitions retain`: each partition detached (and dropped), how, then the counts."""
        lines = []
        for name in self.detached:
            how = f"(DETACH {self.detach_modes[name]})".replace("DETACH plain", "plain DETACH")
            lines.append(f"{'dropped' if name in self.dropped else 'detached (kept as a table)'} {name} {how}")
        return "\n".join([*lines, f"{len(self.detached)} detached, {len(self.dropped)} dropped{self.retries_note}"])

    @property
    def retries_note(self) -> str:
        """", 2 lock retries" for a summary line; empty when every lock came at once."""
        if not self.retries:
            return ""
        return f", {self.retries} lock retr{'y' if self.retries == 1 else 'ies'}"


def tables(conn: psycopg.Connection) -> list[Table]:
    return [Table(*row) for row in conn.execute(query("partitions.tables"))]


def table_named(conn: psycopg.Connection, name: str | None) -> list[Table]:
    """Every monthly-partitioned table, or the one named (`messages` or `dom360.messages`)."""
    found = tables(conn)
    if name is None:
        return found
    wanted = name if "." in name else f"dom360.{name}"
    match = [t for t in found if t.parent == wanted]
    if not match:
        names = ", ".join(t.parent for t in found) or "none"
        raise Dom360Error(f"{name} is not a table partitioned by month (those are: {names})")
    return match


def list_partitions(conn: psycopg.Connection, table: Table) -> list[Partition]:
    return [Partition(*row) for row in conn.execute(query("partitions.list"), {"parent": table.parent})]


def missing_months(conn: psycopg.Connection, table: Table, months_ahead: int) -> list[date]:
    args = {"parent": table.parent, "months_ahead": months_ahead}
    return [r[0] for r in conn.execute(query("partitions.missing_months"), args)]


def month_ddl(conn: psycopg.Connection, table: Table, month: date) -> str:
    return scalar(conn, query("partitions.month_ddl"), {"parent": table.parent, "month": month})


@contextmanager
def _bounded(conn: psycopg.Connection, lock_timeout_ms: int) -> Iterator[None]:
    with conn.transaction():
        conn.execute(query("partitions.lock_timeout"), {"ms": str(lock_timeout_ms)})
        yield


def _with_retries(what: str, attempts: int, outcome: Outcome, report: Progress, step: Step) -> None:
    """Run `step`; when a lock was not granted within lock_timeout, pause and try again (up to `attempts`)."""
    for attempt in range(1, attempts + 1):
        try:
            step()
            return
        except errors.LockNotAvailable:
            if attempt == attempts:
                raise Dom360Error(f"{what}: lock not granted after {attempts} attempt(s); the database is unchanged "
                                  "for this step (run again later, or raise --lock-timeout / --attempts)") from None
            outcome.retries += 1
            report(f"{what}: lock not granted in time (attempt {attempt}/{attempts}); retrying")
            time.sleep(RETRY_PAUSE_S * attempt)


def ensure(conn: psycopg.Connection, table: Table, months: list[date], *, lock_timeout_ms: int, attempts: int,
           outcome: Outcome, advance: Step = lambda: None, report: Progress = lambda s: None) -> None:
    """Create the partition of each month (moving its rows out of the default partition), one transaction each."""
    for month in months:
        label = f"{table.parent} {month:%Y-%m}"

        def step(month: date = month, label: str = label) -> None:
            with _bounded(conn, lock_timeout_ms):
                made = scalar(conn, query("partitions.create_month"), {"parent": table.parent, "month": month})
            if made:
                outcome.created.append(label)
            else:
                outcome.existing += 1

        _with_retries(f"create {label}", attempts, outcome, report, step)
        advance()


def _qualified(name: str) -> sql.Identifier:
    schema, _, rel = name.rpartition(".")
    return sql.Identifier(schema.strip('"') or "dom360", rel.strip('"'))


def expired(conn: psycopg.Connection, table: Table, keep_months: int) -> list[str]:
    return [r[0] for r in conn.execute(query("partitions.expired"), {"parent": table.parent, "keep_months": keep_months})]


def retain(conn: psycopg.Connection, table: Table, partitions: list[str], *, detach_only: bool, lock_timeout_ms: int,
           attempts: int, outcome: Outcome, advance: Step = lambda: None, report: Progress = lambda s: None) -> None:
    """Detach each partition (CONCURRENTLY when the server allows it), then drop it unless `detach_only`.

    `conn` must be in autocommit mode (DETACH … CONCURRENTLY cannot run inside a transaction block).
    """
    parent = _qualified(table.parent)
    concurrently = table.default_partition is None
    pending = {r[0] for r in conn.execute(query("partitions.detach_pending"), {"parent": table.parent})}
    for name in partitions:
        part = _qualified(name)

        def detach(name: str = name, part: sql.Identifier = part) -> None:
            mode = "FINALIZE" if name in pending else "CONCURRENTLY" if concurrently else "plain"
            stmt = sql.SQL("ALTER TABLE {} DETACH PARTITION {}").format(parent, part)
            if mode != "plain":  # FINALIZE completes an interrupted DETACH … CONCURRENTLY
                stmt = sql.SQL("{} {}").format(stmt, sql.SQL(mode))
            if mode != "plain":  # outside a transaction block; the session setting bounds the wait
                conn.execute(query("migrate.session_lock_timeout"), {"ms": str(lock_timeout_ms)})
                try:
                    conn.execute(stmt)
                finally:
                    conn.execute("RESET lock_timeout")
            else:
                with _bounded(conn, lock_timeout_ms):
                    conn.execute(stmt)
            outcome.detached.append(name)
            outcome.detach_modes[name] = mode

        _with_retries(f"detach {name}", attempts, outcome, report, detach)
        if detach_only:
            comment = (f"Detached from {table.parent} by `dom360db partitions retain --detach-only` on "
                       f"{datetime.now().astimezone():%Y-%m-%d %H:%M %Z}: no longer reachable through the parent. "
                       "Archive it (pg_dump -t) and drop it.")
            conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(part, sql.Literal(comment)))
        else:
            def drop(part: sql.Identifier = part) -> None:
                with _bounded(conn, lock_timeout_ms):
                    conn.execute(sql.SQL("DROP TABLE {}").format(part))

            _with_retries(f"drop {name}", attempts, outcome, report, drop)
            outcome.dropped.append(name)
        advance()


def default_rows(conn: psycopg.Connection) -> list[tuple[str, int, datetime | None, datetime | None]]:
    return [tuple(r) for r in conn.execute(query("partitions.default_rows"))]  # type: ignore[misc]


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    raise AssertionError("unreachable")
