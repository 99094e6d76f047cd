"""`dom360db up|down|dsn`: the embedded PostgreSQL 17 of dom360db/embedded.py."""

from __future__ import annotations

import click

from dom360db.cli_context import Context, pass_context
from dom360db.errors import Dom360Error


@click.command("up")
@pass_context("home")
@click.option("--port", type=int, help="TCP port on 127.0.0.1 (default: a free one, kept across restarts).")
def up_cmd(ctx: Context, port: int | None) -> None:
    """Start the embedded PostgreSQL 17 (initialising it on first use); print its DSN."""
    click.echo(ctx.server().up(port=port).dsn)


@click.command("down")
@pass_context("home")
def down_cmd(ctx: Context) -> None:
    """Stop the embedded PostgreSQL."""
    click.echo("stopped" if ctx.server().down() else "not running")


@click.command("dsn")
@pass_context("home")
def dsn_cmd(ctx: Context) -> None:
    """Print the running embedded server's DSN (exit 1 when it is not running)."""
    info = ctx.server().info()
    if info is None:
        raise Dom360Error("the embedded server is not running: start it with `dom360db up`")
    click.echo(info.dsn)


#: The commands, added to the `dom360db` group by dom360db/cli.py.
server_commands = (up_cmd, down_cmd, dsn_cmd)
