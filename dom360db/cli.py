"""The `dom360db` command line: a map from each command to the call that does its work.

The shared options (--dsn, --home, --config, -D) are declared once, in dom360db/cli_context.py, which hands every
command one `Context`; the output is rendered by the module that owns the data. Expected failures (bad DSN,
server down, refused migration, bad input) print one line on stderr and exit non-zero; a traceback means a bug.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click
import psycopg

from dom360db import __version__, migrate, report, sqlfiles
from dom360db.cli_context import Context, pass_context, progress, progress_bar
from dom360db.cli_gen import gen_group
from dom360db.cli_partitions import lock_options, months_ahead_option, partitions_group
from dom360db.cli_server import server_commands
from dom360db.cli_tenant import tenant_group
from dom360db.connect import connect, describe, error_line
from dom360db.errors import Dom360Error


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="dom360db")
def cli() -> None:
    """dom360db: apply, check and operate the DOM360 PostgreSQL schema."""


for command in (gen_group, partitions_group, tenant_group, *server_commands):
    cli.add_command(command)

json_option = click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")


@cli.command("migrate")
@pass_context()
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
def migrate_cmd(ctx: Context, dry_run: bool, reapply: bool, lock_timeout: float, ddl_lock_timeout: int,
                attempts: int) -> None:
    """Apply pending versioned files, then changed repeatable files (validates first)."""
    files, target = ctx.target_files(), ctx.dsn
    if dry_run:
        with ctx.connect() as conn:
            applied = migrate.applied_files(conn)
        migrate.validate(files, applied)
        todo = migrate.pending(files, applied, reapply=reapply)
        click.echo(sqlfiles.render_script(todo, ctx.params), nl=False)
        progress(f"dry run: {len(todo)} file(s) would be applied to {describe(target)}")
        return
    outcome = migrate.migrate(target, files, lock_timeout_s=lock_timeout, reapply=reapply,
                              months_ahead=ctx.params["months_ahead"], progress=progress,
                              ddl_lock_timeout_ms=ddl_lock_timeout, attempts=attempts, params=ctx.params)
    click.echo(outcome.summary)


@cli.command("validate")
@pass_context()
def validate_cmd(ctx: Context) -> None:
    """Refuse (non-zero) when an applied versioned file changed since it was applied."""
    files = ctx.target_files()
    with ctx.connect() as conn:
        migrate.validate(files, migrate.applied_files(conn))
    click.echo(f"valid: every applied versioned file matches its source ({describe(ctx.dsn)})")


@cli.command("status")
@pass_context()
@json_option
def status_cmd(ctx: Context, as_json: bool) -> None:
    """Applied, pending and changed files."""
    files = ctx.target_files()
    with ctx.connect() as conn:
        rows = migrate.status(files, migrate.applied_files(conn))
    click.echo(report.as_json(rows) if as_json else migrate.status_text(rows))


@cli.command("render")
@pass_context("config", "defines")
@click.argument("paths", nargs=-1)
def render_cmd(ctx: Context, paths: tuple[str, ...]) -> None:
    """Print the rendered SQL (all migration files, or the given ones such as schema/0001_roles.sql).

    The output runs as is with `psql -f` (without the runner's bookkeeping).
    """
    click.echo(sqlfiles.render_script(sqlfiles.select(ctx.files(), paths), ctx.params), nl=False)


@cli.command("doctor")
@pass_context()
@json_option
def doctor_cmd(ctx: Context, as_json: bool) -> None:
    """Check the security posture of a live database; exit 1 on any finding."""
    from dom360db import doctor

    files, where = ctx.target_files(), describe(ctx.dsn)
    with ctx.connect() as conn:
        findings = doctor.run(conn, ctx.params, files)
    click.echo(report.as_json(findings) if as_json else doctor.render(findings, where))
    if findings:
        raise Dom360Error(f"{len(findings)} finding(s) on {where}")


@cli.command("refresh")
@pass_context()
def refresh_cmd(ctx: Context) -> None:
    """Refresh the monthly consumption summary (REFRESH MATERIALIZED VIEW CONCURRENTLY: readers never wait)."""
    import time

    from dom360db.queries import query

    with ctx.connect() as conn:
        t0 = time.perf_counter()
        conn.execute(query("migrate.refresh_summary"))
    click.echo(f"refreshed dom360.mv_tenant_consumption_summary in {time.perf_counter() - t0:.2f} s")


@cli.command("roles")
@pass_context()
def roles_cmd(ctx: Context) -> None:
    """Create the missing cluster-wide group roles, backup role included (a superuser; before a restore
    into a new cluster). Idempotent."""
    from dom360db import roles

    with ctx.connect() as conn:
        done = roles.ensure(conn, ctx.params)
    click.echo("".join(line + "\n" for line in done) + f"roles ready on {describe(ctx.dsn)} ({len(done)} created)")


@cli.command("catalog")
@pass_context()
@click.option("--write", is_flag=True, help="Write the snapshot sql/catalog.txt (default: print it).")
def catalog_cmd(ctx: Context, write: bool) -> None:
    """The schema snapshot: migrate a scratch database on the server (a superuser), describe its catalog."""
    from dom360db import catalog

    text = catalog.render_snapshot(catalog.fresh_description(ctx.dsn, ctx.params))
    click.echo(catalog.write_snapshot(text) if write else text, nl=write)


@cli.command("maintain")
@pass_context()
@months_ahead_option
@lock_options
@click.option("--wait", "wait_s", default=60.0, show_default=True, type=click.FloatRange(0, 86400),
              help="Seconds to wait for a maintain already running; then exit 1 naming it.")
def maintain_cmd(ctx: Context, months_ahead: int | None, lock_timeout_ms: int, attempts: int, wait_s: float) -> None:
    """For cron: partitions ensure, refresh, doctor summary. Idempotent; a second copy started while one
    runs waits up to --wait seconds, then exits 1 naming the holder. Exit 1 when doctor has findings."""
    from dom360db import maintain, runlock

    ahead = ctx.params["months_ahead"] if months_ahead is None else months_ahead
    files = ctx.target_files()  # first: it sets `citus` in ctx.params (doctor then skips the snapshot comparison)
    with (runlock.held(ctx.dsn, maintain.LOCK_TABLE, wait_s=wait_s, application_name="dom360db maintain (lock)",
                       what="dom360db maintain",
                       waiting=lambda h: progress("waiting for another maintain to finish" + (f" ({h})" if h else ""))),
          ctx.connect("dom360db maintain") as conn):
        done = maintain.run(conn, ctx.params, files, months_ahead=ahead, lock_timeout_ms=lock_timeout_ms,
                            attempts=attempts, report=progress)
    click.echo(done.text())
    if done.findings:
        raise Dom360Error(f"maintain: doctor reports {len(done.findings)} finding(s) on {describe(ctx.dsn)}")


@cli.command("demo")
@pass_context()
def demo_cmd(ctx: Context) -> None:
    """Seed two demo tenants and show that each sees only its own conversations (embedded server by default)."""
    from dom360db import demo

    target = ctx.given_dsn if ctx.given_dsn is not None else ctx.server().up().dsn
    outcome = migrate.migrate(target, ctx.files(), months_ahead=ctx.params["months_ahead"], progress=progress)
    click.echo(outcome.summary)
    with connect(target) as conn:
        seen = demo.run(conn, progress, app_role=ctx.params["app_role"])
    click.echo(demo.render(seen))
    click.echo(demo.check(seen))


@cli.command("rotate-key")
@pass_context()
@click.option("--old-key-env", metavar="VAR",
              help="Environment variable holding the key the secrets are encrypted with now.")
@click.option("--new-key-env", metavar="VAR", required=True,
              help="Environment variable holding the new key (at least 32 characters).")
@click.option("--verify", is_flag=True,
              help="Then check that every secret decrypts with the new key (alone, without --old-key-env: "
                   "only check).")
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Tenant ids fetched per query.")
def rotate_key_cmd(ctx: Context, old_key_env: str | None, new_key_env: str, verify: bool, batch_size: int) -> None:
    """Re-encrypt every tenant's secrets with a new key, one tenant per transaction; resumable.

    Keys are read from the environment variables named here, never from the command line. Connect as a
    member of the owner role (or a superuser).
    """
    from dom360db import secrets

    if old_key_env is None and not verify:
        raise click.UsageError("--old-key-env is required (or --verify alone, to check the new key only)")
    new_key = secrets.key_from_env(new_key_env, "new")
    old_key = secrets.key_from_env(old_key_env, "old") if old_key_env else None
    with ctx.connect("dom360db rotate-key") as conn:
        secrets.prepare_session(conn, new_key)
        total = secrets.count_tenants(conn)
        if old_key is not None:
            with progress_bar("re-encrypting", total) as bar:
                rotation = secrets.rotate(conn, old_key, new_key, batch_size=batch_size, advance=bar.step)
            click.echo(rotation.summary)
        if verify:
            with progress_bar("verifying", total) as bar:
                check = secrets.verify(conn, new_key, batch_size=batch_size, advance=bar.step)
            if check.failures:
                raise Dom360Error(check.summary)
            click.echo(check.summary)


@cli.command("report")
@pass_context()
@click.option("--tenant", "slug", required=True, metavar="SLUG", help="The tenant's slug.")
@click.option("--month", required=True, metavar="YYYY-MM", help="The month (UTC days).")
@click.option("--html", "html_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Also write a self-contained HTML page (charts of usage per day and of the funnel).")
def report_cmd(ctx: Context, slug: str, month: str, html_path: Path | None) -> None:
    """One tenant's month: token usage, cost, agent response time, lead funnel (as the analytics role)."""
    from dom360db import analytics

    first_day = analytics.parse_month(month)
    with ctx.connect("dom360db report") as conn:
        rep = analytics.fetch(conn, slug, first_day, ctx.params["analytics_role"])
    click.echo(analytics.render_text(rep))
    if html_path is not None:
        from dom360db.analytics_html import write_html

        write_html(rep, html_path)
        click.echo(f"\nwrote {html_path}")


@cli.group("backfill")
def backfill_group() -> None:
    """Fill derived columns for data stored before the version that added them (batched, resumable)."""


@backfill_group.command("response-times")
@pass_context()
@click.option("--batch-size", default=500, show_default=True, type=click.IntRange(1, 100_000),
              help="Conversations per transaction.")
def backfill_response_times_cmd(ctx: Context, batch_size: int) -> None:
    """Fill the response turns (schema/0100) of conversations stored before it; run again after an interruption."""
    from dom360db import backfill

    with ctx.connect("dom360db backfill") as conn, progress_bar("filling response turns") as bar:
        done = backfill.response_times(conn, batch_size=batch_size, start=bar.start, advance=bar.advance)
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
