"""The pgbench runs: a scenario (script, login, -D values), its run (TPS, per-transaction latencies from pgbench's
--log, per-statement averages, wait events, CPU, WAL, multixacts, table activity), and the rounds of several
scenarios interleaved."""

from __future__ import annotations

import math
import os
import re
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo

from bench.common import BENCH_DIR, progress, q
from bench.cpu import cpu_snapshot
from dom360db.connect import scalar

SCENARIO_DIGIT = {"a": 1, "b": 2, "c": 3, "d1": 4, "d2": 5, "p0": 6, "p1": 7, "sb": 8, "sc": 9}


WAIT_SAMPLE_S = 0.05


@dataclass
class RunArgs:
    dsn: str | None
    home: Path
    seconds: int
    rounds: int
    rows: int
    clients: int
    threads: int
    tenants: int
    per_tenant: int
    per_conversation: int
    samples: int
    protocol: str
    reuse: bool
    keep_server: bool
    results: Path
    pgbench: str = ""


@dataclass
class Scenario:
    key: str
    title: str
    script: str
    login: str  # "admin" or "app"
    defines: dict[str, str]


@dataclass
class BenchRun:
    scenario: Scenario
    tps: float = 0.0
    processed: int = 0
    failed: int = 0
    latency_avg_ms: float = math.nan
    latencies_ms: list[float] = field(default_factory=list)
    statements: list[tuple[float, int, str]] = field(default_factory=list)
    waits: Counter[str] = field(default_factory=Counter)
    wait_samples: int = 0
    errors: list[str] = field(default_factory=list)
    wal_bytes: int = 0
    multixacts: int = 0
    table_deltas: dict[str, tuple[int, int, int]] = field(default_factory=dict)
    rows_written: int | None = None
    seconds: float = 0.0
    tps_rounds: list[float] = field(default_factory=list)
    cpu: dict[str, float] = field(default_factory=dict)  # CPU seconds: machine, capacity, server, pgbench, other


def merge(runs: Sequence[BenchRun]) -> BenchRun:
    """One scenario's rounds as one run: sums, all latencies, statement averages weighted by transactions."""
    first = runs[0]
    if len(runs) == 1:
        return first
    out = BenchRun(first.scenario)
    for r in runs:
        out.processed += r.processed
        out.failed += r.failed
        out.latencies_ms += r.latencies_ms
        out.waits.update(r.waits)
        out.wait_samples += r.wait_samples
        out.errors += r.errors
        out.wal_bytes += r.wal_bytes
        out.multixacts += r.multixacts
        out.seconds += r.seconds
        out.tps_rounds += r.tps_rounds
        for k, v in r.cpu.items():
            out.cpu[k] = out.cpu.get(k, 0.0) + v
        for k, d in r.table_deltas.items():
            old = out.table_deltas.get(k, (0, 0, 0))
            out.table_deltas[k] = (old[0] + d[0], old[1] + d[1], old[2] + d[2])
    out.tps = statistics.median(out.tps_rounds)
    out.latency_avg_ms = sum(r.latency_avg_ms * r.processed for r in runs) / max(1, out.processed)
    out.statements = [
        (sum(r.statements[i][0] * r.processed for r in runs) / max(1, out.processed),
         sum(r.statements[i][1] for r in runs), st[2])
        for i, st in enumerate(first.statements)
        if all(len(r.statements) == len(first.statements) for r in runs)
    ]
    return out


class WaitSampler(threading.Thread):
    """Polls pg_stat_activity every WAIT_SAMPLE_S for the pgbench backends: a wait-event profile of the run."""

    def __init__(self, dsn: str) -> None:
        super().__init__(daemon=True)
        self.dsn = dsn
        self.stop = threading.Event()
        self.counts: Counter[str] = Counter()
        self.samples = 0

    def run(self) -> None:
        with psycopg.connect(self.dsn, autocommit=True, application_name="dom360 bench sampler") as conn:
            while not self.stop.wait(WAIT_SAMPLE_S):
                for event, n in conn.execute(q("server.waits")).fetchall():
                    self.counts[event] += n
                    self.samples += n


