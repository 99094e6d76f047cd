"""`dom360db tenant import DIR --dsn OTHER`: load an export into another dom360 database, all or nothing.

Checks first, changing nothing: the manifest and every file's sha256 and row count; the target has applied
every versioned file the source had (same or newer schema) and has every exported column; neither the
tenant's id nor its slug exists there, nor an audit trail of that id (a tenant erased there before).

Then one transaction, with the tenant set: each file is copied (`COPY … FROM STDIN`, streamed) into a
temporary table and inserted from there in load order (`dom360.tenant_tables()`), keeping every id:
- conversations and messages go through the messages trigger, the write path of every message, in waves
  (see sql/queries/lifecycle.sql, conversation_waves): it numbers the messages again, and the import checks that the
  numbers, inbox and ids are the exported ones; each conversation is then set to its exported state;
- the consumption counters the trigger wrote are replaced by the exported ones (they are billing figures and
  may count messages that were since forgotten);
- the audit rows that the inserts of configuration rows made the audit trigger write are discarded
  (`dom360.discard_import_audit_rows`), the exported log is inserted as it was (`OVERRIDING SYSTEM VALUE`:
  same ids, times and actors), with the records of the tenant's earlier moves (EXPORT, IMPORT) from the
  manifest's `lifecycle` list, and one IMPORT row is appended;
- the sequences (message ids, audit ids) are moved past the imported values, never back.
Before it, the monthly partitions of the exported messages' months are created where missing (each in its own
short transaction, while they are empty: no row to move, no lock held for long), so that the messages land in
their month and not in the default partition; a refused import leaves them, empty.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from dom360db.connect import error_line, scalar
from dom360db.errors import Dom360Error
from dom360db.progress import Advance
from dom360db.queries import composed
from dom360db.tenant_export import (
    FORMAT,
    FORMAT_1,
    MANIFEST,
    MOVES,
    SECRETS_PLAINTEXT,
    audit,
    is_secret,
    schema_versions,
    set_tenant,
    tenant_tables,
)

CHUNK = 1 << 20
#: Messages per step of the conversation waves (whole conversations): one progress tick each.
WAVE_STEP = 20_000


def read_manifest(src: Path) -> dict[str, Any]:
    path = src / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise Dom360Error(f"{src}: no {MANIFEST} (not a dom360db tenant export)") from exc
    except (OSError, ValueError) as exc:
        raise Dom360Error(f"{path}: unreadable: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") not in (FORMAT, FORMAT_1):
        raise Dom360Error(f"{path}: format {manifest.get('format') if isinstance(manifest, dict) else None!r}, "
                          f"expected {FORMAT!r}")
    try:
        problem = _manifest_problem(manifest)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        problem = f"{type(exc).__name__}: {exc}"
    if problem:
        raise Dom360Error(f"{path}: not a valid manifest ({problem})")
    return manifest


def _manifest_problem(manifest: dict[str, Any]) -> str | None:
    """What is wrong with the manifest's structure (raises on a missing key or a wrong type)."""
    uuid.UUID(manifest["tenant"]["id"])
    if not isinstance(manifest["tenant"]["slug"], str) or not all(isinstance(v, int) for v in manifest["schema_versions"]):
        return "tenant slug or schema versions"
    names = set()
    for e in manifest["tables"]:
        if e["file"] != f"{e['table']}.jsonl" or "/" in e["file"] or e["file"].startswith("."):
            return f"file {e['file']!r} of table {e['table']!r}: a bare <table>.jsonl of this directory is expected"
        if not isinstance(e["rows"], int) or not isinstance(e["sha256"], str) or not isinstance(e["columns"], list):
            return f"rows, sha256 or columns of table {e['table']!r}"
        names.add(e["table"])
    if ("messages" in names) != ("conversations" in names):
        return "messages and conversations are exported together or not at all"
    moves = lifecycle(manifest)
    if not isinstance(moves, list) or (moves and "audit_log" not in names):
        return "lifecycle: a list, with the audit log exported"
    for record in moves:
        if (not isinstance(record, dict) or record.get("operation") not in MOVES or not isinstance(record.get("id"), int)
                or record.get("tenant_id") != manifest["tenant"]["id"]):
            return f"lifecycle record {record!r}: an EXPORT or IMPORT audit row of the tenant is expected"
    return None


def lifecycle(manifest: dict[str, Any]) -> Any:
    """The records of the tenant's moves (EXPORT, IMPORT audit rows); a format 1 export has them in its audit log."""
    return manifest.get("lifecycle", []) if manifest["format"] == FORMAT_1 else manifest["lifecycle"]


def verify_files(src: Path, manifest: dict[str, Any], advance: Advance = lambda n: None) -> None:
    """Every file's sha256 and line count against the manifest (read once, in chunks)."""
    for entry in manifest["tables"]:
        path = src / entry["file"]
        digest, rows = hashlib.sha256(), 0
        try:
            with path.open("rb") as f:
                while chunk := f.read(CHUNK):
                    digest.update(chunk)
                    n = chunk.count(b"\n")
                    rows += n
                    advance(n)
        except OSError as exc:
            raise Dom360Error(f"{path}: {exc.strerror}") from exc
        if digest.hexdigest() != entry["sha256"] or rows != entry["rows"]:
            raise Dom360Error(f"{path}: does not match the manifest (sha256 or row count): the export is damaged")


