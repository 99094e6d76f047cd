"""`dom360db tenant export SLUG --out DIR`: every row of one tenant, one JSON Lines file per table.

The format (docs/lifecycle.md): `<table>.jsonl` holds one JSON object per row (`row_to_json`: the columns in
table order, timestamps in UTC), ordered by the table's primary key, so the same data always gives the same
bytes; `manifest.json` lists each file with its row count and sha256, the tenant, and the schema versions
(the applied versioned files) it came from. Secrets (columns `*_enc`) are exported as stored, ciphertext,
unless a key is given: then they are decrypted into the file (under the same column names; the manifest says
"plaintext"), for a target database that uses another key (`tenant import --key-env` encrypts them there).

How: the tables are read from the catalog (`dom360.tenant_tables()`), in one REPEATABLE READ READ ONLY
transaction (a consistent snapshot) with the tenant set (row-level security is forced on the owner role,
so an administrator sees the tenant only then), each streamed with `COPY (SELECT …) TO STDOUT` block by block
to its file: memory stays flat whatever the tenant's size.

The audit rows that record the tenant's moves (EXPORT, IMPORT) are not in audit_log.jsonl but in the manifest's
`lifecycle` list, with the EXPORT row this export writes last, in the transaction that writes the manifest: so
export → import → export gives byte-identical data files, and the trail of moves travels with the tenant.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from dom360db import __version__
from dom360db.connect import scalar, set_tenant_id
from dom360db.errors import Dom360Error
from dom360db.progress import Advance
from dom360db.queries import composed

FORMAT = "dom360db-tenant-export/2"
#: The format before the manifest's `lifecycle` list (the moves were then lines of audit_log.jsonl): still read.
FORMAT_1 = "dom360db-tenant-export/1"
#: The audit log's file holds every audit row of the tenant but these, which the manifest's `lifecycle` list holds.
MOVES = ("EXPORT", "IMPORT")
MANIFEST = "manifest.json"
#: Derived from other tables, hence not exported: rebuilt by `dom360db refresh` after an import.
DERIVED = ["mv_tenant_consumption_summary"]



@dataclass(frozen=True)
class TenantTable:
    name: str
    load_order: int
    tenant_column: str
    key_columns: list[str]
    columns: list[str]
    generated_columns: list[str]

    @property
    def file(self) -> str:
        return f"{self.name}.jsonl"


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    slug: str
    name: str
    status: str


def tenant_tables(conn: psycopg.Connection) -> list[TenantTable]:
    return [TenantTable(*row) for row in conn.execute(composed("lifecycle.tenant_tables"))]


def find_tenant(conn: psycopg.Connection, slug: str) -> Tenant:
    """The tenant with this slug, any status; one clear line when there is none."""
    rows = [r for r in conn.execute(composed("lifecycle.lookup_tenants"), {"slug": slug, "id": None}) if r[1] == slug]
    if not rows:
        raise Dom360Error(f"unknown tenant slug {slug!r}")
    return Tenant(*rows[0])


def set_tenant(conn: psycopg.Connection, tenant_id: uuid.UUID) -> None:
    set_tenant_id(conn, tenant_id)


def schema_versions(conn: psycopg.Connection) -> list[int]:
    try:
        with conn.transaction():
            return list(scalar(conn, composed("lifecycle.schema_versions")))
    except psycopg.errors.UndefinedTable as exc:
        raise Dom360Error("not a dom360 database: no dom360db_meta.applied_files (run dom360db migrate)") from exc
    except psycopg.errors.InsufficientPrivilege as exc:
        raise Dom360Error("cannot read the schema version (SELECT on dom360db_meta.applied_files is needed)") from exc


def audit(conn: psycopg.Connection, tenant_id: uuid.UUID, operation: str, changes: dict[str, Any]) -> dict[str, Any]:
    """Append a lifecycle record to the audit log; the row, as an export writes it (with portable_session set)."""
    row = scalar(conn, composed("lifecycle.audit"), {"tenant_id": tenant_id, "operation": operation,
                                                     "changes": json.dumps(changes)})
    return json.loads(row)  # type: ignore[no-any-return]


def skip(t: TenantTable) -> sql.Composable:
    """The rows of `t` that its file leaves out: the audit log's records of moves (query `move`)."""
    return composed("lifecycle.move") if t.name == "audit_log" else sql.SQL("false")


def prepare_dir(out: Path) -> None:
    """`out` must be missing or an empty directory: an export never mixes with other files."""
    if out.exists():
        if not out.is_dir():
            raise Dom360Error(f"--out {out}: exists and is not a directory")
        if any(out.iterdir()):
            raise Dom360Error(f"--out {out}: directory is not empty (an export goes to a new or empty directory)")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise Dom360Error(f"--out {out}: {exc.strerror}") from exc


@dataclass
class Export:
    tenant: Tenant
    manifest: dict[str, Any]

    @property
    def rows(self) -> int:
        return sum(t["rows"] for t in self.manifest["tables"])

    @property
    def summary(self) -> str:
        return (f"exported tenant {self.tenant.slug} ({self.tenant.id}): {self.rows:,} row(s) in "
                f"{len(self.manifest['tables'])} file(s)")


