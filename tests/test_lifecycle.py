"""Tenant lifecycle (docs/lifecycle.md): export, import into another database, erase a tenant, forget a customer.

Every check compares exports: a tenant's export is a deterministic byte image of its rows, so "untouched" is
"exports identical", and a round trip is "the same files again".
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import conninfo, errors, sql
from psycopg.types.json import Jsonb

from dom360db import cli, tenant_export, tenant_import
from dom360db.errors import Dom360Error

from pgtools import kill9_when
from support import LOGIN_PASSWORD, Database, Server, migrate_database, month_start, owner_login, scalar, seed, with_db

KEY = "lifecycle-test-key-0123456789abcdefghijklmnop"
#: Content that a naive line format would break: newlines, backslashes, quotes, control characters, emoji.
AWKWARD = 'linha 1\nlinha 2 \\ "aspas" \x01\x02\t; Olá 🎉'


def run_cli(dsn: str, *args: str) -> str:
    """In process; the command must succeed. Returns stdout."""
    from click.testing import CliRunner

    result = CliRunner().invoke(cli.cli, [*args, "--dsn", dsn])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return result.stdout


def cli_process(dsn: str, *args: str) -> subprocess.CompletedProcess[str]:
    """As a user runs it (one line and exit 1 on expected failures)."""
    return subprocess.run([sys.executable, "-m", "dom360db", *args, "--dsn", dsn], capture_output=True, text=True,
                          timeout=300)


PROGRESS_LABELS = ("exporting rows", "verifying and loading rows", "erasing rows")


def failure(res: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a refused command (exit 1), besides the progress bar's label in a non-terminal."""
    lines = [line for line in res.stderr.splitlines() if line not in PROGRESS_LABELS]
    assert res.returncode == 1 and len(lines) == 1, res.stderr
    return lines[0]


def export(dsn: str, slug: str, out: Path) -> dict[str, bytes]:
    run_cli(dsn, "tenant", "export", slug, "--out", str(out))
    return {p.name: p.read_bytes() for p in sorted(out.iterdir()) if p.suffix == ".jsonl"}


def manifest_of(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def moves(out: Path) -> list[str]:
    """The operations of the manifest's lifecycle records: the trail of the tenant's moves."""
    return [r["operation"] for r in manifest_of(out)["lifecycle"]]


def assert_same_files(before: dict[str, bytes], after: dict[str, bytes]) -> None:
    """The same data files, every one byte for byte (the manifest, which records the export itself, aside)."""
    assert before.keys() == after.keys()
    for name in before:
        assert after[name] == before[name], name


def populate(db: Database, slug: str) -> uuid.UUID:
    """A tenant with two inboxes, three customers (one with a closed and an open conversation in each inbox),
    messages over 14 months (months with a partition, months without: the default partition, one in 2031),
    a secret, prices, stages, request ids, an agent with settings."""
    tid = db.create_tenant(slug)
    with db.admin() as c:  # partitions for some past months; older ones and 2031 stay in the default partition
        for k in range(2, 8):
            c.execute("SELECT dom360.create_month_partition('dom360.messages', %s)", [month_start(-k).date()])
        c.execute("INSERT INTO dom360.token_prices (tenant_id, agent_type, valid_from, input_price_per_1k, "
                  "output_price_per_1k) VALUES (%s, 'SDR', '2020-01-01', 0.5, 1.25)", [tid])
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [tid])
        c.execute("SELECT set_config('app.encryption_key', %s, true)", [KEY])
        c.execute("SELECT dom360.set_account_secret('agents_api_token', %s)", [f"token-of-{slug}"])
        inboxes = [scalar(c, "INSERT INTO dom360.inboxes (name, channel) VALUES (%s, %s) RETURNING id", [n, ch])
                   for n, ch in (("Site", "web"), ("Zap", "whatsapp"))]
        c.execute("INSERT INTO dom360.users (email, name) VALUES (%s, 'Ana')", [f"ana@{slug}.example"])
        c.execute("INSERT INTO dom360.agents (agent_type, name, settings) VALUES ('SDR', 'Sam', %s)",
                  ['{"tone": "formal", "limits": [1, 2.50, null]}'])
        months = [month_start(-k) + timedelta(days=k, hours=k) for k in range(14)] + [datetime(2031, 5, 2, tzinfo=UTC)]
        for n, customer in enumerate(("cust-1", "cust-2", "+55 11 90000-0003")):
            for inbox in inboxes:
                for closed in (True, False) if customer == "cust-1" else (False,):
                    conv = scalar(c,
                        "INSERT INTO dom360.conversations (inbox_id, external_id, agent_type, created_at) "
                        "VALUES (%s, %s, %s, %s) RETURNING id",
                        [inbox, customer, "COPILOT" if n == 2 else None,
                         month_start(-14) + timedelta(days=n, minutes=0 if closed else 5)])
                    for k, when in enumerate(months[n::2]):
                        c.execute("INSERT INTO dom360.messages (conversation_id, role, content, input_tokens, output_tokens,"
                                  " tool_calls, metadata, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                                  [conv, "user" if k % 2 == 0 else "assistant", f"{customer} #{k} {AWKWARD}", 10 + k, k,
                                   '[{"name": "lookup", "args": {"q": "2 quartos"}}]' if k == 1 else None,
                                   '{"ip": "10.0.0.1"}' if k == 0 else None, when + timedelta(minutes=closed)])
                    if closed:
                        c.execute("UPDATE dom360.conversations SET status = 'closed', closed_at = now() WHERE id = %s", [conv])
                    else:
                        c.execute("SELECT * FROM dom360.append_message(%s, 'user', 'agora', 3, 0, NULL, NULL, %s)",
                                  [conv, f"req-{customer}-{inbox}"])
                        c.execute("SELECT dom360.set_conversation_stage(%s, 'qualified')", [conv])
    return tid


