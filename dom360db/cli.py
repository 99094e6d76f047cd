"""The `dom360db` command line: parse arguments, call the module that does the work, report.

Expected failures (bad DSN, server down, refused migration, bad input) print one line on stderr and
exit non-zero; a traceback means a bug.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
import psycopg

from dom360db import __version__, citus, config, migrate, sqlfiles
from dom360db.connect import connect, describe, error_line, resolve_dsn
from dom360db.errors import Dom360Error
from dom360db.report import table


def _progress(msg: str) -> None:
    click.echo(msg, err=True)


def db_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--dsn, --home, --config and -D, shared by every command that renders SQL or talks to a database."""
    fn = click.option("-D", "defines", multiple=True, metavar="KEY=VALUE",
                      help="Template parameter (overrides dom360db.toml). Repeatable.")(fn)
    fn = click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
                      help="Parameter file (default: ./dom360db.toml when present).")(fn)
    fn = click.option("--home", type=click.Path(path_type=Path, file_okay=False), envvar="DOM360_HOME",
                      help="Embedded server directory (default: ./.dom360db).")(fn)
    fn = click.option("--dsn", envvar="DATABASE_URL", show_envvar=True,
                      help="libpq connection string or URL (default: the running embedded server).")(fn)
    return fn


class Context:
    def __init__(self, dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...]):
        self._dsn, self.home = dsn, home
        self.params = config.load_params(config_path, defines)

    @property
    def dsn(self) -> str:
        return resolve_dsn(self._dsn, self.home)

    def files(self) -> list[sqlfiles.SqlFile]:
        return sqlfiles.load(self.params)

    def target_files(self) -> list[sqlfiles.SqlFile]:
        """The files rendered for the target database (`citus` from its catalog, dom360db/citus.py)."""
        self.params = citus.with_citus(self.params, self.dsn)
        return sqlfiles.load(self.params)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dom360db")
def cli() -> None:
    """dom360db: apply, check and operate the DOM360 PostgreSQL schema."""


@cli.command("migrate")
@db_options
@click.option("--dry-run", is_flag=True, help="Print the rendered SQL of pending files, in order; touch nothing.")
@click.option("--reapply", is_flag=True,
              help="Re-apply every repeatable file (restores functions and policies altered by hand).")
@click.option("--lock-timeout", default=300.0, show_default=True, metavar="SECONDS",
              help="How long to wait for another migrate holding the lock.")
@click.option("--ddl-lock-timeout", default=migrate.DDL_LOCK_TIMEOUT_MS, show_default=True, metavar="MS",
              type=click.IntRange(1, 3_600_000),
              help="Longest wait of any statement of a file for a table lock (lock_timeout); then the file is retried.")
@click.option("--attempts", default=migrate.DDL_ATTEMPTS, show_default=True, type=click.IntRange(1, 1000),
              help="Tries per file when a lock is not granted within --ddl-lock-timeout.")
def migrate_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
                dry_run: bool, reapply: bool, lock_timeout: float, ddl_lock_timeout: int, attempts: int) -> None:
    """Apply pending versioned files, then changed repeatable files (validates first)."""
    ctx = Context(dsn, home, config_path, defines)
    files, target = ctx.target_files(), ctx.dsn
    if dry_run:
        with connect(target) as conn:
            applied = migrate.applied_files(conn)
        migrate.validate(files, applied)
        todo = migrate.pending(files, applied, reapply=reapply)
        click.echo(_render_script(todo, ctx.params), nl=False)
        _progress(f"dry run: {len(todo)} file(s) would be applied to {describe(target)}")
        return
    outcome = migrate.migrate(target, files, lock_timeout_s=lock_timeout, reapply=reapply,
                              months_ahead=ctx.params["months_ahead"], progress=_progress,
                              ddl_lock_timeout_ms=ddl_lock_timeout, attempts=attempts, params=ctx.params)
    click.echo(outcome.summary)