SECRETS_CIPHERTEXT = ("ciphertext: the account_vars columns *_enc are exported encrypted, as stored; the target "
                      "database needs the same encryption key (or rotate-key there after the import)")
SECRETS_PLAINTEXT = ("plaintext: the account_vars columns *_enc were decrypted with the key given to the export; "
                     "keep this directory as secret as the key; tenant import --key-env encrypts them again")


def is_secret(column: str) -> bool:
    """The naming contract of secrets (schema/0020): a column named <secret>_enc."""
    return column.endswith("_enc")


def export(conn: psycopg.Connection, slug: str, out: Path, *, source: str, key: str | None = None,
           start: Callable[[int], None] = lambda n: None, advance: Advance = lambda n: None) -> Export:
    """Write the tenant `slug` to the directory `out` (missing or empty). `conn` is in autocommit mode.

    With `key`, secrets are decrypted into the files. `start` receives the total row count, `advance` the rows
    written as they are written.
    """
    prepare_dir(out)
    try:
        return _export(conn, slug, out, source=source, key=key, start=start, advance=advance)
    except BaseException as exc:
        for written in out.iterdir():  # the directory was empty: leave no partial export behind
            written.unlink()
        if isinstance(exc, OSError):  # a full disk, a file that cannot be written
            raise Dom360Error(f"--out {out}: {exc.strerror or exc}: nothing exported") from exc
        raise


def _export(conn: psycopg.Connection, slug: str, out: Path, *, source: str, key: str | None,
            start: Callable[[int], None], advance: Advance) -> Export:
    tenant = find_tenant(conn, slug)
    versions = schema_versions(conn)
    tables = tenant_tables(conn)
    entries: list[dict[str, Any]] = []
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    conn.read_only = True
    try:
        with conn.transaction():
            conn.execute(composed("lifecycle.portable_session"))
            set_tenant(conn, tenant.id)
            if key is not None:
                conn.execute(composed("lifecycle.set_key"), {"key": key})
            counts = {t.name: scalar(conn, composed("lifecycle.count_rows", table=sql.Identifier(t.name),
                                                    tenant_column=sql.Identifier(t.tenant_column), skip=skip(t)),
                                     {"tenant_id": tenant.id})
                      for t in tables}
            start(sum(counts.values()))
            found = scalar(conn, composed("lifecycle.message_months"), {"tenant_id": tenant.id})
            months = [m.isoformat() for m in found]
            for t in tables:
                entries.append(_copy_table(conn, t, tenant.id, out, counts[t.name], advance, decrypt=key is not None))
            moves = [json.loads(r[0]) for r in conn.execute(composed("lifecycle.moves", move=composed("lifecycle.move")),
                                                             {"tenant_id": tenant.id})]
    finally:
        conn.isolation_level = None
        conn.read_only = None
    manifest = {
        "format": FORMAT,
        "dom360db_version": __version__,
        "schema_version": max(versions, default=0),
        "schema_versions": versions,
        "source": source,
        "exported_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "tenant": {"id": str(tenant.id), "slug": tenant.slug, "name": tenant.name, "status": tenant.status},
        "secrets": SECRETS_CIPHERTEXT if key is None else SECRETS_PLAINTEXT,
        "not_exported": {name: "derived (rebuilt by dom360db refresh)" for name in DERIVED},
        "message_months": months,
        "tables": entries,
        "lifecycle": moves,
    }
    with conn.transaction():  # the EXPORT record and the manifest that carries it: both or neither
        conn.execute(composed("lifecycle.portable_session"))
        set_tenant(conn, tenant.id)
        moves.append(audit(conn, tenant.id, "EXPORT", {"rows": sum(e["rows"] for e in entries),
                                                       "tables": len(entries), "format": FORMAT}))
        (out / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return Export(tenant, manifest)


def _copy_table(conn: psycopg.Connection, t: TenantTable, tenant_id: uuid.UUID, out: Path, expected: int,
                advance: Advance, *, decrypt: bool) -> dict[str, Any]:
    """Stream one table to `<table>.jsonl`; its manifest entry."""
    digest, rows = hashlib.sha256(), 0
    columns: sql.Composable = sql.SQL("d.*")
    if decrypt and any(map(is_secret, t.columns)):
        columns = sql.SQL(", ").join(
            sql.SQL("dom360.decrypt_sensitive_field(d.{0}) AS {0}" if is_secret(c) else "d.{0}").format(sql.Identifier(c))
            for c in t.columns)
    stmt = composed("lifecycle.copy_out", columns=columns, table=sql.Identifier(t.name),
                    tenant_column=sql.Identifier(t.tenant_column), tenant_id=sql.Literal(str(tenant_id)), skip=skip(t),
                    key=sql.SQL(", ").join(map(sql.Identifier, t.key_columns)))
    path = out / t.file
    with path.open("wb") as f, conn.cursor().copy(stmt) as copy:
        for block in copy:
            data = bytes(block)
            f.write(data)
            digest.update(data)
            n = data.count(b"\n")
            rows += n
            advance(n)
    if rows != expected:
        raise Dom360Error(f"{t.name}: wrote {rows} row(s), counted {expected} in the same snapshot (a bug)")
    return {"table": t.name, "file": t.file, "rows": rows, "sha256": digest.hexdigest(), "columns": t.columns,
            "key": t.key_columns, "load_order": t.load_order}
