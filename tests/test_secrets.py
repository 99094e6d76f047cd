"""Secrets: encryption helpers, secrets stored only encrypted, get_tenant_config, and `dom360db rotate-key`
(resumable after being killed, under concurrent writes, as a non-superuser member of the owner role)."""

from __future__ import annotations

import base64
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import errors, sql
from psycopg.rows import dict_row

from dom360db import secrets as rotation
from dom360db.client import Dom360

import support
from support import LOGIN_PASSWORD, Database, scalar, with_db

OLD = "old-" + secrets.token_urlsafe(32)
NEW = "new-" + secrets.token_urlsafe(32)
SECRETS = ("agents_api_token", "webhook_secret")
#: Plaintexts for the property tests: long enough that finding one inside a ciphertext by chance is out of
#: the question; any Unicode but NUL (PostgreSQL text cannot hold it) and lone surrogates (not UTF-8).
CHARACTERS = st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00")
PLAINTEXTS = st.text(CHARACTERS, min_size=8, max_size=300)
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def set_key(conn: psycopg.Connection, key: str | None, setting: str = "app.encryption_key") -> None:
    """The way docs/secrets-and-audit.md says to pass a key: a bind parameter of set_config, transaction-scoped."""
    conn.execute("SELECT set_config(%s, %s, true)", [setting, key or ""])


@contextmanager
def tenant_tx(db: Database, tenant: uuid.UUID, key: str | None = None,
              previous: str | None = None) -> Iterator[psycopg.Connection]:
    """A transaction of the app role for `tenant`, with the encryption key (and the previous one) set."""
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [tenant])
        if key:
            set_key(c, key)
        if previous:
            set_key(c, previous, "app.encryption_key_previous")
        yield c


def store(db: Database, tenant: uuid.UUID, key: str, **values: str | None) -> None:
    with tenant_tx(db, tenant, key) as c:
        for name, value in values.items():
            c.execute("SELECT dom360.set_account_secret(%s, %s)", [name, value])


def config(db: Database, tenant: uuid.UUID, key: str | None = None, previous: str | None = None) -> dict[str, Any]:
    with tenant_tx(db, tenant, key, previous) as c, c.cursor(row_factory=dict_row) as cur:
        row = cur.execute("SELECT * FROM dom360.get_tenant_config()").fetchone()
    assert row is not None
    return row


def decrypts_with(db: Database, tenant: uuid.UUID, key: str) -> dict[str, bool]:
    """Per secret present: does it decrypt with `key`? (as the superuser, through verify_tenant_secrets)"""
    with db.admin() as c, c.transaction():
        c.execute("SELECT set_config('app.tenant_id', %s, true)", [str(tenant)])
        present = scalar(c, "SELECT secrets_present FROM dom360.get_tenant_config()")
        failed = scalar(c, "SELECT failed FROM dom360.verify_tenant_secrets(%s)", [key])
    return {name: name not in failed for name in present}


def tenants_with_secrets(db: Database, n: int, key: str = OLD) -> dict[uuid.UUID, dict[str, str]]:
    """n tenants, each with both secrets encrypted with `key`; returns their plaintexts, by tenant id."""
    out: dict[uuid.UUID, dict[str, str]] = {}
    for i in range(n):
        tid = db.create_tenant(f"sec-{i:03d}")
        values = {name: f"{name}-{i}-{secrets.token_hex(8)}" for name in SECRETS}
        store(db, tid, key, **values)
        out[tid] = values
    return out


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return support.cli(*args, env={**os.environ, "OLD_KEY": OLD, "NEW_KEY": NEW, **(env or {})})


