"""Analytics at a year of data: what one month of a tenant with a long history costs.

Builds database dom360_bench_analytics: `--tenants` tenants, one of them ("big", slug bench-big) with
`--big-messages` messages (default 2M) over the current month and the 11 before it, the others sharing the rest
of `--messages` (default 10M); conversations of 50 or 51 alternating user/assistant messages (one in ten ends
with an unanswered question), 30 s to 30 min apart; stages on one conversation in three. Loaded set-based by
the superuser with session_replication_role = replica (no trigger), writing what the messages trigger would:
message numbers, the consumption counters, the response turns of schema/0100 (messages.turn_asked_at,
conversations.turn_asked_at).

Then, warm (each query run --warmup times first), the server time (EXPLAIN (ANALYZE, TIMING OFF) Execution Time,
median of --repeat) of one month (the previous full month) of:
- every dom360.tenant_* analytics function, as the app login with the big tenant set (target ≤ 50 ms);
- `dom360db report --month` (dom360db.analytics.fetch, in process: client time, all its queries);
- the analytics role's views for the month across all tenants, and dom360.response_turns_between(NULL, …);
- for comparison, the response times as they were computed before schema/0100 (window functions over the
  tenant's messages: dom360.analytics_response_turns filtered on the month, still that view's definition).
A script, not a test: figures are reported, never asserted.

    .venv/bin/python bench/analytics.py                       # embedded server in .dom360db/bench, 10M rows
    .venv/bin/python bench/analytics.py --messages 3000000    # the big tenant's 2M among 3M
    .venv/bin/python bench/analytics.py --reuse               # keep the loaded database of an earlier run
"""

from __future__ import annotations

import secrets
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import psycopg
from psycopg import conninfo, sql

from dom360db import analytics, config, migrate, sqlfiles
from dom360db.errors import Dom360Error

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
DB_NAME = "dom360_bench_analytics"
APP_LOGIN = "dom360_bench_app"
PARAMS: dict[str, Any] = dict(config.DEFAULTS)
TARGET_MS = 50.0
PER_CONVERSATION = 50
CHUNK_CONVERSATIONS = 10_000