def tenant_rows(db: Database, tenant_id: uuid.UUID) -> dict[str, int]:
    """Rows of the tenant in every tenant table but the audit log (as a superuser: no row-level security)."""
    with db.admin() as c:
        tables = [(r[0], r[1]) for r in c.execute("SELECT table_name, tenant_column FROM dom360.tenant_tables()")]
        return {t: scalar(c, sql.SQL("SELECT count(*) FROM dom360.{} WHERE {} = %s").format(
                    sql.Identifier(t), sql.Identifier(col)), [tenant_id])
                for t, col in tables if t != "audit_log"}


@pytest.fixture
def admin_login(db: Database) -> Iterator[str]:
    """A non-superuser administrator: a login member of the owner role (row-level security applies to it)."""
    # the schema version is read from the runner's bookkeeping (its own when the administrator migrates)
    with owner_login(db, "dom360_test_lifecycle", read_meta=True) as dsn:
        yield dsn


@pytest.fixture
def other_db(new_db: Callable[[], Database]) -> Database:
    """A second migrated database: the target of a move."""
    return new_db()


@pytest.fixture
def third_db(new_db: Callable[[], Database]) -> Database:
    """A third migrated database: the second hop of a move."""
    return new_db()


# --- export, import -----------------------------------------------------------------------------------------------

