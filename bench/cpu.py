"""CPU seconds from /proc while a scenario runs: the machine's, the local server's (its postmaster and every
process it started), pgbench's (this script's children) and this script's own."""

from __future__ import annotations

import os
import resource
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg

from dom360db.connect import scalar

_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _stat_fields(pid: int | str) -> list[str] | None:
    """/proc/<pid>/stat after the command name (field 3 onwards), or None."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


@dataclass(frozen=True)
class CpuSnapshot:
    """CPU seconds so far: the machine (busy, capacity), the local server (postmaster, its live children and the
    children it already reaped), this script's children (pgbench) and this script itself."""

    busy: float
    capacity: float
    server: float | None
    children: float
    own: float


def cpu_snapshot(postmaster: int | None) -> CpuSnapshot | None:
    try:
        head = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    except OSError:
        return None
    ticks = [float(x) for x in head]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0.0)  # idle + iowait
    server: float | None = None
    if postmaster is not None:
        f = _stat_fields(postmaster)
        if f is not None:
            server = sum(int(x) for x in f[11:15]) / _TICK  # utime, stime, cutime, cstime
            for d in Path("/proc").iterdir():
                if d.name.isdigit():
                    c = _stat_fields(d.name)
                    if c is not None and c[1] == str(postmaster):
                        server += (int(c[11]) + int(c[12])) / _TICK
    ch, me = resource.getrusage(resource.RUSAGE_CHILDREN), resource.getrusage(resource.RUSAGE_SELF)
    return CpuSnapshot((sum(ticks) - idle) / _TICK, sum(ticks) / _TICK, server, ch.ru_utime + ch.ru_stime,
                       me.ru_utime + me.ru_stime)


def local_postmaster(conn: psycopg.Connection[Any]) -> int | None:
    """The pid of the server's postmaster when it runs on this machine and its data directory is readable."""
    try:
        data_dir = scalar(conn, "SHOW data_directory")
        pid = int(Path(data_dir, "postmaster.pid").read_text().split("\n", 1)[0])
        if b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    except (OSError, ValueError, psycopg.Error):
        pass
    return None