@cli.command("validate")
@db_options
def validate_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...]) -> None:
    """Refuse (non-zero) when an applied versioned file changed since it was applied."""
    ctx = Context(dsn, home, config_path, defines)
    files, target = ctx.target_files(), ctx.dsn
    with connect(target) as conn:
        migrate.validate(files, migrate.applied_files(conn))
    click.echo(f"valid: every applied versioned file matches its source ({describe(target)})")


@cli.command("status")
@db_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
               as_json: bool) -> None:
    """Applied, pending and changed files."""
    ctx = Context(dsn, home, config_path, defines)
    files, target = ctx.target_files(), ctx.dsn
    with connect(target) as conn:
        rows = migrate.status(files, migrate.applied_files(conn))
    if as_json:
        click.echo(json.dumps([r.as_dict() for r in rows], indent=2))
        return
    click.echo(table(
        ["kind", "version", "file", "state", "applied at"],
        [[r.kind, r.version, r.path, r.state,
          r.applied_at.strftime("%Y-%m-%d %H:%M:%S") if r.applied_at else None] for r in rows],
    ))
    counts = {s: sum(1 for r in rows if r.state == s) for s in ("applied", "pending", "changed", "missing")}
    click.echo(", ".join(f"{n} {s}" for s, n in counts.items() if n) or "no files")


def _render_script(files: list[sqlfiles.SqlFile], params: dict[str, Any]) -> str:
    out = [
        f"-- rendered by dom360db {__version__}: {len(files)} file(s); run with psql -f",
        "-- parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(params.items())),
        "\\set ON_ERROR_STOP on",
        "",
    ]
    for f in files:
        label = f"versioned {f.version}" if f.kind == "versioned" else "repeatable"
        out.append(f"-- ==== {f.path} ({label}) ====")
        body = f.sql.rstrip() + "\n"
        out.append(f"BEGIN;\n{body}COMMIT;\n" if f.transactional else body)
    return "\n".join(out)


@cli.command("render")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False))
@click.option("-D", "defines", multiple=True, metavar="KEY=VALUE", help="Template parameter. Repeatable.")
@click.argument("paths", nargs=-1)
def render_cmd(config_path: Path | None, defines: tuple[str, ...], paths: tuple[str, ...]) -> None:
    """Print the rendered SQL (all migration files, or the given ones such as schema/0001_roles.sql).

    The output runs as is with `psql -f` (without the runner's bookkeeping).
    """
    params = config.load_params(config_path, defines)
    files = sqlfiles.load(params)
    if paths:
        known = {f.path: f for f in files}
        missing = [p for p in paths if p not in known]
        if missing:
            raise Dom360Error(f"no such migration file: {', '.join(missing)} (see `dom360db status`)")
        files = [known[p] for p in paths]
    click.echo(_render_script(files, params), nl=False)


@cli.command("up")
@click.option("--home", type=click.Path(path_type=Path, file_okay=False), envvar="DOM360_HOME",
              help="Embedded server directory (default: ./.dom360db).")
@click.option("--port", type=int, help="TCP port on 127.0.0.1 (default: a free one, kept across restarts).")
def up_cmd(home: Path | None, port: int | None) -> None:
    """Start the embedded PostgreSQL 17 (initialising it on first use); print its DSN."""
    from dom360db.embedded import EmbeddedServer

    info = EmbeddedServer(home, progress=_progress).up(port=port)
    click.echo(info.dsn)


@cli.command("down")
@click.option("--home", type=click.Path(path_type=Path, file_okay=False), envvar="DOM360_HOME")
def down_cmd(home: Path | None) -> None:
    """Stop the embedded PostgreSQL."""
    from dom360db.embedded import EmbeddedServer

    was_running = EmbeddedServer(home, progress=_progress).down()
    click.echo("stopped" if was_running else "not running")


