"""`dom360db maintain`: the periodic job (cron): partitions ensured, summaries refreshed, posture checked.

Idempotent. The command holds `dom360.maintenance_lock` while it runs (dom360db/runlock.py: a lock no app
login may take); a second copy waits a bounded time for it, then fails naming the holder. Each step is the
same as its own command (`partitions ensure`, `refresh`, `doctor`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from dom360db import doctor, partitions
from dom360db.progress import Progress
from dom360db.queries import query
from dom360db.report import table as text_table
from dom360db.sqlfiles import SqlFile

#: The relation whose lock serializes maintain runs.
LOCK_TABLE = "dom360.maintenance_lock"


@dataclass
class Maintenance:
    partitions: partitions.Outcome = field(default_factory=partitions.Outcome)
    refresh_s: float = 0.0
    findings: list[doctor.Finding] = field(default_factory=list)

    def text(self) -> str:
        """A table of the steps and their results, then doctor's findings (if any)."""
        p = self.partitions
        steps = text_table(["step", "result"], [
            ["partitions ensure", f"{len(p.created)} created" + (f" ({', '.join(p.created)})" if p.created else "")],
            ["refresh", f"summaries refreshed in {self.refresh_s:.2f} s"],
            ["doctor", f"{len(self.findings)} finding(s)" if self.findings else "healthy"],
        ])
        return steps + ("\n\n" + doctor.findings_table(self.findings) if self.findings else "")


def run(conn: psycopg.Connection, params: Mapping[str, Any], files: Sequence[SqlFile], *, months_ahead: int,
        lock_timeout_ms: int, attempts: int, report: Progress = lambda s: None) -> Maintenance:
    """One maintenance pass on an autocommit connection (a superuser or a member of the owner role), under
    the maintenance lock (`runlock.held(dsn, LOCK_TABLE, …)`, held by the caller)."""
    done = Maintenance()
    for table in partitions.tables(conn):
        months = partitions.missing_months(conn, table, months_ahead)
        partitions.ensure(conn, table, months, lock_timeout_ms=lock_timeout_ms, attempts=attempts,
                          outcome=done.partitions, report=report)
    t0 = time.perf_counter()
    conn.execute(query("migrate.refresh_summary"))
    done.refresh_s = time.perf_counter() - t0
    done.findings = doctor.run(conn, params, files)
    return done
