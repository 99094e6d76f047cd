"""`dom360db partitions list|ensure|retain`: the commands of dom360db/partitions.py, and the lock options they
share with `maintain`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from dom360db import config, partitions
from dom360db.cli_context import Context, pass_context, progress, progress_bar
from dom360db.connect import describe

_TABLE_HELP = "Only this table (default: every monthly-partitioned table)."


def lock_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """--lock-timeout and --attempts, shared by the commands that change partitions."""
    fn = click.option("--attempts", default=10, show_default=True, type=click.IntRange(1, 1000),
                      help="Tries per step when a lock is not granted within --lock-timeout.")(fn)
    fn = click.option("--lock-timeout", "lock_timeout_ms", default=2000, show_default=True, metavar="MS",
                      type=click.IntRange(1, 600_000),
                      help="Longest wait for a lock per try (writers queued behind it wait no longer).")(fn)
    return fn


def months_ahead_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--months-ahead", type=click.IntRange(*config.BOUNDS["months_ahead"]),
                        help="Months ahead of the current one (default: months_ahead).")(fn)


def table_option(fn: Callable[..., Any]) -> Callable[..., Any]:
    return click.option("--table", "table_name", metavar="NAME", help=_TABLE_HELP)(fn)


@click.group("partitions")
def partitions_group() -> None:
    """Monthly partitions of the time-partitioned tables (dom360.messages): list, ensure, retain."""


@partitions_group.command("list")
@pass_context()
@table_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_cmd(ctx: Context, table_name: str | None, as_json: bool) -> None:
    """Each partition: range, estimated rows (from the last ANALYZE), size with indexes."""
    with ctx.connect() as conn:
        parts = [p for t in partitions.table_named(conn, table_name) for p in partitions.list_partitions(conn, t)]
        parked = {name: n for name, n, _, _ in partitions.default_rows(conn)}
    click.echo(partitions.listing(parts, parked, as_json=as_json))


@partitions_group.command("ensure")
@pass_context()
@months_ahead_option
@table_option
@click.option("--dry-run", is_flag=True, help="Print the DDL each missing month would run; change nothing.")
@lock_options
def ensure_cmd(ctx: Context, months_ahead: int | None, table_name: str | None, dry_run: bool, lock_timeout_ms: int,
               attempts: int) -> None:
    """Create the missing monthly partitions (idempotent), moving rows parked in the default partition
    into their month's new partition while writes go on."""
    ahead = ctx.params["months_ahead"] if months_ahead is None else months_ahead
    with ctx.connect("dom360db partitions") as conn:
        plan = [(t, partitions.missing_months(conn, t, ahead)) for t in partitions.table_named(conn, table_name)]
        total = sum(len(ms) for _, ms in plan)
        if dry_run:
            for t, months in plan:
                for m in months:
                    click.echo(f"-- {t.parent} {m:%Y-%m}\nBEGIN;\n{partitions.month_ddl(conn, t, m)}\nCOMMIT;\n")
            progress(f"dry run: {total} partition(s) would be created on {describe(ctx.dsn)}")
            return
        outcome = partitions.Outcome()
        with progress_bar("creating partitions", total) as bar:
            for t, months in plan:
                partitions.ensure(conn, t, months, lock_timeout_ms=lock_timeout_ms, attempts=attempts,
                                  outcome=outcome, advance=bar.step, report=progress)
    click.echo(outcome.created_text())


@partitions_group.command("retain")
@pass_context()
@click.option("--keep-months", required=True, type=click.IntRange(1, 1200),
              help="Keep the current month and this many before it; older partitions go.")
@click.option("--detach-only", is_flag=True, help="Detach old partitions but keep them as tables (to archive).")
@table_option
@click.option("--dry-run", is_flag=True, help="List what would be detached or dropped; change nothing.")
@lock_options
def retain_cmd(ctx: Context, keep_months: int, detach_only: bool, table_name: str | None, dry_run: bool,
               lock_timeout_ms: int, attempts: int) -> None:
    """Detach (and drop, unless --detach-only) the partitions older than --keep-months.

    DETACH … CONCURRENTLY where PostgreSQL allows it (no default partition); otherwise a plain DETACH that
    waits at most --lock-timeout per try. The default partition is never touched.
    """
    with ctx.connect("dom360db partitions") as conn:
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
        with progress_bar("retiring partitions", total) as bar:
            for t, parts in plan:
                partitions.retain(conn, t, parts, detach_only=detach_only, lock_timeout_ms=lock_timeout_ms,
                                  attempts=attempts, outcome=outcome, advance=bar.step, report=progress)
    click.echo(outcome.retained_text())