@cli.command("dsn")
@click.option("--home", type=click.Path(path_type=Path, file_okay=False), envvar="DOM360_HOME")
def dsn_cmd(home: Path | None) -> None:
    """Print the running embedded server's DSN (exit 1 when it is not running)."""
    from dom360db.embedded import EmbeddedServer

    info = EmbeddedServer(home).info()
    if info is None:
        raise Dom360Error("the embedded server is not running: start it with `dom360db up`")
    click.echo(info.dsn)


@cli.command("doctor")
@db_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def doctor_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
               as_json: bool) -> None:
    """Check the security posture of a live database; exit 1 on any finding."""
    from dom360db import doctor

    ctx = Context(dsn, home, config_path, defines)
    files, target = ctx.target_files(), ctx.dsn
    with connect(target) as conn:
        findings = doctor.run(conn, ctx.params, files)
    if as_json:
        click.echo(json.dumps([f.as_dict() for f in findings], indent=2))
    elif findings:
        click.echo(table(["check", "object", "problem"], [[f.check, f.object, f.problem] for f in findings]))
        click.echo("\nfixes:")
        for f in findings:
            click.echo(f"  {f.object}: {f.fix}")
    else:
        click.echo(f"healthy: {len(doctor.check_names())} checks passed on {describe(target)}")
    if findings:
        raise Dom360Error(f"{len(findings)} finding(s) on {describe(target)}")


@cli.command("refresh")
@db_options
def refresh_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...]) -> None:
    """Refresh the monthly consumption summary (REFRESH MATERIALIZED VIEW CONCURRENTLY: readers never wait)."""
    import time

    from dom360db.queries import query

    target = Context(dsn, home, config_path, defines).dsn
    with connect(target) as conn:
        t0 = time.perf_counter()
        conn.execute(query("migrate.refresh_summary"))
    click.echo(f"refreshed dom360.mv_tenant_consumption_summary in {time.perf_counter() - t0:.2f} s")


@cli.command("roles")
@db_options
def roles_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...]) -> None:
    """Create the missing cluster-wide group roles, backup role included (a superuser; before a restore
    into a new cluster). Idempotent."""
    from dom360db import roles

    ctx = Context(dsn, home, config_path, defines)
    with connect(ctx.dsn) as conn:
        done = roles.ensure(conn, ctx.params)
    for line in done:
        click.echo(line)
    click.echo(f"roles ready on {describe(ctx.dsn)} ({len(done)} created)")


@cli.command("catalog")
@db_options
@click.option("--write", is_flag=True, help="Write the snapshot sql/catalog.txt (default: print it).")
def catalog_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
                write: bool) -> None:
    """The schema snapshot: migrate a scratch database on the server (a superuser), describe its catalog."""
    from dom360db import catalog

    ctx = Context(dsn, home, config_path, defines)
    text = catalog.render_snapshot(catalog.fresh_description(ctx.dsn, ctx.params))
    if not write:
        click.echo(text, nl=False)
        return
    path = catalog.snapshot_path()
    changed = not path.is_file() or path.read_text(encoding="utf-8") != text
    path.write_text(text, encoding="utf-8")
    click.echo(f"{'wrote' if changed else 'unchanged:'} {path}")


