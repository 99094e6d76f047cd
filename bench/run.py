"""Benchmark of the chat data path: writes through append_message() against a bare INSERT, reads on a large
dom360.messages. One run, one server, one fresh database (`dom360_bench`); see bench/README.md.

    .venv/bin/python -m bench.run                                  # embedded PostgreSQL in .dom360db/bench, 10M messages
    .venv/bin/python -m bench.run --messages 200000 --seconds 5    # a quick run
    .venv/bin/python -m bench.run --dsn postgresql://postgres@host/postgres   # your server (a superuser)

Results: a report on stdout, the same in bench/results/<UTC timestamp>.md and bench/results/latest.md; progress
on stderr. Timed figures are reported, never asserted: this is a script, not a test.
"""

from __future__ import annotations

import secrets
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click
from psycopg import conninfo, sql

from bench import prepare
from bench.common import (
    APP_LOGIN,
    BENCH_DIR,
    DB_NAME,
    PARAMS,
    REPO_DIR,
    connect,
    pgbench_binary,
    progress,
    q,
    superuser_dsn,
)
from bench.cpu import local_postmaster
from bench.reads import sample_reads, turn_breakdown
from bench.report import Report, phase, render, schema_version, write_results
from bench.scenarios import RunArgs, Scenario, rounds
from dom360db import migrate, sqlfiles
from dom360db.connect import scalar
from dom360db.errors import Dom360Error


def run_all(args: RunArgs, report: Report, admin_dsn: str) -> None:
    bench_dsn = conninfo.make_conninfo(admin_dsn, dbname=DB_NAME)
    with connect(admin_dsn) as root:
        version = int(scalar(root, "SHOW server_version_num"))  # type: ignore[index]
        if version < 150000:
            raise Dom360Error(f"PostgreSQL 15 or newer needed, the server runs {version}")
        month = scalar(root, q("server.month"))
        state = prepare.load_state(bench_dsn) if args.reuse else None
        wanted = prepare.wanted_state(args, month)
        report.reused = state is not None and {k: state.get(k) for k in wanted} == wanted
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
    app_dsn = conninfo.make_conninfo(bench_dsn, user=APP_LOGIN, password=password)
    admin = connect(bench_dsn)
    try:
        prepare.create_login(admin, password)
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
                prepare.create_tenants(admin, args.tenants, args.per_tenant, args.clients)
        copied = prepare.create_twin(admin)
        prepare.create_seed(admin)
        if copied:
            report.notes.append(f"The twin starts with a copy of the {copied:,} rows dom360.messages already holds in "
                                "the current month and later (--reuse), so that (a) inserts into partitions of the "
                                "same size as (b) and (c).")
        prepare.grant_lookups(admin)
        report.settings = [(n, v) for n, v in admin.execute(q("server.settings")).fetchall()]

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
            prepare.check_writes(report, admin, args, run_id)
            with phase(report, "chat turn breakdown (auto_explain)"):
                turn_breakdown(report, args, bench_dsn, app_dsn, run_id, hot_base)
            with phase(report, "checks after the writes"):
                prepare.run_checks(report, admin, "after (b), (c)")

            if report.reused:
                report.loaded_rows = int(prepare.load_state(bench_dsn)["loaded_rows"])  # type: ignore[index]
                admin.execute("ANALYZE")
            else:
                with phase(report, "load history + VACUUM ANALYZE"):
                    report.loaded_rows = prepare.load_history(report, args, bench_dsn, admin)
                with phase(report, "checks after the load"):
                    prepare.run_checks(report, admin, "after the load")
                prepare.save_state(admin, {**prepare.wanted_state(args, month), "loaded_rows": report.loaded_rows})
            report.notes.append(prepare.disk_note(admin, report.loaded_rows))
            prepare.grant_lookups(admin)
            n_reads = scalar(admin, q("load.count_read_targets"))
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
        stripes = scalar(admin, q("checks.hot_stripes"), [hot_base + 1])
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
    report = Report(started=datetime.now(UTC), args=args, command=" ".join(["python -m bench.run", *sys.argv[1:]]))
    t0 = time.monotonic()
    with superuser_dsn(args.dsn, args.home, keep_server=args.keep_server) as admin_dsn:
        args.pgbench = pgbench_binary()
        run_all(args, report, admin_dsn)
    report.phases.append(("total", time.monotonic() - t0))
    text = render(report)
    path = write_results(report, text)
    print(text)
    progress(f"written {path.relative_to(REPO_DIR) if path.is_relative_to(REPO_DIR) else path} and latest.md")


if __name__ == "__main__":
    main()