def rotate_cli(dsn: str, *extra: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    res = cli("rotate-key", "--dsn", dsn, "--old-key-env", "OLD_KEY", "--new-key-env", "NEW_KEY", *extra, env=env)
    for key in (OLD, NEW):
        assert key not in res.stdout + res.stderr, "a key appeared in the output of dom360db"
    return res


# --- encrypt_sensitive_field / decrypt_sensitive_field -----------------------------------------------------

def test_round_trip_with_an_explicit_key_and_with_the_setting(db: Database) -> None:
    with db.app() as c, c.transaction():
        text = "tok_live_Olá_密钥_🔑"
        explicit = scalar(c, "SELECT dom360.encrypt_sensitive_field(%s, %s)", [text, OLD])
        assert scalar(c, "SELECT dom360.decrypt_sensitive_field(%s, %s)", [explicit, OLD]) == text
        set_key(c, OLD)
        from_setting = scalar(c, "SELECT dom360.encrypt_sensitive_field(%s)", [text])
        assert from_setting != explicit  # a fresh salt and session key every time
        for ciphertext in (explicit, from_setting):
            assert scalar(c, "SELECT dom360.decrypt_sensitive_field(%s)", [ciphertext]) == text
            assert scalar(c, "SELECT dom360.decrypt_sensitive_field(%s, %s)", [ciphertext, OLD]) == text
        # an explicit key wins over the setting
        other = scalar(c, "SELECT dom360.encrypt_sensitive_field(%s, %s)", [text, NEW])
        assert scalar(c, "SELECT dom360.decrypt_sensitive_field(%s, %s)", [other, NEW]) == text
        assert c.execute("SELECT dom360.encrypt_sensitive_field(NULL), dom360.decrypt_sensitive_field(NULL)"
                         ).fetchone() == (None, None)


def test_the_options_are_aes256_with_iterated_salted_sha256(db: Database) -> None:
    """OpenPGP packet bytes: symmetric-key session key packet (C3), v4, AES-256 (9), S2K iterated+salted
    (3), SHA-256 (8); no compression packet inside (pgcrypto checks that compress-algo is honoured)."""
    with db.app() as c:
        ciphertext = scalar(c, "SELECT dom360.encrypt_sensitive_field(%s, %s)", ["x" * 200, OLD])
    raw = base64.b64decode(ciphertext)
    assert raw[0] == 0xC3 and raw[2:6] == bytes([4, 9, 3, 8])
    assert "\n" not in ciphertext
    assert len(raw) > 200  # 200 times "x" would compress to a few bytes: no compression (it leaks information)


@pytest.mark.parametrize("setting", [None, ""], ids=["unset", "empty"])
def test_no_key_is_a_clear_error(db: Database, setting: str | None) -> None:
    with db.app() as c:
        with c.transaction():
            ciphertext = scalar(c, "SELECT dom360.encrypt_sensitive_field('secret', %s)", [OLD])
        for stmt, args in (("SELECT dom360.encrypt_sensitive_field('secret')", []),
                           ("SELECT dom360.decrypt_sensitive_field(%s)", [ciphertext]),
                           ("SELECT dom360.encrypt_sensitive_field('secret', '')", []),
                           ("SELECT dom360.decrypt_sensitive_field(%s, '')", [ciphertext])):
            with pytest.raises(errors.InvalidParameterValue, match="no encryption key"), c.transaction():
                if setting is not None:
                    set_key(c, setting)
                c.execute(stmt, args)


def test_the_key_setting_ends_with_the_transaction(db: Database) -> None:
    with db.app() as c:
        with c.transaction():
            set_key(c, OLD)
            ciphertext = scalar(c, "SELECT dom360.encrypt_sensitive_field('secret')")
        assert scalar(c, "SELECT current_setting('app.encryption_key', true)") in (None, "")
        with pytest.raises(errors.InvalidParameterValue, match="no encryption key"), c.transaction():
            c.execute("SELECT dom360.decrypt_sensitive_field(%s)", [ciphertext])


def test_a_short_key_is_refused_for_encryption(db: Database) -> None:
    with db.app() as c, pytest.raises(errors.InvalidParameterValue, match="too short") as info:
        c.execute("SELECT dom360.encrypt_sensitive_field('secret', %s)", ["k" * 31])
    assert "k" * 31 not in str(info.value)


@PROPERTY
@given(wrong=st.text(CHARACTERS, min_size=1, max_size=80))
def test_a_wrong_key_is_a_clear_error_never_garbage(db: Database, wrong: str) -> None:
    if wrong == OLD:
        return
    with db.app() as c:
        ciphertext = scalar(c, "SELECT dom360.encrypt_sensitive_field('the secret', %s)", [OLD])
        for stmt, args, setting in (("SELECT dom360.decrypt_sensitive_field(%s, %s)", [ciphertext, wrong], None),
                                    ("SELECT dom360.decrypt_sensitive_field(%s)", [ciphertext], wrong)):
            with pytest.raises(errors.InvalidAuthorizationSpecification, match="wrong encryption key"), c.transaction():
                if setting is not None:
                    set_key(c, setting)
                c.execute(stmt, args)


def test_errors_never_show_a_key(db: Database) -> None:
    wrong = "wrong-" + secrets.token_urlsafe(32)
    with db.app() as c:
        ciphertext = scalar(c, "SELECT dom360.encrypt_sensitive_field('the secret', %s)", [OLD])
        for fn, arg, key, setting in (("decrypt", ciphertext, wrong, None), ("decrypt", ciphertext, None, wrong),
                                      ("decrypt", ciphertext, "", None), ("decrypt", ciphertext, "tiny-k3y", None),
                                      ("encrypt", "the secret", "", None), ("encrypt", "the secret", "tiny-k3y", None),
                                      ("encrypt", "the secret", None, None)):
            with pytest.raises(psycopg.Error) as info, c.transaction():
                if setting is not None:
                    set_key(c, setting)
                c.execute(sql.SQL("SELECT dom360.{}(%s, %s)").format(sql.Identifier(f"{fn}_sensitive_field")),
                          [arg, key])
            diag = info.value.diag
            text = " ".join(str(x) for x in (info.value, diag.message_detail, diag.message_hint, diag.context))
            assert not [k for k in (wrong, OLD, "tiny-k3y") if k in text], text


def test_a_corrupt_ciphertext_is_a_clear_error(db: Database) -> None:
    with db.app() as c:
        good = scalar(c, "SELECT dom360.encrypt_sensitive_field('the secret', %s)", [OLD])
        raw = bytearray(base64.b64decode(good))
        raw[-5] ^= 0x01  # one bit of the encrypted data: the integrity check (MDC) catches it
        for bad in (base64.b64encode(bytes(raw)).decode(), good[:-12], "not base64 at all!", ""):
            with pytest.raises(errors.InvalidAuthorizationSpecification), c.transaction():
                c.execute("SELECT dom360.decrypt_sensitive_field(%s, %s)", [bad, OLD])


@PROPERTY
@given(plaintext=PLAINTEXTS)
def test_the_ciphertext_never_contains_the_plaintext(db: Database, plaintext: str) -> None:
    with db.app() as c:
        one, two = c.execute("SELECT dom360.encrypt_sensitive_field(%s, %s), dom360.encrypt_sensitive_field(%s, %s)",
                             [plaintext, OLD, plaintext, OLD]).fetchone()
        assert one != two
        for ciphertext in (one, two):
            assert plaintext not in ciphertext
            assert plaintext.encode() not in base64.b64decode(ciphertext)
            back = scalar(c, "SELECT dom360.decrypt_sensitive_field(%s, %s)", [ciphertext, OLD])
            assert back == plaintext


# --- secrets of account_vars --------------------------------------------------------------------------------

def secret_columns(db: Database) -> list[str]:
    with db.admin() as c:
        return [r[0] for r in c.execute(
            "SELECT attname FROM pg_attribute WHERE attrelid = 'dom360.account_vars'::regclass AND attnum > 0 "
            "AND NOT attisdropped AND attname LIKE '%\\_enc' ORDER BY attname")]


def test_secret_columns_are_the_documented_ones(db: Database) -> None:
    assert secret_columns(db) == [f"{name}_enc" for name in sorted(SECRETS)]


@PROPERTY
@given(plaintext=PLAINTEXTS)
def test_secrets_are_stored_only_encrypted(db: Database, plaintext: str) -> None:
    with db.admin() as c:
        tenant = c.execute("SELECT id FROM dom360.tenants WHERE slug = 'vault'").fetchone()
    tenant = tenant[0] if tenant else db.create_tenant("vault")
    store(db, tenant, OLD, **{name: plaintext for name in SECRETS})
    with db.admin() as c:
        stored = c.execute("SELECT agents_api_token_enc, webhook_secret_enc FROM dom360.account_vars "
                           "WHERE tenant_id = %s", [tenant]).fetchone()
    for value in stored:
        assert value.startswith("ww0ECQMI") and plaintext not in value and OLD not in value
        assert plaintext.encode() not in base64.b64decode(value)
    assert config(db, tenant, OLD)["agents_api_token"] == plaintext


@pytest.mark.parametrize("column", ["agents_api_token_enc", "webhook_secret_enc"])
def test_a_plaintext_written_directly_is_refused_without_echoing_it(db: Database, column: str) -> None:
    """The CHECK constraint refuses it; row-level security keeps PostgreSQL from copying the failing row (the
    would-be plaintext) into the error, and so into the server log."""
    tenant = db.create_tenant("direct")
    plaintext = "sk_live_" + secrets.token_hex(16)
    update = sql.SQL("UPDATE dom360.account_vars SET {} = %s").format(sql.Identifier(column))
    with tenant_tx(db, tenant) as c:
        with pytest.raises(errors.CheckViolation, match=f"{column}_check") as info, c.transaction():
            c.execute(update, [plaintext])
        assert plaintext not in f"{info.value} {info.value.diag.message_detail} {info.value.diag.message_hint}"
    with db.admin() as c, pytest.raises(errors.CheckViolation):  # a superuser too
        c.execute(update, [plaintext])


def test_every_secret_column_refuses_a_plaintext(db: Database) -> None:
    """Whatever secret columns a later migration adds: each is guarded like the first ones."""
    tenant = db.create_tenant("guard")
    for column in secret_columns(db):
        with tenant_tx(db, tenant) as c, pytest.raises(errors.CheckViolation), c.transaction():
            c.execute(sql.SQL("UPDATE dom360.account_vars SET {} = 'hunter2hunter2'").format(sql.Identifier(column)))


def test_get_tenant_config_decrypts_only_with_a_key(db: Database) -> None:
    tenant = db.create_tenant("conf")
    assert config(db, tenant)["secrets_present"] == []
    store(db, tenant, OLD, agents_api_token="tok-1")
    without = config(db, tenant)
    assert (without["agents_api_token"], without["webhook_secret"], without["secrets_present"]) == (
        None, None, ["agents_api_token"])
    with_key = config(db, tenant, OLD)
    assert (with_key["agents_api_token"], with_key["webhook_secret"], with_key["secrets_present"]) == (
        "tok-1", None, ["agents_api_token"])
    with pytest.raises(errors.InvalidAuthorizationSpecification):
        config(db, tenant, NEW)
    # during a rotation the backend sets the new key and the previous one: both kinds of rows read
    assert config(db, tenant, NEW, previous=OLD)["agents_api_token"] == "tok-1"
    store(db, tenant, NEW, webhook_secret="wh-2", agents_api_token=None)  # NULL removes a secret
    both = config(db, tenant, NEW, previous=OLD)
    assert (both["agents_api_token"], both["webhook_secret"], both["secrets_present"]) == (
        None, "wh-2", ["webhook_secret"])
    # the existing columns keep their order; the new ones come last
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [tenant])
        cols = [d.name for d in c.execute("SELECT * FROM dom360.get_tenant_config()").description]
    assert cols == ["tenant_id", "agents_endpoint_url", "agents_timeout_ms", "default_agent_type", "rag_enabled",
                    "rag_top_k", "updated_at", "agents_api_token", "webhook_secret", "secrets_present"]