def _lock_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--lock-timeout and --attempts, shared by the commands that change partitions."""
    fn = click.option("--attempts", default=10, show_default=True, type=click.IntRange(1, 1000),
                      help="Tries per step when a lock is not granted within --lock-timeout.")(fn)
    fn = click.option("--lock-timeout", "lock_timeout_ms", default=2000, show_default=True, metavar="MS",
                      type=click.IntRange(1, 600_000),
                      help="Longest wait for a lock per try (writers queued behind it wait no longer).")(fn)
    return fn


@cli.group("partitions")
def partitions_group() -> None:
    """Monthly partitions of the time-partitioned tables (dom360.messages): list, ensure, retain."""


@partitions_group.command("list")
@db_options
@click.option("--table", "table_name", metavar="NAME", help="Only this table (default: every monthly-partitioned table).")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def partitions_list_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
                        table_name: str | None, as_json: bool) -> None:
    """Each partition: range, estimated rows (from the last ANALYZE), size with indexes."""
    from dom360db import partitions

    target = Context(dsn, home, config_path, defines).dsn
    with connect(target) as conn:
        parts = [p for t in partitions.table_named(conn, table_name) for p in partitions.list_partitions(conn, t)]
        parked = {name: n for name, n, _, _ in partitions.default_rows(conn)}
    if as_json:
        click.echo(json.dumps([{"parent": p.parent, "partition": p.partition,
                                "from": p.range_from.isoformat() if p.range_from else None,
                                "to": p.range_to.isoformat() if p.range_to else None,
                                "default": p.is_default, "estimated_rows": p.estimated_rows,
                                "rows": parked.get(p.partition) if p.is_default else None,
                                "total_bytes": p.total_bytes, "detach_pending": p.detach_pending} for p in parts], indent=2))
        return
    click.echo(table(
        ["table", "partition", "range (UTC)", "rows (est.)", "size", "note"],
        [[p.parent, p.partition, p.range_label,
          parked.get(p.partition) if p.is_default else ("?" if p.estimated_rows is None else f"{p.estimated_rows:,}"),
          partitions.human_bytes(p.total_bytes),
          "DETACH pending (retain finishes it)" if p.detach_pending
          else ("rows to move: run partitions ensure" if p.is_default and parked.get(p.partition) else None)]
         for p in parts]))


@partitions_group.command("ensure")
@db_options
@click.option("--months-ahead", type=click.IntRange(*config.BOUNDS["months_ahead"]),
              help="Months ahead of the current one (default: months_ahead).")
@click.option("--table", "table_name", metavar="NAME", help="Only this table (default: every monthly-partitioned table).")
@click.option("--dry-run", is_flag=True, help="Print the DDL each missing month would run; change nothing.")
@_lock_options
def partitions_ensure_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
                          months_ahead: int | None, table_name: str | None, dry_run: bool, lock_timeout_ms: int,
                          attempts: int) -> None:
    """Create the missing monthly partitions (idempotent), moving rows parked in the default partition
    into their month's new partition while writes go on."""
    from dom360db import partitions

    ctx = Context(dsn, home, config_path, defines)
    ahead = ctx.params["months_ahead"] if months_ahead is None else months_ahead
    with connect(ctx.dsn, application_name="dom360db partitions") as conn:
        plan = [(t, partitions.missing_months(conn, t, ahead)) for t in partitions.table_named(conn, table_name)]
        total = sum(len(ms) for _, ms in plan)
        if dry_run:
            for t, months in plan:
                for m in months:
                    click.echo(f"-- {t.parent} {m:%Y-%m}\nBEGIN;\n{partitions.month_ddl(conn, t, m)}\nCOMMIT;\n")
            _progress(f"dry run: {total} partition(s) would be created on {describe(ctx.dsn)}")
            return
        outcome = partitions.Outcome()
        with click.progressbar(length=total, label="creating partitions", file=sys.stderr) as bar:
            for t, months in plan:
                partitions.ensure(conn, t, months, lock_timeout_ms=lock_timeout_ms, attempts=attempts,
                                  outcome=outcome, advance=lambda: bar.update(1), report=_progress)
    for label in outcome.created:
        click.echo(f"created {label}")
    click.echo(f"{len(outcome.created)} partition(s) created, {outcome.existing} already there{outcome.retries_note}")


@partitions_group.command("retain")
@db_options
@click.option("--keep-months", required=True, type=click.IntRange(1, 1200),
              help="Keep the current month and this many before it; older partitions go.")
