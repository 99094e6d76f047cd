"""`dom360db gen docs|types`: code generated from the live catalog (dom360db/gen_docs.py, dom360db/gen_types.py)."""

from __future__ import annotations

from pathlib import Path

import click

from dom360db.cli_context import Context, pass_context, write_or_echo


@click.group("gen")
def gen_group() -> None:
    """Generate code from the live catalog."""


output_option = click.option("-o", "--output", type=click.Path(path_type=Path, dir_okay=False),
                             help="Write here (default: stdout).")


@gen_group.command("docs")
@pass_context()
@output_option
def gen_docs_cmd(ctx: Context, output: Path | None) -> None:
    """The SQL API reference (docs/sql-api.md) from a migrated database's COMMENT ON text."""
    from dom360db import gen_docs

    with ctx.connect() as conn:
        write_or_echo(gen_docs.generate(conn), output)


@gen_group.command("types")
@pass_context()
@click.option("--lang", type=click.Choice(["ts"]), default="ts", show_default=True, help="Target language.")
@click.option("--role", metavar="ROLE", help="Whose functions (default: the app_role parameter).")
@output_option
def gen_types_cmd(ctx: Context, lang: str, role: str | None, output: Path | None) -> None:
    """Declarations of every function the app may call (arguments, rows, error codes), like `supabase gen types`."""
    from dom360db import gen_types

    with ctx.connect() as conn:
        write_or_echo(gen_types.generate(conn, lang, role or str(ctx.params["app_role"])), output)
