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

    .venv/bin/python -m bench.analytics                       # embedded server in .dom360db/bench, 10M rows
    .venv/bin/python -m bench.analytics --messages 3000000    # the big tenant's 2M among 3M
    .venv/bin/python -m bench.analytics --reuse               # keep the loaded database of an earlier run
"""

from __future__ import annotations

import secrets
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import click
import psycopg
from psycopg import conninfo, sql

from bench.common import APP_LOGIN, PARAMS, REPO_DIR, progress, q, run_steps, superuser_dsn
from dom360db import analytics, migrate, sqlfiles
from dom360db.connect import scalar
from dom360db.logins import ensure_login

DB_NAME = "dom360_bench_analytics"
TARGET_MS = 50.0
PER_CONVERSATION = 50
CHUNK_CONVERSATIONS = 10_000


TEXT = ("Hello, I would like to know more about your plans and whether the premium tier includes priority support "
        "for our team of twelve people across three time zones. ") * 4

def explain_ms(conn: psycopg.Connection[Any], query: sql.Composable, args: list[Any], warmup: int, repeat: int) -> float:
    stmt = q("analytics.explain", query=query)
    for _ in range(warmup):
        conn.execute(stmt, args)
    times = [scalar(conn, stmt, args)[0]["Execution Time"] for _ in range(repeat)]
    return statistics.median(times)


def build(admin: psycopg.Connection[Any], bench_dsn: str, messages: int, big: int, tenants: int) -> None:
    big_conv = max(1, round(big / (PER_CONVERSATION + 0.1)))
    other_conv = max(tenants - 1, round((messages - big) / (PER_CONVERSATION + 0.1)))
    progress(f"setup: {tenants} tenants, {big_conv + other_conv:,} conversations ({big_conv:,} of the big tenant)")
    with psycopg.connect(bench_dsn, autocommit=True) as conn:
        conn.execute("SET session_replication_role = replica")
        with conn.transaction():
            run_steps(conn, "analytics_setup", {"tenants": tenants, "big_conversations": big_conv,
                                                "other_conversations": other_conv})
        total = big_conv + other_conv
        t0 = time.monotonic()
        for lo in range(1, total + 1, CHUNK_CONVERSATIONS):
            hi = min(total, lo + CHUNK_CONVERSATIONS - 1)
            conn.execute(q("analytics.load"), {"lo": lo, "hi": hi, "text": TEXT})
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
    with superuser_dsn(dsn, home.resolve()) as admin_dsn:
        run(admin_dsn, messages, big, tenants, warmup, repeat, reuse)


def run(dsn: str, messages: int, big: int, tenants: int, warmup: int, repeat: int, reuse: bool) -> None:
    bench_dsn = conninfo.make_conninfo(dsn, dbname=DB_NAME)
    t0 = time.monotonic()
    with psycopg.connect(dsn, autocommit=True) as root:
        exists = root.execute(q("analytics.database_exists"), [DB_NAME]).fetchone() is not None
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
        ensure_login(admin, APP_LOGIN, PARAMS["app_role"], password)
        big_id, rows, big_rows, size = admin.execute(q("analytics.sizes")).fetchone()  # type: ignore[misc]
        today = datetime.now(UTC).date()
        first = (today.replace(day=1) - timedelta(days=1)).replace(day=1)  # the previous, full month
        last = today.replace(day=1) - timedelta(days=1)
        month_rows = scalar(admin, q("analytics.month_rows"), [big_id, first, last + timedelta(days=1)])
        progress(f"database: {rows:,} messages ({size}); big tenant {big_rows:,}, {month_rows:,} in {first:%Y-%m}")

        results: list[tuple[str, float]] = []
        app_dsn = conninfo.make_conninfo(bench_dsn, user=APP_LOGIN, password=password)
        with psycopg.connect(app_dsn) as app:
            app.execute("SELECT dom360.set_tenant(%s)", [big_id])
            for fn in ("tenant_response_times", "tenant_usage_daily", "tenant_cost_daily", "tenant_lead_funnel"):
                ms = explain_ms(app, q("analytics.ranged", function=sql.Identifier("dom360", fn)), [first, last], warmup, repeat)
                results.append((f"app: dom360.{fn}(month)", ms))
                progress(f"{fn}: {ms:.1f} ms")
            for fn in ("tenant_usage", "tenant_consumption_summary"):
                try:
                    ms = explain_ms(app, q("analytics.whole", function=sql.Identifier("dom360", fn)), [], warmup, repeat)
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
                ("analytics: analytics_usage_daily, month, all tenants", "usage_daily", [first, last]),
                ("analytics: analytics_cost_daily, month, all tenants", "cost_daily", [first, last]),
                ("analytics: analytics_lead_funnel, month, all tenants", "lead_funnel", [first]),
                ("analytics: response_turns_between(NULL, month) per tenant and day, all tenants", "response_between",
                 [first, last]),
                ("analytics: analytics_response_daily, month, all tenants (a view: reads every month)", "response_daily",
                 [first, last]),
                ("before schema/0100: response times of the big tenant's month by window functions (analytics_response_turns)",
                 "response_before", [big_id, first, last]),
            ]:
                ms = explain_ms(admin, q(f"analytics.{query}"), args, min(warmup, 1), max(1, min(repeat, 3)))
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