@click.option("--detach-only", is_flag=True, help="Detach old partitions but keep them as tables (to archive).")
@click.option("--table", "table_name", metavar="NAME", help="Only this table (default: every monthly-partitioned table).")
@click.option("--dry-run", is_flag=True, help="List what would be detached or dropped; change nothing.")
@_lock_options
def partitions_retain_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
                          keep_months: int, detach_only: bool, table_name: str | None, dry_run: bool,
                          lock_timeout_ms: int, attempts: int) -> None:
    """Detach (and drop, unless --detach-only) the partitions older than --keep-months.

    DETACH … CONCURRENTLY where PostgreSQL allows it (no default partition); otherwise a plain DETACH that
    waits at most --lock-timeout per try. The default partition is never touched.
    """
    from dom360db import partitions

    ctx = Context(dsn, home, config_path, defines)
    with connect(ctx.dsn, application_name="dom360db partitions") as conn:
        plan = [(t, partitions.expired(conn, t, keep_months)) for t in partitions.table_named(conn, table_name)]
        total = sum(len(ps) for _, ps in plan)
        verb = "detach" if detach_only else "detach and drop"
        if dry_run or not total:
            for _, parts in plan:
                for name in parts:
                    click.echo(f"would {verb} {name}")
            click.echo(f"{total} partition(s) older than {keep_months} month(s) to {verb}" + (" (dry run)" if dry_run else ""))
            return
        outcome = partitions.Outcome()
        with click.progressbar(length=total, label="retiring partitions", file=sys.stderr) as bar:
            for t, parts in plan:
                partitions.retain(conn, t, parts, detach_only=detach_only, lock_timeout_ms=lock_timeout_ms,
                                  attempts=attempts, outcome=outcome, advance=lambda: bar.update(1), report=_progress)
    for name in outcome.detached:
        how = f"(DETACH {outcome.detach_modes[name]})".replace("DETACH plain", "plain DETACH")
        click.echo(f"{'dropped' if name in outcome.dropped else 'detached (kept as a table)'} {name} {how}")
    click.echo(f"{len(outcome.detached)} detached, {len(outcome.dropped)} dropped{outcome.retries_note}")


@cli.command("maintain")
@db_options
@click.option("--months-ahead", type=click.IntRange(*config.BOUNDS["months_ahead"]),
              help="Months ahead of the current one (default: months_ahead).")
@_lock_options
@click.option("--wait", "wait_s", default=60.0, show_default=True, type=click.FloatRange(0, 86400),
              help="Seconds to wait for a maintain already running; then exit 1 naming it.")
def maintain_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
                 months_ahead: int | None, lock_timeout_ms: int, attempts: int, wait_s: float) -> None:
    """For cron: partitions ensure, refresh, doctor summary. Idempotent; a second copy started while one
    runs waits up to --wait seconds, then exits 1 naming the holder. Exit 1 when doctor has findings."""
    from dom360db import maintain, runlock

    ctx = Context(dsn, home, config_path, defines)
    ahead = ctx.params["months_ahead"] if months_ahead is None else months_ahead
    files = ctx.target_files()  # first: it sets `citus` in ctx.params (doctor then skips the snapshot comparison)
    with (runlock.held(ctx.dsn, maintain.LOCK_TABLE, wait_s=wait_s, application_name="dom360db maintain (lock)",
                       what="dom360db maintain",
                       waiting=lambda h: _progress("waiting for another maintain to finish" + (f" ({h})" if h else ""))),
          connect(ctx.dsn, application_name="dom360db maintain") as conn):
        done = maintain.run(conn, ctx.params, files, months_ahead=ahead, lock_timeout_ms=lock_timeout_ms,
                            attempts=attempts, report=_progress)
    p = done.partitions
    click.echo(table(["step", "result"], [
        ["partitions ensure", f"{len(p.created)} created" + (f" ({', '.join(p.created)})" if p.created else "")],
        ["refresh", f"summaries refreshed in {done.refresh_s:.2f} s"],
        ["doctor", f"{len(done.findings)} finding(s)" if done.findings else "healthy"],
    ]))
    if done.findings:
        click.echo("")
        click.echo(table(["check", "object", "problem"], [[f.check, f.object, f.problem] for f in done.findings]))
        raise Dom360Error(f"maintain: doctor reports {len(done.findings)} finding(s) on {describe(ctx.dsn)}")


