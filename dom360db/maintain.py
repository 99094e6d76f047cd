"""`dom360db maintain`: the periodic job (cron): partitions ensured, summaries refreshed, posture checked.

Idempotent, and advisory-locked: a second copy started while one runs does nothing (it reports which
backend holds the lock). Each step is the same as its own command (`partitions ensure`, `refresh`,
`doctor`).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import psycopg

from dom360db import doctor, partitions
from dom360db.queries import query
from dom360db.sqlfiles import SqlFile


@dataclass
class Maintenance:
    ran: bool = True
    holder_pid: int | None = None  # when another copy holds the lock
    partitions: partitions.Outcome = field(default_factory=partitions.Outcome)
    refresh_s: float = 0.0
    findings: list[doctor.Finding] = field(default_factory=list)


def run(conn: psycopg.Connection, params: Mapping[str, Any], files: Sequence[SqlFile], *, months_ahead: int,
        lock_timeout_ms: int, attempts: int, report: partitions.Report = lambda s: None) -> Maintenance:
    """One maintenance pass on an autocommit connection (a superuser or a member of the owner role)."""
    if not conn.execute(partitions.query("try_maintain_lock")).fetchone()[0]:  # type: ignore[index]
        holder = conn.execute(partitions.query("maintain_lock_holder")).fetchone()
        return Maintenance(ran=False, holder_pid=holder[0] if holder else None)
    try:
        done = Maintenance()
        for table in partitions.tables(conn):
            months = partitions.missing_months(conn, table, months_ahead)
            partitions.ensure(conn, table, months, lock_timeout_ms=lock_timeout_ms, attempts=attempts,
                              outcome=done.partitions, report=report)
        t0 = time.perf_counter()
        conn.execute(query("refresh_summary"))
        done.refresh_s = time.perf_counter() - t0
        done.findings = doctor.run(conn, params, files)
        return done
    finally:
        conn.execute(partitions.query("maintain_unlock"))