def run_pgbench(
    scenario: Scenario, *, dsn: str, args: RunArgs, admin_dsn: str, logdir: Path, label: str
) -> BenchRun:
    params = conninfo.conninfo_to_dict(dsn)
    password = params.pop("password", None)
    env = dict(os.environ)
    if password is not None:
        env["PGPASSWORD"] = str(password)
    prefix = logdir / label
    cmd = [
        args.pgbench, "-n", "-M", args.protocol, "-c", str(args.clients), "-j", str(args.threads),
        "-T", str(args.seconds), "-r", "-P", str(max(1, min(10, args.seconds // 3 or 1))), "-l",
        f"--log-prefix={prefix}", "-f", str(BENCH_DIR / scenario.script),
    ]
    for k, v in scenario.defines.items():
        cmd += ["-D", f"{k}={v}"]
    cmd.append(conninfo.make_conninfo(**params))  # pgbench takes a connection string as dbname
    progress(f"({label}) {scenario.title}: pgbench -c {args.clients} -j {args.threads} -T {args.seconds}")
    sampler = WaitSampler(admin_dsn)
    sampler.start()
    errors: list[str] = []
    try:
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stderr is not None and proc.stdout is not None

        def tee() -> None:
            assert proc.stderr is not None
            for line in proc.stderr:
                line = line.rstrip()
                if line.startswith("progress:"):
                    progress(f"({label}) {line}")
                elif line:
                    errors.append(line)
                    print(f"  pgbench: {line}", file=sys.stderr, flush=True)

        t = threading.Thread(target=tee, daemon=True)
        t.start()
        out = proc.stdout.read()
        proc.wait()
        t.join()
    finally:
        sampler.stop.set()
        sampler.join()
    run = BenchRun(scenario, waits=sampler.counts, wait_samples=sampler.samples, errors=errors, seconds=args.seconds)
    for pattern, attr, conv in (
        (r"^tps = ([\d.]+) \(without initial connection time\)", "tps", float),
        (r"^number of transactions actually processed: (\d+)", "processed", int),
        (r"^number of failed transactions: (\d+)", "failed", int),
        (r"^latency average = ([\d.]+) ms", "latency_avg_ms", float),
    ):
        m = re.search(pattern, out, re.M)
        if m:
            setattr(run, attr, conv(m.group(1)))
    section = out.split("statement latencies in milliseconds and failures:", 1)
    if len(section) == 2:
        for line in section[1].splitlines():
            m = re.match(r"^\s+([\d.]+)\s+(\d+)\s+(.*)$", line)
            if m:
                run.statements.append((float(m.group(1)), int(m.group(2)), m.group(3).strip()))
    for path in sorted(logdir.glob(f"{label}.*")):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) >= 3 and parts[2].isdigit():
                run.latencies_ms.append(int(parts[2]) / 1000.0)
    if proc.returncode != 0 or run.processed == 0:
        detail = "; ".join(errors[-3:]) or out.strip().splitlines()[-1:] or "no output"
        progress(f"({label}) pgbench exited with status {proc.returncode}: {detail}")
    run.tps_rounds = [run.tps]
    progress(f"({label}) {run.tps:.0f} tps, {run.processed} transactions, {run.failed} failed")
    return run


def checkpoint_state(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """CHECKPOINT, then (current WAL position in bytes, next multixact id)."""
    conn.execute("CHECKPOINT")
    row = conn.execute(q("server.wal_and_multixact")).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def table_stats(conn: psycopg.Connection[Any]) -> dict[str, tuple[int, int, int]]:
    conn.execute("SELECT pg_stat_force_next_flush()")  # this session's own pending counts (the setup's inserts)
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in conn.execute(q("server.table_stats")).fetchall()}


def timed_run(
    scenario: Scenario,
    *,
    args: RunArgs,
    admin: psycopg.Connection[Any],
    admin_dsn: str,
    dsn: str,
    logdir: Path,
    label: str,
    postmaster: int | None,
) -> BenchRun:
    stats0 = table_stats(admin)
    wal0, mx0 = checkpoint_state(admin)
    cpu0 = cpu_snapshot(postmaster)
    run = run_pgbench(scenario, dsn=dsn, args=args, admin_dsn=admin_dsn, logdir=logdir, label=label)
    cpu1 = cpu_snapshot(postmaster)
    if cpu0 and cpu1:
        run.cpu = {"machine": cpu1.busy - cpu0.busy, "capacity": cpu1.capacity - cpu0.capacity,
                   "pgbench": cpu1.children - cpu0.children, "bench": cpu1.own - cpu0.own}
        if cpu0.server is not None and cpu1.server is not None:
            run.cpu["server"] = cpu1.server - cpu0.server
    wal1 = scalar(admin, q("server.wal_position"))
    time.sleep(1.0)  # pgbench's backends report their table statistics when they exit
    _, mx1 = checkpoint_state(admin)
    stats1 = table_stats(admin)
    run.wal_bytes, run.multixacts = int(wal1) - wal0, mx1 - mx0
    run.table_deltas = {
        k: tuple(b - a for a, b in zip(stats0.get(k, (0, 0, 0)), v, strict=True))  # type: ignore[misc]
        for k, v in stats1.items()
    }
    return run


def tag_prefix(key: str, run_id: str) -> str:
    """The start of the request ids a scenario's transactions store: a scenario digit and the run's timestamp."""
    return f"{SCENARIO_DIGIT[key]}{run_id}"


def rounds(
    scenarios: Sequence[Scenario],
    *,
    args: RunArgs,
    admin: psycopg.Connection[Any],
    bench_dsn: str,
    app_dsn: str,
    logdir: Path,
    run_id: str,
    postmaster: int | None,
) -> dict[str, BenchRun]:
    """Every scenario once per round, interleaved (a, b, c, a, b, c…), so that a change in the machine's load
    hits them alike; merged per scenario. Request ids (tag) are unique per scenario, run and round."""
    done: dict[str, list[BenchRun]] = {s.key: [] for s in scenarios}
    for rnd in range(1, args.rounds + 1):
        for s in scenarios:
            label = s.key if args.rounds == 1 else f"{s.key}{rnd}"
            # Digits only, so that the scripts work with -M simple too (pgbench substitutes raw text there).
            scenario = Scenario(s.key, s.title, s.script, s.login, {**s.defines, "tag": f"{tag_prefix(s.key, run_id)}{rnd}"})
            done[s.key].append(timed_run(
                scenario, args=args, admin=admin, admin_dsn=bench_dsn, logdir=logdir, label=label,
                dsn=bench_dsn if s.login == "admin" else app_dsn, postmaster=postmaster,
            ))
    return {k: merge(v) for k, v in done.items()}