@dataclass
class Import:
    tenant_id: uuid.UUID
    slug: str
    rows: int = 0
    partitions_created: list[str] = field(default_factory=list)

    @property
    def summary(self) -> str:
        made = f"; created partition(s) {', '.join(self.partitions_created)}" if self.partitions_created else ""
        return f"imported tenant {self.slug} ({self.tenant_id}): {self.rows:,} row(s){made}"


def check_target(conn: psycopg.Connection, manifest: dict[str, Any]) -> None:
    """Refuse, changing nothing, an import the target cannot take."""
    missing = sorted(set(manifest["schema_versions"]) - set(schema_versions(conn)))
    if missing:
        raise Dom360Error(f"the target's schema is older than the export's (versioned file(s) {', '.join(map(str, missing))} "
                          "not applied there): run dom360db migrate on it first")
    target = {t.name: t for t in tenant_tables(conn)}
    for entry in manifest["tables"]:
        t = target.get(entry["table"])
        lacking = sorted(set(entry["columns"]) - set(t.columns)) if t else []
        if t is None or lacking:
            what = f"table dom360.{entry['table']}" if t is None else f"column(s) {', '.join(lacking)} of dom360.{entry['table']}"
            raise Dom360Error(f"the target has no {what}: it is not a dom360 database of the same or a newer schema")
    tenant = manifest["tenant"]
    tid = uuid.UUID(tenant["id"])
    for row in conn.execute(composed("lifecycle.lookup_tenants"), {"slug": tenant["slug"], "id": tid}):
        which = "id" if row[0] == tid else "slug"
        raise Dom360Error(f"the target already has a tenant with {which} "
                          f"{tenant['id'] if which == 'id' else tenant['slug']!r} (status {row[3]}): refused")
    with conn.transaction():
        set_tenant(conn, tid)
        if scalar(conn, composed("lifecycle.audit_rows_exist"), {"tenant_id": tid}):
            raise Dom360Error(f"the target holds the audit trail of an erased tenant with id {tid}: refused "
                              "(its history would mix with the imported one)")


def import_tenant(conn: psycopg.Connection, src: Path, *, key: str | None = None,
                  start: Callable[[int], None] = lambda n: None, advance: Advance = lambda n: None) -> Import:
    """Load the export in `src` into the database of `conn` (autocommit mode).

    An export whose secrets were decrypted needs `key`, which encrypts them in the target.
    """
    manifest = read_manifest(src)
    plaintext = manifest.get("secrets") == SECRETS_PLAINTEXT
    if plaintext and key is None:
        raise Dom360Error(f"{src}: its secrets were exported decrypted: give the target's key (--key-env) to encrypt them")
    total = sum(e["rows"] for e in manifest["tables"])
    messages = sum(e["rows"] for e in manifest["tables"] if e["table"] in ("messages", "conversations"))
    start(2 * total + messages)  # verified, staged, then conversations and messages loaded
    verify_files(src, manifest, advance)
    check_target(conn, manifest)
    tenant = manifest["tenant"]
    out = Import(uuid.UUID(tenant["id"]), tenant["slug"], total)
    for month in manifest.get("message_months", []):  # empty partitions first: rows land in their month
        if scalar(conn, composed("lifecycle.create_month_partition"), {"month": date.fromisoformat(month)}):
            out.partitions_created.append(month[:7])
    tables = {t.name: t for t in tenant_tables(conn)}
    entries = sorted(manifest["tables"], key=lambda e: (tables[e["table"]].load_order, e["table"]))
    try:
        with conn.transaction():
            conn.execute(composed("lifecycle.portable_session"))
            set_tenant(conn, out.tenant_id)
            if plaintext:
                conn.execute(composed("lifecycle.set_key"), {"key": key})
            conn.execute(composed("lifecycle.stage_docs"))
            for e in entries:
                _stage(conn, src / e["file"], e["table"], advance,
                       extra=lifecycle(manifest) if e["table"] == "audit_log" else [])
            for e in entries:
                _load(conn, tables[e["table"]], e["columns"], out.tenant_id, encrypt=plaintext, advance=advance)
            for table, column, sequence in conn.execute(composed("lifecycle.sequences")).fetchall():
                if table in tables and any(e["table"] == table for e in entries):
                    conn.execute(composed("lifecycle.advance_sequence", column=sql.Identifier(column),
                                   stage=sql.Identifier(f"stage_{table}")), {"sequence": sequence})
            audit(conn, out.tenant_id, "IMPORT", {"rows": total, "schema_version": manifest["schema_version"],
                                                  "exported_at": manifest["exported_at"]})
    except psycopg.Error as exc:
        raise Dom360Error(f"import refused, nothing was imported: {error_line(exc)}") from exc
    return out