@cli.command("demo")
@db_options
def demo_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...]) -> None:
    """Seed two demo tenants and show that each sees only its own conversations (embedded server by default)."""
    from dom360db import demo
    from dom360db.embedded import EmbeddedServer

    ctx = Context(dsn, home, config_path, defines)
    target = dsn if dsn is not None else EmbeddedServer(home, progress=_progress).up().dsn
    outcome = migrate.migrate(target, ctx.files(), months_ahead=ctx.params["months_ahead"], progress=_progress)
    click.echo(outcome.summary)
    with connect(target) as conn:
        seen = demo.run(conn, _progress, app_role=ctx.params["app_role"])
    for slug, s in seen.items():
        click.echo(f"\n== As the app role with tenant {slug!r} set: {len(s.conversations)} conversation(s), "
                   f"{len(s.messages)} message(s) visible")
        click.echo(table(["tenant", "customer", "status", "agent", "messages"], s.conversations))
        click.echo("")
        click.echo(table(["tenant", "customer", "#", "role", "content", "tokens"], s.messages))
        click.echo("")
        click.echo(table(["day (UTC)", "messages", "input tokens", "output tokens", "total tokens"], s.usage))
    leaks = [slug for slug, s in seen.items() if any(r[0] != slug for r in s.conversations + s.messages)]
    if leaks:
        raise Dom360Error(f"isolation broken: tenant(s) {', '.join(leaks)} saw another tenant's rows")
    click.echo("\neach tenant sees only its own rows")


@cli.command("rotate-key")
@db_options
@click.option("--old-key-env", metavar="VAR",
              help="Environment variable holding the key the secrets are encrypted with now.")
@click.option("--new-key-env", metavar="VAR", required=True,
              help="Environment variable holding the new key (at least 32 characters).")
@click.option("--verify", is_flag=True,
              help="Then check that every secret decrypts with the new key (alone, without --old-key-env: "
                   "only check).")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Tenant ids fetched per query.")
def rotate_key_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
                   old_key_env: str | None, new_key_env: str, verify: bool, batch_size: int) -> None:
    """Re-encrypt every tenant's secrets with a new key, one tenant per transaction; resumable.

    Keys are read from the environment variables named here, never from the command line. Connect as a
    member of the owner role (or a superuser).
    """
    from dom360db import secrets

    if old_key_env is None and not verify:
        raise click.UsageError("--old-key-env is required (or --verify alone, to check the new key only)")
    new_key = secrets.key_from_env(new_key_env, "new")
    old_key = secrets.key_from_env(old_key_env, "old") if old_key_env else None
    target = Context(dsn, home, config_path, defines).dsn
    with connect(target, application_name="dom360db rotate-key") as conn:
        secrets.prepare_session(conn, new_key)
        total = secrets.count_tenants(conn)
        if old_key is not None:
            with click.progressbar(length=total, label="re-encrypting", file=sys.stderr) as bar:
                rotation = secrets.rotate(conn, old_key, new_key, batch_size=batch_size, advance=lambda: bar.update(1))
            click.echo(rotation.summary)
        if verify:
            with click.progressbar(length=total, label="verifying", file=sys.stderr) as bar:
                check = secrets.verify(conn, new_key, batch_size=batch_size, advance=lambda: bar.update(1))
            if check.failures:
                raise Dom360Error(check.summary)
            click.echo(check.summary)


