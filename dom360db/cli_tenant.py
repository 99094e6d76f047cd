"""`dom360db tenant isolate|export|import|delete|forget-customer`: a tenant's lifecycle (docs/lifecycle.md), each
command a call into the module that does it (citus, tenant_export, tenant_import, tenant_erase)."""

from __future__ import annotations

from pathlib import Path

import click

from dom360db import citus
from dom360db.cli_context import Context, pass_context, progress, progress_bar
from dom360db.connect import describe


@click.group("tenant")
def tenant_group() -> None:
    """A tenant's lifecycle: export, import (move), delete, forget one customer (docs/lifecycle.md)."""


@tenant_group.command("isolate")
@pass_context()
@click.argument("slug")
def isolate_cmd(ctx: Context, slug: str) -> None:
    """Citus: give tenant SLUG shards of its own in every tenant table (then move them; docs/citus.md)."""
    click.echo(citus.isolated_text(slug, *citus.isolate(ctx.dsn, slug, progress)))


@tenant_group.command("export")
@pass_context()
@click.argument("slug")
@click.option("--out", "out_dir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="New or empty directory: one <table>.jsonl per table and manifest.json.")
@click.option("--key-env", metavar="VAR", help="Decrypt the secrets into the files with the key in this environment "
                                               "variable (default: they stay ciphertext).")
def export_cmd(ctx: Context, slug: str, out_dir: Path, key_env: str | None) -> None:
    """Every row of tenant SLUG, streamed to JSON Lines files with a manifest (secrets stay ciphertext)."""
    from dom360db import secrets, tenant_export

    key = secrets.key_from_env(key_env, "export") if key_env else None
    with ctx.connect("dom360db tenant export") as conn, progress_bar("exporting rows") as bar:
        if key is not None:
            secrets.prepare_session(conn, key)
        done = tenant_export.export(conn, slug, out_dir, source=describe(ctx.dsn), key=key, start=bar.start,
                                    advance=bar.advance)
    click.echo(f"{done.summary} to {out_dir}")


@tenant_group.command("import")
@pass_context()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@click.option("--key-env", metavar="VAR", help="For an export whose secrets were decrypted: the target's key, in "
                                               "this environment variable, encrypts them.")
def import_cmd(ctx: Context, directory: Path, key_env: str | None) -> None:
    """Load an export into the database of --dsn (same or newer schema), keeping ids; all or nothing."""
    from dom360db import secrets, tenant_import

    key = secrets.key_from_env(key_env, "import") if key_env else None
    with ctx.connect("dom360db tenant import") as conn, progress_bar("verifying and loading rows") as bar:
        if key is not None:
            secrets.prepare_session(conn, key)
        done = tenant_import.import_tenant(conn, directory, key=key, start=bar.start, advance=bar.advance)
    click.echo(done.summary)


@tenant_group.command("delete")
@pass_context()
@click.argument("slug")
@click.option("--confirm", required=True, metavar="SLUG", help="The slug again: what is erased cannot be undone.")
@click.option("--batch-size", default=5000, show_default=True, type=click.IntRange(1, 1_000_000),
              help="Rows per transaction (one partition at a time).")
def delete_cmd(ctx: Context, slug: str, confirm: str, batch_size: int) -> None:
    """Erase tenant SLUG in short batches (resumable: run it again after an interruption); the audit log stays."""
    from dom360db import tenant_erase

    with ctx.connect("dom360db tenant delete") as conn, progress_bar("erasing rows") as bar:
        done = tenant_erase.delete_tenant(conn, slug, confirm, batch_size=batch_size, start=bar.start,
                                          advance=bar.advance)
    click.echo(done.summary)


@tenant_group.command("forget-customer")
@pass_context()
@click.argument("slug")
@click.argument("external_id")
def forget_cmd(ctx: Context, slug: str, external_id: str) -> None:
    """Erase one customer (EXTERNAL_ID of its conversations) of tenant SLUG; usage counters are kept."""
    from dom360db import tenant_erase

    with ctx.connect("dom360db tenant forget-customer") as conn:
        tenant, conversations, messages = tenant_erase.forget_customer(conn, slug, external_id)
    click.echo(f"forgot a customer of tenant {tenant.slug}: {conversations} conversation(s), {messages} message(s) "
               "erased; usage counters kept")