def progress(message: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", file=sys.stderr, flush=True)


SETUP_SQL = [
    "CREATE SCHEMA bench",
    "CREATE TABLE bench.tenants (n integer PRIMARY KEY, tenant_id uuid NOT NULL, inbox_id uuid NOT NULL, "
    "conversations integer NOT NULL, first_conversation integer NOT NULL)",
    # tenant 1 is the big one
    """INSERT INTO bench.tenants (n, tenant_id, inbox_id, conversations, first_conversation)
       SELECT g.n, dom360.create_tenant(CASE g.n WHEN 1 THEN 'Bench big' ELSE 'Bench tenant ' || g.n END,
                                        CASE g.n WHEN 1 THEN 'bench-big' ELSE 'bench-' || g.n END),
              gen_random_uuid(), 0, 0
         FROM generate_series(1, %(tenants)s) AS g(n)""",
    """UPDATE bench.tenants SET conversations = CASE n WHEN 1 THEN %(big_conversations)s
                                                  ELSE %(other_conversations)s / (%(tenants)s - 1)
                                                       + (n - 2 < %(other_conversations)s %% (%(tenants)s - 1))::integer END""",
    """UPDATE bench.tenants AS t SET first_conversation = s.first
         FROM (SELECT n, 1 + coalesce(sum(conversations)
                                       OVER (ORDER BY n ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0) AS first
                 FROM bench.tenants) AS s WHERE s.n = t.n""",
    """INSERT INTO dom360.inboxes (tenant_id, id, name, channel)
       SELECT t.tenant_id, t.inbox_id, 'Site chat', 'web' FROM bench.tenants AS t""",
    # conversation n: tenant, start, gap, message count (51 for one in ten: its last question unanswered)
    """CREATE TABLE bench.conversations AS
       WITH w AS (SELECT (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '11 months') AT TIME ZONE 'UTC' AS lo)
       SELECT c.n, t.tenant_id, t.inbox_id, gen_random_uuid() AS id, g.gap,
              CASE WHEN c.n %% 10 = 0 THEN 51 ELSE 50 END AS messages,
              w.lo + random() * ((now() - w.lo) - 51 * g.gap) AS first_at
         FROM bench.tenants AS t
        CROSS JOIN LATERAL generate_series(t.first_conversation, t.first_conversation + t.conversations - 1) AS c(n)
        CROSS JOIN LATERAL (SELECT make_interval(secs => 30 + random() * 1770 + c.n * 0) AS gap) AS g
        CROSS JOIN w""",
    "ALTER TABLE bench.conversations ADD PRIMARY KEY (n)",
    """INSERT INTO dom360.conversations (tenant_id, id, inbox_id, external_id, status, agent_type, message_count, created_at,
                                        updated_at, first_message_at, last_message_at, turn_asked_at,
                                        last_turn_asked_at, response_turns_ready)
       SELECT r.tenant_id, r.id, r.inbox_id, 'load-customer-' || r.n, 'open',
              CASE WHEN r.n %% 3 = 0 THEN 'COPILOT' END, r.messages, r.first_at, l.last_at, r.first_at, l.last_at,
              CASE WHEN r.messages %% 2 = 1 THEN l.last_at END,
              r.first_at + (CASE WHEN r.messages %% 2 = 1 THEN r.messages - 3 ELSE r.messages - 2 END) * r.gap, true
         FROM bench.conversations AS r
        CROSS JOIN LATERAL (SELECT r.first_at + (r.messages - 1) * r.gap AS last_at) AS l""",
    # stages on one conversation in three: qualified after 2 hours, then one in two meeting_booked, then won/lost
    """INSERT INTO dom360.conversation_stages (tenant_id, conversation_id, stage, reached_at)
       SELECT r.tenant_id, r.id, s.stage, r.first_at + s.after
         FROM bench.conversations AS r
        CROSS JOIN LATERAL (VALUES ('qualified', interval '2 hours', true),
                                   ('meeting_booked', interval '1 day', r.n %% 2 = 0),
                                   ('won', interval '3 days', r.n %% 4 = 0),
                                   ('lost', interval '3 days', r.n %% 4 = 2)) AS s(stage, after, reached)
        WHERE r.n %% 3 = 1 AND s.reached""",
]

# Messages of conversations lo..hi and the counters the trigger would have written; j odd: user, even: assistant
# answering the question just before it (turn_asked_at = that question's created_at).
LOAD_SQL = """
WITH ins AS (
    INSERT INTO dom360.messages (tenant_id, conversation_id, inbox_id, message_index, role, content, input_tokens,
                                 output_tokens, created_at, turn_asked_at)
    SELECT r.tenant_id, r.id, r.inbox_id, j, CASE WHEN j %% 2 = 1 THEN 'user' ELSE 'assistant' END,
           left(%(text)s, 40 + (random() * 400)::integer),
           CASE WHEN j %% 2 = 1 THEN 20 + (random() * 380)::integer ELSE 200 + (random() * 2800)::integer END,
           CASE WHEN j %% 2 = 1 THEN 0 ELSE 20 + (random() * 580)::integer END,
           r.first_at + (j - 1) * r.gap + CASE WHEN j %% 2 = 0 THEN random() * interval '20 seconds' ELSE interval '0' END,
           CASE WHEN j %% 2 = 0 THEN r.first_at + (j - 2) * r.gap END
      FROM bench.conversations AS r CROSS JOIN LATERAL generate_series(1, r.messages) AS j
     WHERE r.n BETWEEN %(lo)s AND %(hi)s
    RETURNING tenant_id, inbox_id, conversation_id, created_at, input_tokens, output_tokens)
INSERT INTO dom360.consumption_inbox_daily_stripes AS s
       (tenant_id, inbox_id, day, agent_type, stripe, messages_count, input_tokens, output_tokens, total_tokens)
SELECT i.tenant_id, i.inbox_id, (i.created_at AT TIME ZONE 'UTC')::date, coalesce(c.agent_type, ''), 0,
       count(*), sum(i.input_tokens), sum(i.output_tokens), sum(i.input_tokens::bigint + i.output_tokens)
  FROM ins AS i JOIN dom360.conversations AS c ON c.tenant_id = i.tenant_id AND c.id = i.conversation_id
 GROUP BY 1, 2, 3, 4
ON CONFLICT (tenant_id, inbox_id, day, agent_type, stripe) DO UPDATE
   SET messages_count = s.messages_count + excluded.messages_count,
       input_tokens = s.input_tokens + excluded.input_tokens,
       output_tokens = s.output_tokens + excluded.output_tokens,
       total_tokens = s.total_tokens + excluded.total_tokens
"""

TEXT = ("Hello, I would like to know more about your plans and whether the premium tier includes priority support "
        "for our team of twelve people across three time zones. ") * 4

PARTITIONS_SQL = """
SELECT dom360.create_month_partition('dom360.messages'::regclass,
                                     (date_trunc('month', now() AT TIME ZONE 'UTC') - m * interval '1 month')::date)
  FROM generate_series(0, 11) AS m
"""


def explain_ms(conn: psycopg.Connection[Any], query: str, args: list[Any], warmup: int, repeat: int) -> float:
    stmt = "EXPLAIN (ANALYZE, TIMING OFF, FORMAT JSON) " + query
    for _ in range(warmup):
        conn.execute(stmt, args)
    times = [conn.execute(stmt, args).fetchone()[0][0]["Execution Time"] for _ in range(repeat)]  # type: ignore[index]
    return statistics.median(times)


def build(admin: psycopg.Connection[Any], bench_dsn: str, messages: int, big: int, tenants: int) -> None:
    big_conv = max(1, round(big / (PER_CONVERSATION + 0.1)))
    other_conv = max(tenants - 1, round((messages - big) / (PER_CONVERSATION + 0.1)))
    progress(f"setup: {tenants} tenants, {big_conv + other_conv:,} conversations ({big_conv:,} of the big tenant)")
    with psycopg.connect(bench_dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        with conn.transaction():
            conn.execute(PARTITIONS_SQL)
            for stmt in SETUP_SQL:
                conn.execute(stmt, {"tenants": tenants, "big_conversations": big_conv,
                                    "other_conversations": other_conv})
        total = big_conv + other_conv
        t0 = time.monotonic()
        for lo in range(1, total + 1, CHUNK_CONVERSATIONS):
            hi = min(total, lo + CHUNK_CONVERSATIONS - 1)
            conn.execute(LOAD_SQL, {"lo": lo, "hi": hi, "text": TEXT})
            spent = time.monotonic() - t0
            progress(f"loaded conversations {hi:,}/{total:,} ({hi * 50.1 / spent:,.0f} messages/s, "
                     f"about {spent / hi * (total - hi):.0f} s left)")
    progress("VACUUM (ANALYZE)")
    admin.execute("VACUUM (ANALYZE)")


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dsn", envvar="DATABASE_URL", help="A superuser DSN (default: the embedded server in --home).")
@click.option("--home", type=click.Path(path_type=Path), default=REPO_DIR / ".dom360db" / "bench", show_default=True)
@click.option("--messages", type=click.IntRange(1000), default=10_000_000, show_default=True)
@click.option("--big-messages", "big", type=click.IntRange(100), default=2_000_000, show_default=True)
@click.option("--tenants", type=click.IntRange(2), default=200, show_default=True)
@click.option("--warmup", type=click.IntRange(0), default=2, show_default=True)
@click.option("--repeat", type=click.IntRange(1), default=5, show_default=True)
@click.option("--reuse", is_flag=True, help="Keep database dom360_bench_analytics if it exists (skips the load).")
def main(dsn: str | None, home: Path, messages: int, big: int, tenants: int, warmup: int, repeat: int,
         reuse: bool) -> None:
    """Server time of one month of analytics for a tenant with a year of history."""
    server = None
    if dsn is None:
        from dom360db.embedded import EmbeddedServer

        server = EmbeddedServer(home.resolve(), progress=progress)
        was_running = server.info() is not None
        dsn = server.up(dbname="postgres").dsn
        if was_running:
            server = None
    try:
        run(dsn, messages, big, tenants, warmup, repeat, reuse)
    except (Dom360Error, psycopg.Error) as exc:
        print(f"bench: error: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        sys.exit(1)
    finally:
        if server is not None:
            server.down()


def run(dsn: str, messages: int, big: int, tenants: int, warmup: int, repeat: int, reuse: bool) -> None:
    bench_dsn = conninfo.make_conninfo(dsn, dbname=DB_NAME)
    t0 = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as root:
        exists = root.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DB_NAME]).fetchone() is not None
        fresh = not (reuse and exists)
        if fresh:
            root.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(DB_NAME)))
            root.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(DB_NAME)))
    outcome = migrate.migrate(bench_dsn, sqlfiles.load(PARAMS), months_ahead=PARAMS["months_ahead"],
                              progress=lambda s: None)
    progress(f"migrate: {outcome.summary}")
    password = secrets.token_urlsafe(24)
    with psycopg.connect(bench_dsn, autocommit=True) as admin:
        if fresh:
            build(admin, bench_dsn, messages, big, tenants)
        load_s = time.monotonic() - t0
        exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [APP_LOGIN]).fetchone()
        admin.execute(sql.SQL("{} ROLE {} LOGIN PASSWORD {}").format(
            sql.SQL("ALTER" if exists else "CREATE"), sql.Identifier(APP_LOGIN), sql.Literal(password)))
        admin.execute(sql.SQL("GRANT {} TO {}").format(sql.Identifier(PARAMS["app_role"]), sql.Identifier(APP_LOGIN)))
        big_id, rows, big_rows = admin.execute(
            "SELECT t.tenant_id, (SELECT count(*) FROM dom360.messages), "
            "(SELECT count(*) FROM dom360.messages AS m WHERE m.tenant_id = t.tenant_id) FROM bench.tenants AS t WHERE n = 1"
        ).fetchone()  # type: ignore[misc]
        size = admin.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]  # type: ignore[index]
        today = datetime.now(UTC).date()
        first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)  # the previous, full month
        last = today.replace(day=1) - timedelta(days=1)
        month_rows = admin.execute(
            "SELECT count(*) FROM dom360.messages AS m WHERE m.tenant_id = %s AND m.created_at >= %s AND m.created_at < %s",
            [big_id, first, last + timedelta(days=1)]).fetchone()[0]  # type: ignore[index]
        progress(f"database: {rows:,} messages ({size}); big tenant {big_rows:,}, {month_rows:,} in {first:%Y-%m}")

        results: list[tuple[str, float]] = []
        app_dsn = conninfo.make_conninfo(bench_dsn, user=APP_LOGIN, password=password)
        with psycopg.connect(app_dsn) as app:
            app.execute("SELECT dom360.set_tenant(%s)", [big_id])
            for fn in ("tenant_response_times", "tenant_usage_daily", "tenant_cost_daily", "tenant_lead_funnel"):
                ms = explain_ms(app, f"SELECT * FROM dom360.{fn}(%s, %s)", [first, last], warmup, repeat)
                results.append((f"app: dom360.{fn}(month)", ms))
                progress(f"{fn}: {ms:.1f} ms")
            for fn in ("tenant_usage", "tenant_consumption_summary"):
                try:
                    ms = explain_ms(app, f"SELECT * FROM dom360.{fn}()", [], warmup, repeat)
                    results.append((f"app: dom360.{fn}() (no range: whole tenant)", ms))
                except psycopg.Error as exc:
                    app.rollback()
                    app.execute("SELECT dom360.set_tenant(%s)", [big_id])
                    progress(f"{fn}: {str(exc).splitlines()[0]}")
            app.rollback()
        analytics_role = sql.Identifier(PARAMS["analytics_role"])
        with admin.transaction():
            admin.execute(sql.SQL("SET LOCAL ROLE {}").format(analytics_role))
            for label, query, args in [
                ("analytics: analytics_usage_daily, month, all tenants",
                 "SELECT * FROM dom360.analytics_usage_daily WHERE day BETWEEN %s AND %s", [first, last]),
                ("analytics: analytics_cost_daily, month, all tenants",
                 "SELECT * FROM dom360.analytics_cost_daily WHERE day BETWEEN %s AND %s", [first, last]),
                ("analytics: analytics_lead_funnel, month, all tenants",
                 "SELECT * FROM dom360.analytics_lead_funnel WHERE month = %s", [first]),
                ("analytics: response_turns_between(NULL, month) per tenant and day, all tenants",
                 "SELECT tenant_id, (asked_at AT TIME ZONE 'UTC')::date, agent_type, count(*), "
                 "percentile_cont(0.5) WITHIN GROUP (ORDER BY response_seconds) "
                 "FROM dom360.response_turns_between(NULL, %s, %s) GROUP BY 1, 2, 3", [first, last]),
                ("analytics: analytics_response_daily, month, all tenants (a view: reads every month)",
                 "SELECT * FROM dom360.analytics_response_daily WHERE day BETWEEN %s AND %s", [first, last]),
                ("before schema/0100: response times of the big tenant's month by window functions (analytics_response_turns)",
                 "SELECT agent_type, count(*), percentile_cont(0.5) WITHIN GROUP (ORDER BY response_seconds) "
                 "FROM dom360.analytics_response_turns WHERE tenant_id = %s "
                 "AND asked_at >= %s::date::timestamp AT TIME ZONE 'UTC' "
                 "AND asked_at < (%s::date + 1)::timestamp AT TIME ZONE 'UTC' GROUP BY 1", [big_id, first, last]),
            ]:
                ms = explain_ms(admin, query, args, min(warmup, 1), max(1, min(repeat, 3)))
                results.append((label, ms))
                progress(f"{label}: {ms:.1f} ms")
        times = []
        for i in range(warmup + repeat):
            t = time.perf_counter()
            analytics.fetch(admin, "bench-big", first, PARAMS["analytics_role"])
            if i >= warmup:
                times.append((time.perf_counter() - t) * 1000)
        results.append(("dom360db report --month (analytics.fetch: every query, client time)", statistics.median(times)))

    print(f"# Analytics at a year of data ({datetime.now(UTC):%Y-%m-%d %H:%M} UTC)\n")
    print(f"{rows:,} messages ({size}), {tenants} tenants; the big tenant: {big_rows:,} messages over 12 months, "
          f"{month_rows:,} in the month measured ({first:%Y-%m}). Build + load {load_s:.0f} s"
          f"{'' if fresh else ' (reused)'}. Warm: {warmup} runs, then the median of {repeat} "
          "(EXPLAIN ANALYZE Execution Time, server side; report: client time).\n")
    print("| query | ms | target |")
    print("|---|---:|---|")
    for label, ms in results:
        target = f"≤ {TARGET_MS:.0f} ms" if label.startswith(("app:", "dom360db report")) else ""
        mark = "" if not target else (" ok" if ms <= TARGET_MS else " over")
        print(f"| {label} | {ms:,.1f} | {target}{mark} |")


if __name__ == "__main__":
    main()