@cli.command("report")
@db_options
@click.option("--tenant", "slug", required=True, metavar="SLUG", help="The tenant's slug.")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month (UTC days).")
@click.option("--html", "html_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write a self-contained HTML page (charts of usage per day and of the funnel).")
def report_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
               slug: str, month: str, html_path: Path | None) -> None:
    """One tenant's month: token usage, cost, agent response time, lead funnel (as the analytics role)."""
    from dom360db import analytics

    first_day = analytics.parse_month(month)
    ctx = Context(dsn, home, config_path, defines)
    with connect(ctx.dsn, application_name="dom360db report") as conn:
        rep = analytics.fetch(conn, slug, first_day, ctx.params["analytics_role"])
    click.echo(analytics.render_text(rep))
    if html_path is not None:
        from dom360db.analytics_html import render_html

        try:
            html_path.write_text(render_html(rep), encoding="utf-8")
        except OSError as exc:
            raise Dom360Error(f"cannot write {html_path}: {exc.strerror}") from exc
        click.echo(f"\nwrote {html_path}")


@cli.group("tenant")
def tenant_group() -> None:
    """A tenant's lifecycle: export, import (move), delete, forget one customer (docs/lifecycle.md)."""


@tenant_group.command("isolate")
@db_options
@click.argument("slug")
def tenant_isolate_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
                       slug: str) -> None:
    """Citus: give tenant SLUG shards of its own in every tenant table (then move them; docs/citus.md)."""
    ctx = Context(dsn, home, config_path, defines)
    shardid, host, port = citus.isolate(ctx.dsn, slug, _progress)
    click.echo(f"tenant {slug!r}: shard {shardid} of dom360.users (and its colocated shards) on {host}:{port}")
    click.echo(f"move it: SELECT citus_move_shard_placement({shardid}, '{host}', {port}, '<host>', <port>, "
               "shard_transfer_mode => 'block_writes');")


@tenant_group.command("export")
@db_options
@click.argument("slug")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="New or empty directory: one <table>.jsonl per table and manifest.json.")
@click.option("--key-env", metavar="VAR", help="Decrypt the secrets into the files with the key in this environment "
                                               "variable (default: they stay ciphertext).")
def tenant_export_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
                      slug: str, out_dir: Path, key_env: str | None) -> None:
    """Every row of tenant SLUG, streamed to JSON Lines files with a manifest (secrets stay ciphertext)."""
    from dom360db import secrets, tenant_export

    key = secrets.key_from_env(key_env, "export") if key_env else None
    target = Context(dsn, home, config_path, defines).dsn
    with connect(target, application_name="dom360db tenant export") as conn, \
            click.progressbar(length=0, label="exporting rows", file=sys.stderr) as bar:
        if key is not None:
            secrets.prepare_session(conn, key)
        done = tenant_export.export(conn, slug, out_dir, source=describe(target), key=key,
                                    start=lambda n: setattr(bar, "length", n), advance=bar.update)
    click.echo(f"{done.summary} to {out_dir}")


@tenant_group.command("import")
@db_options
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--key-env", metavar="VAR", help="For an export whose secrets were decrypted: the target's key, in "
                                               "this environment variable, encrypts them.")
def tenant_import_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
                      directory: Path, key_env: str | None) -> None:
    """Load an export into the database of --dsn (same or newer schema), keeping ids; all or nothing."""
    from dom360db import secrets, tenant_import

    key = secrets.key_from_env(key_env, "import") if key_env else None
    target = Context(dsn, home, config_path, defines).dsn
    with connect(target, application_name="dom360db tenant import") as conn, \
            click.progressbar(length=0, label="verifying and loading rows", file=sys.stderr) as bar:
        if key is not None:
            secrets.prepare_session(conn, key)
        done = tenant_import.import_tenant(conn, directory, key=key, start=lambda n: setattr(bar, "length", n),
                                           advance=bar.update)
    click.echo(done.summary)