def _stage(conn: psycopg.Connection, path: Path, table: str, advance: Advance, *,
           extra: list[dict[str, Any]]) -> None:
    """COPY one file, and `extra` rows (the manifest's lifecycle records), into pg_temp.stage_<table> (typed
    like the target table)."""
    with conn.cursor().copy(composed("lifecycle.copy_in")) as copy, path.open("rb") as f:
        while chunk := f.read(CHUNK):
            copy.write(chunk)
            advance(chunk.count(b"\n"))
        for row in extra:  # JSON text escapes every control character: one line, no quote or delimiter byte
            copy.write(json.dumps(row).encode() + b"\n")
    conn.execute(composed("lifecycle.stage_table", stage=sql.Identifier(f"stage_{table}"), table=sql.Identifier(table)))
    if table == "messages":
        conn.execute(composed("lifecycle.index_stage_messages"))
    conn.execute(composed("lifecycle.analyze_stage", stage=sql.Identifier(f"stage_{table}")))
    conn.execute(composed("lifecycle.clear_docs"))


def _idents(names: list[str]) -> sql.Composed:
    return sql.SQL(", ").join(map(sql.Identifier, names))


def _load(conn: psycopg.Connection, t: Any, exported: list[str], tenant_id: uuid.UUID, *, encrypt: bool,
          advance: Advance) -> None:
    columns = [c for c in exported if c not in t.generated_columns]
    if t.name == "messages":
        return  # with the conversations
    if t.name == "conversations":
        _load_conversations(conn, columns, tables_columns(conn, "messages"), tenant_id, advance)
        return
    if t.name == "consumption_inbox_daily_stripes":
        conn.execute(composed("lifecycle.drop_counters"), {"tenant_id": tenant_id})  # written by the trigger; exported ones win
    if t.name == "audit_log":
        conn.execute(composed("lifecycle.discard_import_audit_rows"), {"tenant_id": tenant_id})
    values = sql.SQL(", ").join(
        sql.SQL("dom360.encrypt_sensitive_field(s.{})" if encrypt and is_secret(c) else "s.{}").format(sql.Identifier(c))
        for c in columns)
    conn.execute(composed("lifecycle.insert_staged", table=sql.Identifier(t.name), columns=_idents(columns), values=values,
                   stage=sql.Identifier(f"stage_{t.name}"), key=_idents(t.key_columns)))


def tables_columns(conn: psycopg.Connection, table: str) -> list[str]:
    """The staged columns of `table` that the target may write (not generated)."""
    t = next(t for t in tenant_tables(conn) if t.name == table)
    staged = [r[0] for r in conn.execute(composed("lifecycle.staged_columns"), {"stage": f"pg_temp.stage_{table}"})]
    return [c for c in staged if c not in t.generated_columns]


#: Columns of a conversation opened empty before its messages go through the trigger (the exported values are
#: written back by close_wave): closed_at, and the open turn the trigger keeps from the messages (schema/0100).
OPENED_EMPTY = ("closed_at", "turn_asked_at", "last_turn_asked_at")


def _load_conversations(conn: psycopg.Connection, columns: list[str], message_columns: list[str],
                        tenant_id: uuid.UUID, advance: Advance) -> None:
    conn.execute(composed("lifecycle.conversation_waves"), {"step": WAVE_STEP})
    conn.execute(composed("lifecycle.index_waves"))
    conn.execute(composed("lifecycle.analyze_waves"))
    steps = conn.execute(composed("lifecycle.wave_steps")).fetchall()
    opened = [c for c in columns if c != "message_count"]
    open_values = sql.SQL(", ").join(
        sql.SQL("'open'") if c == "status" else sql.SQL("NULL") if c in OPENED_EMPTY
        else sql.SQL("s.{}").format(sql.Identifier(c))
        for c in opened)
    final = [c for c in columns if c not in ("tenant_id", "id", "inbox_id")]
    final_values = sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in final)
    message_values = sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(c)) for c in message_columns)
    for wave, step, weight in steps:
        where = {"wave": wave, "step": step}
        conn.execute(composed("lifecycle.open_wave", columns=_idents(opened), values=open_values), where)
        conn.execute(composed("lifecycle.wave_messages", columns=_idents(message_columns), values=message_values), where)
        conn.execute(composed("lifecycle.close_wave", columns=_idents(final), values=final_values), where)
        # The counters the trigger just wrote are replaced by the exported ones at the end: dropping them after
        # each step keeps each counter row's chain of versions (one per message of its day, none prunable
        # inside this transaction) short; on a busy day it would otherwise be walked by every next message.
        conn.execute(composed("lifecycle.drop_counters"), {"tenant_id": tenant_id})
        advance(weight)
    differ = scalar(conn, composed("lifecycle.renumbered"))
    if differ:
        raise Dom360Error(f"{differ} message(s) were not stored with their exported id, number and inbox: refused")