def test_round_trip_gives_the_same_files(db: Database, admin_login: str, other_db: Database, tmp_path: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    acme = populate(db, "acme")
    populate(db, "beta")
    seed(db, "gamma")
    seed(other_db, "zeta")  # the target is not empty
    zeta_before = export(other_db.admin_dsn, "zeta", tmp_path / "zeta1")

    first = export(db.admin_dsn, "acme", tmp_path / "one")
    manifest = json.loads((tmp_path / "one" / "manifest.json").read_text())
    rows = {t["table"]: t["rows"] for t in manifest["tables"]}
    assert rows["messages"] == 66 == tenant_rows(db, acme)["messages"]
    assert rows["conversations"] == 8 and rows["token_prices"] == 1 and rows["conversation_stages"] == 6
    assert manifest["schema_version"] >= 80 and manifest["tenant"]["slug"] == "acme"
    with db.admin() as c:  # the data spans monthly partitions and the default partition
        where = {r[0] for r in c.execute("SELECT tableoid::regclass::text FROM dom360.messages WHERE tenant_id = %s", [acme])}
    assert "dom360.messages_default" in where and len(where) >= 5
    # secrets stay ciphertext; awkward content survives as JSON text, one row per line
    assert b"token-of-acme" not in first["account_vars.jsonl"]
    assert b'"agents_api_token_enc":"ww0ECQMI' in first["account_vars.jsonl"]
    line = next(json.loads(x) for x in first["messages.jsonl"].splitlines() if b"cust-2 #0" in x)
    assert line["content"] == f"cust-2 #0 {AWKWARD}" and line["metadata"] == {"ip": "10.0.0.1"}
    assert "beta" not in first["tenants.jsonl"].decode() and str(acme).encode() in first["tenants.jsonl"]

    monkeypatch.setattr(tenant_import, "WAVE_STEP", 7)  # several steps per wave (whole conversations each)
    login = conninfo.conninfo_to_dict(admin_login)["user"]  # imported by an administrator, not a superuser
    with other_db.admin() as c:
        c.execute(sql.SQL("GRANT USAGE ON SCHEMA dom360db_meta TO {0}; GRANT SELECT ON dom360db_meta.applied_files TO {0}"
                          ).format(sql.Identifier(login)))
    out = run_cli(with_db(other_db.server.admin_dsn, other_db.name, user=login, password=LOGIN_PASSWORD),
                  "tenant", "import", str(tmp_path / "one"))
    assert out.startswith("imported tenant acme")
    again = export(other_db.admin_dsn, "acme", tmp_path / "two")
    assert_same_files(first, again)
    assert_same_files(zeta_before, export(other_db.admin_dsn, "zeta", tmp_path / "zeta2"))
    # the move is in the manifests' trail, with every other audit row in audit_log.jsonl
    assert moves(tmp_path / "one") == ["EXPORT"] and moves(tmp_path / "two") == ["EXPORT", "IMPORT", "EXPORT"]
    assert manifest_of(tmp_path / "two")["lifecycle"][0] == manifest_of(tmp_path / "one")["lifecycle"][0]
    assert {"INSERT", "UPDATE"} <= {json.loads(x)["operation"] for x in first["audit_log.jsonl"].splitlines()}
    for slug in ("beta", "gamma"):  # several tenants into the same target, next to zeta
        files = export(db.admin_dsn, slug, tmp_path / f"{slug}1")
        run_cli(other_db.admin_dsn, "tenant", "import", str(tmp_path / f"{slug}1"))
        assert_same_files(files, export(other_db.admin_dsn, slug, tmp_path / f"{slug}2"))
    assert_same_files(again, export(other_db.admin_dsn, "acme", tmp_path / "three"))
    assert_same_files(zeta_before, export(other_db.admin_dsn, "zeta", tmp_path / "zeta3"))

    with other_db.admin() as c:  # nothing parked: the months got their partitions
        assert scalar(c, "SELECT count(*) FROM dom360.messages_default") == 0
    with other_db.app() as c, c.transaction():  # the app goes on where the source stopped
        c.execute("SELECT dom360.set_tenant(%s)", [acme])
        c.execute("SELECT set_config('app.encryption_key', %s, true)", [KEY])
        assert scalar(c, "SELECT agents_api_token FROM dom360.get_tenant_config()") == "token-of-acme"
        conv, count = c.execute("SELECT id, message_count FROM dom360.conversations WHERE status = 'open' "
                                "ORDER BY id LIMIT 1").fetchone()
        new_id, index, _ = c.execute("SELECT * FROM dom360.append_message(%s, 'user', 'de novo')", [conv]).fetchone()
        assert index == count + 1
        assert new_id > max(json.loads(x)["id"] for x in first["messages.jsonl"].splitlines())
        # a retried request id of the source is still known
        req = json.loads(first["message_requests.jsonl"].splitlines()[0])
        c.execute("SELECT * FROM dom360.append_message(%s, 'user', 'dup', 0, 0, NULL, NULL, %s)",
                  [req["conversation_id"], req["request_id"]])
        assert scalar(c, "SELECT count(*) FROM dom360.message_requests") == rows["message_requests"]
    with other_db.admin() as c:  # later audit rows come after the imported ones
        c.execute("UPDATE dom360.users SET name = 'Ana Maria' WHERE tenant_id = %s", [acme])
        newest = scalar(c, "SELECT max(id) FROM dom360.audit_log WHERE tenant_id = %s AND operation = 'UPDATE'",
                        [acme])
    assert newest > max([json.loads(x)["id"] for x in again["audit_log.jsonl"].splitlines()]
                        + [r["id"] for r in manifest_of(tmp_path / "three")["lifecycle"]])


def audit_trail(db: Database, tenant_id: uuid.UUID) -> list[tuple]:
    """Every audit row of the tenant, every column, in id order (as a superuser)."""
    with db.admin() as c:
        return c.execute("SELECT id, occurred_at, actor, app_user_id, table_name, operation, row_key, changes "
                         "FROM dom360.audit_log WHERE tenant_id = %s ORDER BY id", [tenant_id]).fetchall()


def test_the_trail_of_moves_survives_two_hops(db: Database, other_db: Database, third_db: Database,
                                              tmp_path: Path) -> None:
    """A → B → C: C holds the tenant's original audit rows and every EXPORT and IMPORT record, as they were."""
    acme = populate(db, "acme")
    original = audit_trail(db, acme)
    first = export(db.admin_dsn, "acme", tmp_path / "a")
    in_a = audit_trail(db, acme)
    assert in_a[:-1] == original and in_a[-1][5] == "EXPORT"
    run_cli(other_db.admin_dsn, "tenant", "import", str(tmp_path / "a"))
    second = export(other_db.admin_dsn, "acme", tmp_path / "b")
    in_b = audit_trail(other_db, acme)
    assert in_b[:len(in_a)] == in_a and [r[5] for r in in_b[len(in_a):]] == ["IMPORT", "EXPORT"]
    run_cli(third_db.admin_dsn, "tenant", "import", str(tmp_path / "b"))
    in_c = audit_trail(third_db, acme)
    assert in_c[:len(in_b)] == in_b and [r[5] for r in in_c[len(in_b):]] == ["IMPORT"]
    imports = [r[7] for r in in_c if r[5] == "IMPORT"]  # each names the export it loaded
    assert [i["exported_at"] for i in imports] == [manifest_of(tmp_path / d)["exported_at"] for d in ("a", "b")]
    assert_same_files(first, second)
    assert_same_files(first, export(third_db.admin_dsn, "acme", tmp_path / "c"))
    assert moves(tmp_path / "c") == ["EXPORT", "IMPORT", "EXPORT", "IMPORT", "EXPORT"]

def test_no_export_record_without_its_manifest(db: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The EXPORT record is committed with the manifest that carries it: a manifest not written, no record."""
    acme = seed(db, "acme")
    trail = audit_trail(db, acme.id)
    monkeypatch.setattr(tenant_export, "MANIFEST", "no-such-directory/manifest.json")  # fails after the record
    with psycopg.connect(db.admin_dsn, autocommit=True) as conn, pytest.raises(Dom360Error, match="nothing exported"):
        tenant_export.export(conn, "acme", tmp_path / "x", source="test")
    assert list((tmp_path / "x").iterdir()) == [] and audit_trail(db, acme.id) == trail
    monkeypatch.undo()
    export(db.admin_dsn, "acme", tmp_path / "y")
    assert audit_trail(db, acme.id)[:-1] == trail and moves(tmp_path / "y") == ["EXPORT"]

def test_move_to_a_database_with_another_key(db: Database, other_db: Database, tmp_path: Path) -> None:
    acme = populate(db, "acme")
    target_key = "another-region-key-9876543210zyxwvutsrqpon"
    res = subprocess.run([sys.executable, "-m", "dom360db", "tenant", "export", "acme", "--out", str(tmp_path / "x"),
                          "--key-env", "SOURCE_KEY", "--dsn", db.admin_dsn], capture_output=True, text=True,
                         env={**os.environ, "SOURCE_KEY": KEY})
    assert res.returncode == 0, res.stderr
    assert KEY not in res.stdout + res.stderr
    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text())
    assert manifest["secrets"].startswith("plaintext")
    assert b'"agents_api_token_enc":"token-of-acme"' in (tmp_path / "x" / "account_vars.jsonl").read_bytes()
    refused = failure(cli_process(other_db.admin_dsn, "tenant", "import", str(tmp_path / "x")))  # without a key
    assert refused.endswith("its secrets were exported decrypted: give the target's key (--key-env) to encrypt them")
    res = subprocess.run([sys.executable, "-m", "dom360db", "tenant", "import", str(tmp_path / "x"), "--key-env", "TARGET_KEY",
                          "--dsn", other_db.admin_dsn], capture_output=True, text=True,
                         env={**os.environ, "TARGET_KEY": target_key})
    assert res.returncode == 0, res.stderr
    with other_db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [acme])
        c.execute("SELECT set_config('app.encryption_key', %s, true)", [target_key])
        assert scalar(c, "SELECT agents_api_token FROM dom360.get_tenant_config()") == "token-of-acme"
    # a wrong key: one line, and no partial export left behind
    res = subprocess.run([sys.executable, "-m", "dom360db", "tenant", "export", "acme", "--out", str(tmp_path / "y"),
                          "--key-env", "WRONG", "--dsn", db.admin_dsn], capture_output=True, text=True,
                         env={**os.environ, "WRONG": target_key})
    assert "wrong encryption key" in failure(res) and list((tmp_path / "y").iterdir()) == []


def test_export_as_an_administrator_equals_the_superusers(db: Database, admin_login: str, tmp_path: Path) -> None:
    populate(db, "acme")
    as_admin = export(admin_login, "acme", tmp_path / "admin")
    as_superuser = export(db.admin_dsn, "acme", tmp_path / "super")
    assert_same_files(as_admin, as_superuser)
    admins, superusers = manifest_of(tmp_path / "super")["lifecycle"][-2:]  # each export records itself last
    assert admins == manifest_of(tmp_path / "admin")["lifecycle"][-1]
    assert (admins["operation"], admins["actor"]) == ("EXPORT", conninfo.conninfo_to_dict(admin_login)["user"])
    assert superusers["operation"] == "EXPORT" and superusers["id"] > admins["id"]


def test_import_is_all_or_nothing(db: Database, server: Server, template: str, tmp_path: Path) -> None:
    acme = populate(db, "acme")
    export(db.admin_dsn, "acme", tmp_path / "x")
    with server.scratch_database("dom360_t") as target:  # a target whose message limit refuses a late row
        migrate_database(target, message_max_bytes=60)
        res = cli_process(target, "tenant", "import", str(tmp_path / "x"))
        assert failure(res).startswith("dom360db: error: import refused, nothing was imported: dom360.messages: content is ")
        with psycopg.connect(target, autocommit=True) as c:
            for table in ("tenants", "account_vars", "users", "conversations", "messages", "audit_log",
                          "consumption_inbox_daily_stripes"):
                assert scalar(c, sql.SQL("SELECT count(*) FROM dom360.{}").format(sql.Identifier(table))) == 0
    assert tenant_rows(db, acme)["messages"] > 0


def test_import_refusals(db: Database, other_db: Database, tmp_path: Path) -> None:
    populate(db, "acme")
    export(db.admin_dsn, "acme", tmp_path / "x")
    other_db.create_tenant("acme")  # same slug, another id
    res = cli_process(other_db.admin_dsn, "tenant", "import", str(tmp_path / "x"))
    assert failure(res) == "dom360db: error: the target already has a tenant with slug 'acme' (status active): refused"
    res = cli_process(db.admin_dsn, "tenant", "import", str(tmp_path / "x"))  # same id: the source itself
    assert "already has a tenant with id" in failure(res)
    # a damaged file is refused before anything is written
    path = tmp_path / "x" / "messages.jsonl"
    path.write_bytes(path.read_bytes().replace(b"cust-2", b"cust-9", 1))
    with other_db.admin() as c:
        c.execute("UPDATE dom360.tenants SET slug = 'acme-old'")
    res = cli_process(other_db.admin_dsn, "tenant", "import", str(tmp_path / "x"))
    assert "does not match the manifest" in failure(res)
    res = cli_process(other_db.admin_dsn, "tenant", "import", str(tmp_path))
    assert failure(res) == f"dom360db: error: {tmp_path}: no manifest.json (not a dom360db tenant export)"
    manifest = json.loads((tmp_path / "x" / "manifest.json").read_text())
    for field, forged in (("operation", "DELETE"), ("tenant_id", str(uuid.uuid4()))):  # only the tenant's moves
        record = {**manifest["lifecycle"][0], field: forged}
        (tmp_path / "x" / "manifest.json").write_text(json.dumps({**manifest, "lifecycle": [record]}))
        res = cli_process(other_db.admin_dsn, "tenant", "import", str(tmp_path / "x"))
        assert "not a valid manifest (lifecycle record {" in failure(res)
    manifest["tables"][0]["file"] = "../../etc/passwd"  # a file outside the export is never read
    (tmp_path / "x" / "manifest.json").write_text(json.dumps(manifest))
    res = cli_process(other_db.admin_dsn, "tenant", "import", str(tmp_path / "x"))
    assert "not a valid manifest (file '../../etc/passwd' of table" in failure(res)


def test_an_export_of_format_1_is_still_read(db: Database, other_db: Database, tmp_path: Path) -> None:
    """Format 1 had no lifecycle list: its moves were lines of audit_log.jsonl. They are loaded all the same."""
    acme = populate(db, "acme")
    export(db.admin_dsn, "acme", tmp_path / "old")
    first = export(db.admin_dsn, "acme", tmp_path / "x")  # two moves so far
    manifest = manifest_of(tmp_path / "x")
    audit = tmp_path / "x" / "audit_log.jsonl"
    audit.write_bytes(audit.read_bytes() + b"".join(json.dumps(r).encode() + b"\n" for r in manifest.pop("lifecycle")))
    entry = next(e for e in manifest["tables"] if e["table"] == "audit_log")
    entry["rows"], entry["sha256"] = len(audit.read_bytes().splitlines()), hashlib.sha256(audit.read_bytes()).hexdigest()
    (tmp_path / "x" / "manifest.json").write_text(json.dumps({**manifest, "format": "dom360db-tenant-export/1"}))
    run_cli(other_db.admin_dsn, "tenant", "import", str(tmp_path / "x"))
    assert audit_trail(other_db, acme)[:-1] == audit_trail(db, acme)
    assert_same_files(first, export(other_db.admin_dsn, "acme", tmp_path / "y"))
    assert moves(tmp_path / "y") == ["EXPORT", "EXPORT", "IMPORT", "EXPORT"]


def test_export_refusals(db: Database, tmp_path: Path) -> None:
    seed(db, "acme")
    res = cli_process(db.admin_dsn, "tenant", "export", "nobody", "--out", str(tmp_path / "a"))
    assert failure(res) == "dom360db: error: unknown tenant slug 'nobody'"
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    res = cli_process(db.admin_dsn, "tenant", "export", "acme", "--out", str(tmp_path / "full"))
    assert "directory is not empty" in failure(res)


# --- delete a tenant ----------------------------------------------------------------------------------------------

def test_delete_erases_the_tenant_and_nothing_else(db: Database, admin_login: str, tmp_path: Path) -> None:
    acme = populate(db, "acme")
    populate(db, "beta")
    seed(db, "gamma")
    with db.admin() as c:
        c.execute("REFRESH MATERIALIZED VIEW dom360.mv_tenant_consumption_summary")
    before = {s: export(db.admin_dsn, s, tmp_path / f"{s}1") for s in ("beta", "gamma")}
    res = cli_process(admin_login, "tenant", "delete", "acme", "--confirm", "acme", "--batch-size", "7")
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("erased tenant acme") and "the next `dom360db refresh`" in res.stdout
    assert set(tenant_rows(db, acme).values()) == {0}
    for s in ("beta", "gamma"):
        assert_same_files(before[s], export(db.admin_dsn, s, tmp_path / f"{s}2"))
    with db.admin() as c:
        trail = c.execute("SELECT table_name, operation FROM dom360.audit_log WHERE tenant_id = %s ORDER BY id",
                          [acme]).fetchall()
        assert trail[0] == ("tenants", "INSERT") and trail[-2:] == [("tenants", "DELETE"), ("tenants", "ERASE")]
        assert ("tenants", "UPDATE") in trail  # closed first
        c.execute("REFRESH MATERIALIZED VIEW dom360.mv_tenant_consumption_summary")
        summary = c.execute("SELECT count(*) FROM dom360.mv_tenant_consumption_summary WHERE tenant_id = %s", [acme])
        assert summary.fetchone()[0] == 0
    res = cli_process(db.admin_dsn, "tenant", "delete", "acme", "--confirm", "acme")
    assert failure(res) == "dom360db: error: unknown tenant slug 'acme'"


def test_delete_refuses_a_confirmation_mismatch(db: Database) -> None:
    t = seed(db, "acme")
    res = cli_process(db.admin_dsn, "tenant", "delete", "acme", "--confirm", "acne")
    assert failure(res) == "dom360db: error: --confirm 'acne' does not match the slug 'acme': nothing erased"
    assert tenant_rows(db, t.id)["tenants"] == 1


def test_delete_killed_midway_is_finished_by_the_same_command(db: Database, tmp_path: Path) -> None:
    acme = populate(db, "acme")
    populate(db, "beta")
    before = export(db.admin_dsn, "beta", tmp_path / "b1")
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [acme])
        conv = scalar(c, "SELECT id FROM dom360.conversations WHERE status = 'open' LIMIT 1")
        c.execute("INSERT INTO dom360.messages (conversation_id, role, content, created_at) "
                  "SELECT %s, 'user', 'm' || g, now() - g * interval '2 hours' FROM generate_series(1, 6000) AS g", [conv])
    total = tenant_rows(db, acme)["messages"]
    proc = subprocess.Popen([sys.executable, "-m", "dom360db", "tenant", "delete", "acme", "--confirm", "acme",
                             "--batch-size", "5", "--dsn", db.admin_dsn], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    kill9_when(proc, lambda: tenant_rows(db, acme)["messages"] <= total - 200, "delete")
    left = tenant_rows(db, acme)
    assert 0 < left["messages"] < total and left["tenants"] == 1
    with db.admin() as c:  # closed: the app can no longer write to it meanwhile
        assert scalar(c, "SELECT status FROM dom360.tenants WHERE id = %s", [acme]) == "closed"
    with db.app() as c, pytest.raises(errors.InsufficientPrivilege):
        c.execute("SELECT dom360.set_tenant(%s)", [acme])
    res = cli_process(db.admin_dsn, "tenant", "delete", "acme", "--confirm", "acme", "--batch-size", "500")
    assert res.returncode == 0, res.stderr
    assert set(tenant_rows(db, acme).values()) == {0}
    assert_same_files(before, export(db.admin_dsn, "beta", tmp_path / "b2"))


# --- forget a customer --------------------------------------------------------------------------------------------

def usage(db: Database, tenant_id: uuid.UUID) -> list[tuple]:
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [tenant_id])
        return c.execute("SELECT * FROM dom360.tenant_usage() ORDER BY 1, 2").fetchall()


def test_forget_customer_as_the_app(db: Database, tmp_path: Path) -> None:
    acme, beta = populate(db, "acme"), populate(db, "beta")
    beta_before = export(db.admin_dsn, "beta", tmp_path / "b1")
    acme_usage = usage(db, acme)
    with db.admin() as c:
        held, parked = c.execute(
            "SELECT count(*), count(*) FILTER (WHERE m.tableoid = 'dom360.messages_default'::regclass) FROM dom360.messages m "
            "JOIN dom360.conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id "
            "WHERE m.tenant_id = %s AND c.external_id = 'cust-1'", [acme]).fetchone()
    assert held > 0 and parked > 0
    with db.app() as c:
        with pytest.raises(errors.InsufficientPrivilege, match="no tenant set"), c.transaction():
            c.execute("SELECT * FROM dom360.forget_customer('cust-1')")
        with c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [acme])
            assert c.execute("SELECT * FROM dom360.forget_customer('cust-1')").fetchone() == (4, held)
            assert c.execute("SELECT * FROM dom360.forget_customer('cust-1')").fetchone() == (0, 0)  # nothing left
            assert scalar(c, "SELECT count(*) FROM dom360.conversations WHERE external_id = 'cust-1'") == 0
            # analytics still compute, without the customer
            c.execute("SELECT * FROM dom360.tenant_response_times()").fetchall()
            funnel = c.execute("SELECT stage, sum(conversations) FROM dom360.tenant_lead_funnel() GROUP BY 1").fetchall()
            assert dict(funnel)["new"] == 4
    with db.admin() as c:
        for table in ("messages", "message_requests", "conversation_stages"):  # nothing of the customer left behind
            assert scalar(c, sql.SQL("SELECT count(*) FROM dom360.{} x WHERE x.tenant_id = %s AND NOT EXISTS (SELECT FROM "
                                     "dom360.conversations c WHERE c.tenant_id = x.tenant_id AND c.id = x.conversation_id)"
                                     ).format(sql.Identifier(table)), [acme]) == 0
        row = c.execute("SELECT operation, table_name, row_key, changes, actor FROM dom360.audit_log "
                        "WHERE tenant_id = %s ORDER BY id DESC LIMIT 1", [acme]).fetchone()
    assert row[:4] == ("FORGET", "conversations", {}, {"conversations": 0, "messages": 0})
    assert "cust-1" not in json.dumps(row)
    assert usage(db, acme) == acme_usage  # billing figures kept
    assert_same_files(beta_before, export(db.admin_dsn, "beta", tmp_path / "b2"))  # same customer id there
    assert tenant_rows(db, beta)["conversations"] == 8


def test_forget_customer_never_reaches_another_tenant(db: Database, tmp_path: Path) -> None:
    acme, beta = seed(db, "acme"), seed(db, "beta")
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [beta.id])
        c.execute("SELECT * FROM dom360.append_message(%s, 'user', 'oi')", [beta.conversation])
    before = export(db.admin_dsn, "beta", tmp_path / "b1")
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [acme.id])
        assert c.execute("SELECT * FROM dom360.forget_customer('cust-1')").fetchone() == (1, 0)
    assert_same_files(before, export(db.admin_dsn, "beta", tmp_path / "b2"))
    for call in ("erase_tenant_batch(%s)", "erase_tenant_finish(%s)", "discard_import_audit_rows(%s)",
                 "lookup_tenants('beta', %s)", "tenant_tables() WHERE %s IS NOT NULL"):
        with db.app() as c, pytest.raises(errors.InsufficientPrivilege), c.transaction():  # the owner's, not the app's
            c.execute("SELECT dom360.set_tenant(%s)", [acme.id])
            c.execute(f"SELECT * FROM dom360.{call}", [beta.id])


def test_forget_customer_command(db: Database, admin_login: str, tmp_path: Path) -> None:
    acme = populate(db, "acme")
    populate(db, "beta")
    before = export(db.admin_dsn, "beta", tmp_path / "b1")
    res = cli_process(admin_login, "tenant", "forget-customer", "acme", "+55 11 90000-0003")
    assert res.returncode == 0, res.stderr
    assert res.stdout == "forgot a customer of tenant acme: 2 conversation(s), 16 message(s) erased; usage counters kept\n"
    assert tenant_rows(db, acme)["conversations"] == 6
    assert_same_files(before, export(db.admin_dsn, "beta", tmp_path / "b2"))
    res = cli_process(db.admin_dsn, "tenant", "forget-customer", "nobody", "x")
    assert failure(res) == "dom360db: error: unknown tenant slug 'nobody'"


# --- the format holds any content ---------------------------------------------------------------------------------

TEXT = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=80)
JSON = st.recursive(st.none() | st.booleans() | st.integers(-(2**63), 2**63) | TEXT
                    | st.floats(allow_nan=False, allow_infinity=False),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3), max_leaves=8)


def test_any_content_survives_the_round_trip(db: Database, other_db: Database, tmp_path: Path) -> None:
    """For any message text, customer id and JSON metadata: export → import → export gives the same files."""
    count = iter(range(10**6))

    @settings(max_examples=12, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(customer=TEXT.filter(lambda s: 1 <= len(s.encode()) <= 256 and len(s) >= 1),
           messages=st.lists(st.tuples(TEXT, JSON, st.sampled_from(["user", "assistant", "system", "tool"])),
                             min_size=1, max_size=4))
    def round_trip(customer: str, messages: list[tuple[str, object, str]]) -> None:
        slug = f"prop-{next(count)}"
        t = seed(db, slug)
        with db.app() as c, c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [t.id])
            conv = scalar(c, "SELECT dom360.get_or_create_conversation(%s, %s)", [t.inbox, customer])
            for content, metadata, role in messages:
                c.execute("SELECT * FROM dom360.append_message(%s, %s, %s, 1, 2, NULL, %s)",
                          [conv, role, content, Jsonb(metadata)])
        first = export(db.admin_dsn, slug, tmp_path / f"{slug}-1")
        run_cli(other_db.admin_dsn, "tenant", "import", str(tmp_path / f"{slug}-1"))
        assert_same_files(first, export(other_db.admin_dsn, slug, tmp_path / f"{slug}-2"))
        stored = [json.loads(line) for line in first["messages.jsonl"].splitlines()]
        assert [(m["content"], m["role"]) for m in stored] == [(c, r) for c, _, r in messages]

    round_trip()