@tenant_group.command("delete")
@db_options
@click.argument("slug")
@click.option("--confirm", required=True, metavar="SLUG", help="The slug again: what is erased cannot be undone.")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Rows per transaction (one partition at a time).")
def tenant_delete_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
                      slug: str, confirm: str, batch_size: int) -> None:
    """Erase tenant SLUG in short batches (resumable: run it again after an interruption); the audit log stays."""
    from dom360db import tenant_erase

    target = Context(dsn, home, config_path, defines).dsn
    with connect(target, application_name="dom360db tenant delete") as conn, \
            click.progressbar(length=0, label="erasing rows", file=sys.stderr) as bar:
        done = tenant_erase.delete_tenant(conn, slug, confirm, batch_size=batch_size,
                                          start=lambda n: setattr(bar, "length", n), advance=bar.update)
    click.echo(done.summary)


@tenant_group.command("forget-customer")
@db_options
@click.argument("slug")
@click.argument("external_id")
def tenant_forget_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
                      slug: str, external_id: str) -> None:
    """Erase one customer (EXTERNAL_ID of its conversations) of tenant SLUG; usage counters are kept."""
    from dom360db import tenant_erase

    target = Context(dsn, home, config_path, defines).dsn
    with connect(target, application_name="dom360db tenant forget-customer") as conn:
        tenant, conversations, messages = tenant_erase.forget_customer(conn, slug, external_id)
    click.echo(f"forgot a customer of tenant {tenant.slug}: {conversations} conversation(s), {messages} message(s) "
               "erased; usage counters kept")


@cli.group("backfill")
def backfill_group() -> None:
    """Fill derived columns for data stored before the version that added them (batched, resumable)."""


@backfill_group.command("response-times")
@db_options
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Conversations per transaction.")
def backfill_response_times_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
                                batch_size: int) -> None:
    """Fill the response turns (schema/0100) of conversations stored before it; run again after an interruption."""
    from dom360db import backfill

    target = Context(dsn, home, config_path, defines).dsn
    with connect(target, application_name="dom360db backfill") as conn, \
            click.progressbar(length=0, label="filling response turns", file=sys.stderr) as bar:
        done = backfill.response_times(conn, batch_size=batch_size,
                                       start=lambda n: setattr(bar, "length", n), advance=bar.update)
    click.echo(done.summary)


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point: one line and a non-zero exit for every expected failure."""
    try:
        cli.main(args=argv, prog_name="dom360db", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except (click.Abort, KeyboardInterrupt):
        click.echo("dom360db: interrupted", err=True)
        sys.exit(130)
    except Dom360Error as exc:
        click.echo(f"dom360db: error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except psycopg.Error as exc:
        click.echo(f"dom360db: database error: {error_line(exc)}", err=True)
        sys.exit(1)


@cli.group("gen")
def gen_group() -> None:
    """Generate code from the live catalog."""


@gen_group.command("docs")
@db_options
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write here (default: stdout).")
def gen_docs_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
                 output: Path | None) -> None:
    """The SQL API reference (docs/sql-api.md) from a migrated database's COMMENT ON text."""
    from dom360db import gen_docs

    ctx = Context(dsn, home, config_path, defines)
    with connect(ctx.dsn) as conn:
        text = gen_docs.generate(conn)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        _progress(f"wrote {output}")


@gen_group.command("types")
@db_options
@click.option("--lang", type=click.Choice(["ts"]), default="ts", show_default=True, help="Target language.")
@click.option("--role", metavar="ROLE", help="Whose functions (default: the app_role parameter).")
@click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False), help="Write here (default: stdout).")
def gen_types_cmd(dsn: str | None, home: Path | None, config_path: Path | None, defines: tuple[str, ...],
                  lang: str, role: str | None, output: Path | None) -> None:
    """Declarations of every function the app may call (arguments, rows, error codes), like `supabase gen types`."""
    from dom360db import gen_types

    ctx = Context(dsn, home, config_path, defines)
    with connect(ctx.dsn) as conn:
        text = gen_types.generate(conn, lang, role or str(ctx.params["app_role"]))
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        _progress(f"wrote {output}")