def test_the_client_reports_which_secrets_are_present(db: Database) -> None:
    tenant = db.create_tenant("client")
    store(db, tenant, OLD, webhook_secret="wh-1")
    with Dom360(db.app_dsn, max_size=1) as client, client.tenant(tenant) as tx:
        cfg = tx.tenant_config()
    assert cfg.tenant_id == tenant and cfg.secrets_present == ["webhook_secret"]
    assert cfg.agents_api_token is None and cfg.webhook_secret is None


def test_set_account_secret_refuses_unknown_names_and_a_missing_tenant(db: Database) -> None:
    tenant = db.create_tenant("names")
    with tenant_tx(db, tenant, OLD) as c:
        for name in ("nope", "agents_endpoint_url", "Webhook_Secret", None):
            with pytest.raises(errors.InvalidParameterValue, match="unknown secret") as info, c.transaction():
                c.execute("SELECT dom360.set_account_secret(%s, 'x')", [name])
            assert info.value.diag.message_hint == "known secrets: agents_api_token, webhook_secret"
    with db.app() as c, pytest.raises(errors.InsufficientPrivilege, match="no tenant set"):
        c.execute("SELECT dom360.set_account_secret('webhook_secret', 'x', %s)", [OLD])


def test_neither_key_nor_plaintext_is_stored_anywhere_in_the_database(db: Database) -> None:
    data = tenants_with_secrets(db, 2)
    rotation_env = {**os.environ, "OLD_KEY": OLD, "NEW_KEY": NEW}
    res = subprocess.run([sys.executable, "-m", "dom360db", "rotate-key", "--dsn", db.admin_dsn, "--old-key-env",
                          "OLD_KEY", "--new-key-env", "NEW_KEY"], capture_output=True, text=True, env=rotation_env,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    needles = [OLD, NEW] + [v for values in data.values() for v in values.values()]
    with db.admin() as c:
        tables = c.execute(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
        ).fetchall()
        assert ("dom360", "audit_log") in tables and ("dom360", "account_vars") in tables
        for schema, table in tables:
            text = scalar(c, sql.SQL("SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM {} AS t").format(
                sql.Identifier(schema, table)))
            assert not [n for n in needles if n in text], table
        settings_text = scalar(c, "SELECT coalesce(string_agg(array_to_string(setconfig, ','), ','), '') "
                                  "FROM pg_db_role_setting")
        assert not [n for n in needles if n in settings_text]


def test_the_rotation_session_does_not_log_parameters(db: Database) -> None:
    with psycopg.connect(db.admin_dsn, autocommit=True) as c:
        rotation.prepare_session(c, NEW)
        assert scalar(c, "SHOW log_parameter_max_length") == "0"
        assert scalar(c, "SHOW log_parameter_max_length_on_error") == "0"


# --- rotate-key ---------------------------------------------------------------------------------------------

def test_rotate_key_re_encrypts_every_secret_then_finds_nothing_to_do(db: Database) -> None:
    data = tenants_with_secrets(db, 5)
    bare = db.create_tenant("no-secrets")
    closed = next(iter(data))
    with db.admin() as c:  # closed tenants' secrets are rotated too (set_tenant would refuse them)
        c.execute("UPDATE dom360.tenants SET status = 'closed' WHERE id = %s", [closed])
    first = rotate_cli(db.admin_dsn, "--batch-size", "2")
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == ["rotated 10 secret(s) in 6 tenant(s); 0 already decrypted with the new key"]
    assert "re-encrypting" in first.stderr
    for tenant, values in data.items():
        assert decrypts_with(db, tenant, NEW) == dict.fromkeys(SECRETS, True)
        assert decrypts_with(db, tenant, OLD) == dict.fromkeys(SECRETS, False)
        if tenant != closed:
            got = config(db, tenant, NEW)
            assert {name: got[name] for name in SECRETS} == values
    assert config(db, bare, NEW)["secrets_present"] == []
    again = rotate_cli(db.admin_dsn, "--verify")
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines() == [
        "rotated 0 secret(s) in 6 tenant(s); 10 already decrypted with the new key",
        "verified: all 10 secret(s) of 6 tenant(s) decrypt with the new key"]
    with db.admin() as c:  # the rotation is in the audit log, redacted
        changes = scalar(c, "SELECT changes FROM dom360.audit_log WHERE table_name = 'account_vars' "
                            "AND operation = 'UPDATE' AND actor = current_user ORDER BY id DESC LIMIT 1")
    assert changes == {f"{name}_enc": {"old": "[redacted]", "new": "[redacted]"} for name in SECRETS}


def test_verify_finds_a_secret_the_new_key_cannot_open_and_a_rerun_fixes_it(db: Database) -> None:
    data = tenants_with_secrets(db, 3)
    assert rotate_cli(db.admin_dsn).returncode == 0
    late = sorted(data)[1]
    store(db, late, OLD, webhook_secret="written-late-by-an-old-backend")  # a backend still on the old key
    check = cli("rotate-key", "--dsn", db.admin_dsn, "--new-key-env", "NEW_KEY", "--verify")
    assert check.returncode == 1
    assert check.stderr.strip().splitlines()[-1] == (
        f"dom360db: error: 1 of 6 secret(s) do not decrypt with the new key, in 1 tenant(s): {late}: webhook_secret")
    fix = rotate_cli(db.admin_dsn, "--verify")
    assert fix.returncode == 0, fix.stderr
    assert fix.stdout.splitlines()[0] == "rotated 1 secret(s) in 3 tenant(s); 5 already decrypted with the new key"
    assert config(db, late, NEW)["webhook_secret"] == "written-late-by-an-old-backend"


def test_rotate_key_failures_are_one_line_and_name_no_key(db: Database) -> None:
    data = tenants_with_secrets(db, 2)
    for args, env, message in (
        (("--old-key-env", "UNSET_KEY", "--new-key-env", "NEW_KEY"), {}, "environment variable UNSET_KEY is not set"),
        (("--old-key-env", "OLD_KEY", "--new-key-env", "SAME_KEY"), {"SAME_KEY": OLD}, "are the same"),
        (("--old-key-env", "OLD_KEY", "--new-key-env", "SHORT_KEY"), {"SHORT_KEY": "short"}, "too short"),
        (("--old-key-env", "OTHER_KEY", "--new-key-env", "NEW_KEY"), {"OTHER_KEY": "x" * 40},
         "decrypts with neither the old nor the new key"),
    ):
        res = cli("rotate-key", "--dsn", db.admin_dsn, *args, env=env)
        lines = res.stderr.strip().splitlines()
        assert res.returncode == 1 and lines[-1].startswith("dom360db: error: ") and message in lines[-1], res.stderr
        assert not [k for k in (OLD, NEW, "x" * 40) if k in res.stdout + res.stderr]
    usage = cli("rotate-key", "--dsn", db.admin_dsn, "--new-key-env", "NEW_KEY")
    assert usage.returncode == 2 and "--old-key-env is required" in usage.stderr
    for tenant in data:  # nothing was rotated by the failed runs
        assert decrypts_with(db, tenant, OLD) == dict.fromkeys(SECRETS, True)


def rotator_backends(db: Database) -> list[tuple[int, str | None]]:
    """(pid, wait event type) of the rotation's server processes; on Citus the row lock it waits for is on a
    worker, where Citus' global lock graph shows it ('Lock' then too)."""
    with db.admin() as c:
        if db.server.backend == "citus":
            return c.execute("SELECT a.pid, CASE WHEN EXISTS (SELECT FROM pg_catalog.citus_lock_waits AS w "
                             "WHERE w.waiting_gpid = a.global_pid) THEN 'Lock' ELSE a.wait_event_type END "
                             "FROM pg_catalog.citus_stat_activity AS a WHERE a.datname = current_database() "
                             "AND a.application_name = 'dom360db rotate-key'").fetchall()
        return c.execute("SELECT pid, wait_event_type FROM pg_stat_activity "
                         "WHERE datname = current_database() AND application_name = 'dom360db rotate-key'").fetchall()


def wait_for(predicate: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_rotation_killed_mid_tenant_leaves_whole_tenants_and_resumes(db: Database) -> None:
    data = tenants_with_secrets(db, 8)
    order = sorted(data)  # rotate-key visits tenants in id order
    stuck = order[3]
    env = {**os.environ, "OLD_KEY": OLD, "NEW_KEY": NEW}
    with db.admin() as blocker:
        blocker.execute("BEGIN")
        blocker.execute("SELECT 1 FROM dom360.account_vars WHERE tenant_id = %s FOR UPDATE", [stuck])
        proc = subprocess.Popen([sys.executable, "-m", "dom360db", "rotate-key", "--dsn", db.admin_dsn, "--old-key-env",
                                 "OLD_KEY", "--new-key-env", "NEW_KEY", "--batch-size", "3"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            wait_for(lambda: any(w == "Lock" for _, w in rotator_backends(db)), "rotate-key to wait on the 4th tenant")
            proc.send_signal(signal.SIGKILL)  # killed in the middle of the 4th tenant's transaction
            proc.communicate(timeout=30)
        finally:
            if proc.poll() is None:
                proc.kill()
            blocker.execute("ROLLBACK")
    wait_for(lambda: not rotator_backends(db), "the killed rotation's server process to end")
    for i, tenant in enumerate(order):  # each tenant entirely rotated or entirely not
        assert decrypts_with(db, tenant, NEW) == dict.fromkeys(SECRETS, i < 3), i
        assert decrypts_with(db, tenant, OLD) == dict.fromkeys(SECRETS, i >= 3), i
    resumed = rotate_cli(db.admin_dsn, "--verify")
    assert resumed.returncode == 0, resumed.stderr
    assert resumed.stdout.splitlines() == [
        "rotated 10 secret(s) in 8 tenant(s); 6 already decrypted with the new key",
        "verified: all 16 secret(s) of 8 tenant(s) decrypt with the new key"]
    for tenant, values in data.items():
        got = config(db, tenant, NEW)
        assert {name: got[name] for name in SECRETS} == values


def test_rotation_interrupted_in_process_resumes(db: Database) -> None:
    data = tenants_with_secrets(db, 5)
    done: list[int] = []

    def advance() -> None:
        done.append(1)
        if len(done) == 2:
            raise KeyboardInterrupt  # Ctrl-C right after the 2nd tenant's commit

    with psycopg.connect(db.admin_dsn, autocommit=True) as c, pytest.raises(KeyboardInterrupt):
        rotation.rotate(c, OLD, NEW, batch_size=2, advance=advance)
    assert sorted(all(decrypts_with(db, t, NEW).values()) for t in data) == [False, False, False, True, True]
    with psycopg.connect(db.admin_dsn, autocommit=True) as c:
        result = rotation.rotate(c, OLD, NEW, batch_size=2)
        assert (result.tenants, result.rotated, result.already) == (5, 6, 4)
        assert rotation.verify(c, NEW).failures == []


def test_rotation_under_concurrent_writes_and_reads(db: Database) -> None:
    """Backends already on the new key (with the old one as previous) keep writing and reading secrets while
    rotate-key runs: no read fails, no write is lost, and every secret ends under the new key."""
    data = tenants_with_secrets(db, 40)
    tenants = sorted(data)
    last = {t: values["agents_api_token"] for t, values in data.items()}  # last committed token per tenant
    written = {t: {values["agents_api_token"]} for t, values in data.items()}
    stop = threading.Event()
    failures: list[BaseException] = []
    writes = [0]
    reads = [0]

    def writer(mine: list[uuid.UUID]) -> None:
        try:
            with db.app() as c:
                n = 0
                while not stop.is_set():
                    tenant = mine[n % len(mine)]
                    value = f"tok-{n}-{secrets.token_hex(4)}"
                    written[tenant].add(value)
                    with c.transaction():
                        c.execute("SELECT dom360.set_tenant(%s)", [tenant])
                        set_key(c, NEW)
                        c.execute("SELECT dom360.set_account_secret('agents_api_token', %s)", [value])
                        c.execute("UPDATE dom360.account_vars SET rag_top_k = %s", [n % 100 + 1])
                    last[tenant] = value
                    writes[0] += 1
                    n += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    def reader() -> None:
        try:
            with db.app() as c:
                n = 0
                while not stop.is_set():
                    tenant = tenants[n % len(tenants)]
                    with c.transaction():
                        c.execute("SELECT dom360.set_tenant(%s)", [tenant])
                        set_key(c, NEW)
                        set_key(c, OLD, "app.encryption_key_previous")
                        token, hook = c.execute(
                            "SELECT agents_api_token, webhook_secret FROM dom360.get_tenant_config()").fetchone()
                    assert token in written[tenant] and hook == data[tenant]["webhook_secret"]
                    reads[0] += 1
                    n += 1
        except BaseException as exc:  # noqa: BLE001 - reported below
            failures.append(exc)

    threads = [threading.Thread(target=writer, args=(tenants[0::2],)),
               threading.Thread(target=writer, args=(tenants[1::2],)),
               threading.Thread(target=reader)]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: writes[0] >= 10 and reads[0] >= 5 or bool(failures), "the backends to get going")
        before = writes[0]
        with psycopg.connect(db.admin_dsn, autocommit=True) as c:
            result = rotation.rotate(c, OLD, NEW, batch_size=7)
        during = writes[0] - before
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not failures, failures[0]
    assert during > 0, "no write overlapped the rotation: the test proves nothing"
    assert result.tenants == 40 and result.rotated + result.already == 80
    assert result.already > 0  # tokens the backends had already written with the new key
    with psycopg.connect(db.admin_dsn, autocommit=True) as c:
        assert rotation.verify(c, NEW).failures == []
    for tenant in tenants:
        got = config(db, tenant, NEW)
        assert (got["agents_api_token"], got["webhook_secret"]) == (last[tenant], data[tenant]["webhook_secret"])


def test_a_write_racing_the_rotation_of_its_tenant_is_not_lost(db: Database) -> None:
    """A backend's uncommitted write of a secret, then the rotation of that tenant: the rotation waits for it and
    keeps it (it locks the row before reading it), instead of writing the re-encrypted old value over it."""
    data = tenants_with_secrets(db, 1)
    [tenant] = data
    outcome: list[Any] = []
    with db.app() as writer:
        writer.execute("SELECT dom360.set_tenant(%s)", [tenant])
        set_key(writer, NEW)
        writer.execute("SELECT dom360.set_account_secret('agents_api_token', 'written-during-the-rotation')")

        def rotate() -> None:
            try:
                with psycopg.connect(db.admin_dsn, autocommit=True, application_name="dom360db rotate-key") as c:
                    outcome.append(rotation.rotate(c, OLD, NEW))
            except BaseException as exc:  # noqa: BLE001 - reported below
                outcome.append(exc)

        thread = threading.Thread(target=rotate)
        thread.start()
        wait_for(lambda: any(w == "Lock" for _, w in rotator_backends(db)), "the rotation to wait for the writer")
        writer.commit()
        thread.join(timeout=60)
    [result] = outcome
    assert isinstance(result, rotation.Rotation), result
    assert (result.rotated, result.already) == (1, 1)
    got = config(db, tenant, NEW)
    assert (got["agents_api_token"], got["webhook_secret"]) == ("written-during-the-rotation",
                                                                data[tenant]["webhook_secret"])


def test_rotate_key_as_a_non_superuser_member_of_the_owner_role(db: Database) -> None:
    """Row-level security is forced on the owner: the command must visit each tenant itself."""
    data = tenants_with_secrets(db, 3)
    login = f"dom360_test_rotator_{uuid.uuid4().hex[:8]}"
    with db.admin() as c:
        c.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE dom360_owner").format(
            sql.Identifier(login), sql.Literal(LOGIN_PASSWORD)))
    try:
        dsn = with_db(db.server.admin_dsn, db.name, user=login, password=LOGIN_PASSWORD)
        with psycopg.connect(dsn) as c:  # it sees no tenant by itself
            assert scalar(c, "SELECT count(*) FROM dom360.tenants") == 0
            assert scalar(c, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user") is False
        res = rotate_cli(dsn, "--verify")
        assert res.returncode == 0, res.stderr
        assert res.stdout.splitlines()[0] == "rotated 6 secret(s) in 3 tenant(s); 0 already decrypted with the new key"
        with db.admin() as c:
            actors = {r[0] for r in c.execute(
                "SELECT DISTINCT actor FROM dom360.audit_log WHERE table_name = 'account_vars' "
                "AND operation = 'UPDATE' AND tenant_id = ANY(%s)", [list(data)])}
        assert login in actors
    finally:
        with db.admin() as c:
            c.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))
