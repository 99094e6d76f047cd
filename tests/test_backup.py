"""Backups restore (issue 10): pg_dump/pg_restore and pg_dump | psql, into a new database of the same
cluster and into a new cluster, by a superuser and by the least-privilege backup role, and a server
killed with SIGKILL in the middle of a restore followed by a clean retry.

After every restore: exit 0 and no error on stderr, the data as it was (tests/dataset.py), numbering,
idempotency, counters, the summary and the secrets working, `dom360db refresh`, `maintain` and `doctor`
healthy. docs/operations.md ("Backups and restore") describes the same procedure.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner
from psycopg import sql

from dom360db import cli, config, doctor, sqlfiles
from dom360db.embedded import EmbeddedServer

import dataset
import pgtools
from support import Database, Server, scalar, with_db

BACKUP_LOGIN = "dom360_test_backup"


def cli_run(dsn: str, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.cli, [*args, "--dsn", dsn])
    return result.exit_code, result.stdout + result.stderr


def findings(dsn: str) -> list[doctor.Finding]:
    with psycopg.connect(dsn, autocommit=True) as c:
        return doctor.run(c, config.DEFAULTS, sqlfiles.load(config.DEFAULTS))


def filled(db: Database, **kw: int) -> tuple[list[uuid.UUID], dict[str, object]]:
    tenants = dataset.fill(db.admin_dsn, **kw)
    code, out = cli_run(db.admin_dsn, "refresh")
    assert code == 0, out
    return tenants, dataset.observe(db.admin_dsn)


def dump(dsn: str, fmt: str, *extra: str) -> bytes:
    r = pgtools.run(pgtools.client_bin(dsn), "pg_dump", f"--format={fmt}", *extra, "--dbname", dsn)
    assert r.returncode == 0, r.stderr.decode()
    return r.stdout


def restore(dsn: str, data: bytes, how: str, bin_dir: Path | None = None) -> subprocess.CompletedProcess[bytes]:
    b = bin_dir or pgtools.client_bin(dsn)
    if how == "pg_restore":
        return pgtools.run(b, "pg_restore", "--dbname", dsn, stdin=data)
    if how == "pg_restore --single-transaction --exit-on-error":
        return pgtools.run(b, "pg_restore", "--single-transaction", "--exit-on-error", "--dbname", dsn, stdin=data)
    if how == "psql":
        return pgtools.run(b, "psql", "--quiet", "--no-psqlrc", "--dbname", dsn, stdin=data)
    assert how == "psql -1 -v ON_ERROR_STOP=1"
    return pgtools.run(b, "psql", "--quiet", "--no-psqlrc", "-1", "-v", "ON_ERROR_STOP=1", "--dbname", dsn, stdin=data)


def assert_clean(r: subprocess.CompletedProcess[bytes]) -> None:
    err = r.stderr.decode()
    assert r.returncode == 0 and "ERROR" not in err and "error:" not in err, err


def assert_restored(dsn: str, tenants: list[uuid.UUID], before: dict[str, object]) -> None:
    """The procedure's last step (`dom360db migrate`: idempotent), then everything as before and working."""
    code, out = cli_run(dsn, "migrate")
    assert code == 0 and "nothing to apply" in out, out
    assert dataset.observe(dsn) == before
    assert findings(dsn) == []
    dataset.check_alive(dsn, tenants)
    for command in ("refresh", "maintain"):
        code, out = cli_run(dsn, command)
        assert code == 0, out


HOW = {"custom": ["pg_restore", "pg_restore --single-transaction --exit-on-error"],
       "plain": ["psql", "psql -1 -v ON_ERROR_STOP=1"]}


@pytest.mark.parametrize(("fmt", "how"), [(f, h) for f, hs in HOW.items() for h in hs])
def test_restore_into_a_new_database_of_the_same_cluster(db: Database, fmt: str, how: str) -> None:
    tenants, before = filled(db)
    data = dump(db.admin_dsn, fmt)
    with db.server.scratch_database("dom360_restore") as target:
        assert_clean(restore(target, data, how))
        with psycopg.connect(target) as c:  # populated by the restore itself, not by a later refresh
            assert scalar(c, "SELECT relispopulated FROM pg_class "
                             "WHERE oid = 'dom360.mv_tenant_consumption_summary'::regclass")  # type: ignore[index]
        assert_restored(target, tenants, before)


def test_doctor_reports_an_unpopulated_summary_and_refresh_populates_it(db: Database) -> None:
    filled(db)
    with db.admin() as c:
        c.execute("REFRESH MATERIALIZED VIEW dom360.mv_tenant_consumption_summary WITH NO DATA")
    assert [f.check for f in findings(db.admin_dsn)] == ["summary_populated"]
    code, out = cli_run(db.admin_dsn, "refresh")  # CONCURRENTLY would refuse an unpopulated view
    assert code == 0, out
    assert findings(db.admin_dsn) == []


@pytest.fixture
def backup_login(server: Server) -> Iterator[str]:
    """A login that is a member of the backup role (created by `dom360db roles`)."""
    code, out = cli_run(server.admin_dsn, "roles")
    assert code == 0, out
    with server.admin() as c:
        c.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(BACKUP_LOGIN)))
        c.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD 'backup-only' IN ROLE dom360_backup")
                  .format(sql.Identifier(BACKUP_LOGIN)))
    try:
        yield BACKUP_LOGIN
    finally:
        with server.admin() as c:
            c.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(BACKUP_LOGIN)))


def test_the_backup_role_takes_complete_backups_and_doctor_accepts_it(db: Database, backup_login: str) -> None:
    tenants, before = filled(db)
    as_backup = with_db(db.admin_dsn, db.name, user=backup_login, password="backup-only")
    assert findings(db.admin_dsn) == []  # the backup role and its login are accepted
    data = dump(as_backup, "custom", "--role=dom360_backup")
    with db.server.scratch_database("dom360_restore") as target:
        assert_clean(restore(target, data, "pg_restore --single-transaction --exit-on-error"))
        assert_restored(target, tenants, before)
    # creating roles needs a superuser: said in one line
    r = subprocess.run([sys.executable, "-m", "dom360db", "roles", "--dsn", as_backup], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1 and r.stderr.startswith("dom360db: error: ") and "needs a superuser" in r.stderr
    assert len(r.stderr.splitlines()) == 1
    # without the role (the login's own rights) pg_dump refuses rather than dumping less
    bare = pgtools.run(pgtools.client_bin(db.admin_dsn), "pg_dump", "--format=custom", "--dbname", as_backup)
    assert bare.returncode != 0


def test_doctor_flags_a_backup_role_that_could_write(db: Database, backup_login: str) -> None:
    with db.admin() as c:
        c.execute("GRANT dom360_app TO dom360_backup")
    try:
        problems = {(f.check, f.object) for f in findings(db.admin_dsn)}
        assert ("backup_role", "dom360_backup") in problems
        assert ("backup_role", backup_login) in problems  # its login is now in the app role and the backup role
    finally:
        with db.admin() as c:
            c.execute("REVOKE dom360_app FROM dom360_backup")


@pytest.fixture(scope="module")
def new_cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServer]:
    """A second, empty PostgreSQL cluster (embedded), as after a disaster."""
    emb = EmbeddedServer(tmp_path_factory.mktemp("new-cluster"))
    emb.up(dbname="postgres")
    try:
        yield emb
    finally:
        emb.down()


def _dsn(emb: EmbeddedServer, dbname: str) -> str:
    info = emb.info()
    assert info is not None
    return with_db(info.dsn, dbname)


def test_restore_into_a_new_cluster_after_dom360db_roles(db: Database, new_cluster: EmbeddedServer) -> None:
    tenants, before = filled(db)
    data = dump(db.admin_dsn, "custom")
    target_server = Server("new-cluster", _dsn(new_cluster, "postgres"))
    restore_bin = pgtools.client_bin(target_server.admin_dsn)
    with psycopg.connect(target_server.admin_dsn, autocommit=True) as c:
        c.execute("DROP ROLE IF EXISTS dom360_backup, dom360_app, dom360_analytics, dom360_owner")
    with target_server.scratch_database("dom360_nc") as target:  # without the roles: refused
        r = restore(target, data, "pg_restore --single-transaction --exit-on-error", restore_bin)
        assert r.returncode != 0 and b'role "dom360_' in r.stderr
    code, out = cli_run(target_server.admin_dsn, "roles")
    assert code == 0 and "created role dom360_owner" in out, out
    with target_server.scratch_database("dom360_nc") as target:
        assert_clean(restore(target, data, "pg_restore --single-transaction --exit-on-error", restore_bin))
        assert_restored(target, tenants, before)
        # a role lost later (renamed here, in this throwaway cluster): doctor reports it with the way out
        with psycopg.connect(target_server.admin_dsn, autocommit=True) as c:
            c.execute("ALTER ROLE dom360_analytics RENAME TO dom360_analytics_lost")
            try:
                got = findings(target)
            finally:
                c.execute("ALTER ROLE dom360_analytics_lost RENAME TO dom360_analytics")
        missing = [f for f in got if f.check == "roles"]
        assert [(f.object, f.problem) for f in missing] == [("dom360_analytics", "role is missing")]
        assert "dom360db roles" in missing[0].fix


def test_a_server_killed_during_pg_restore_then_a_clean_retry(db: Database, new_cluster: EmbeddedServer) -> None:
    tenants, before = filled(db, bulk=10_000)
    data = dump(db.admin_dsn, "custom")
    admin = _dsn(new_cluster, "postgres")
    code, out = cli_run(admin, "roles")
    assert code == 0, out
    target_server = Server("new-cluster", admin)
    restore_bin = pgtools.client_bin(admin)
    name = f"dom360_crash_{uuid.uuid4().hex[:8]}"
    target_server.create_database(name)
    target = with_db(admin, name)
    proc = subprocess.Popen([str(restore_bin / "pg_restore"), "--single-transaction", "--exit-on-error",
                             "--dbname", target], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdin is not None
    proc.stdin.write(data)
    proc.stdin.close()
    with psycopg.connect(admin, autocommit=True) as watch:  # wait until it is loading the messages
        while proc.poll() is None and not scalar(watch,
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND query LIKE 'COPY dom360.messages%%'",
                [name]):  # type: ignore[index]
            time.sleep(0.02)
    assert proc.poll() is None, "the restore finished before the server could be killed: raise bulk"
    info = new_cluster.info()
    assert info is not None
    pgtools.kill9_server(info.data_dir)
    assert proc.wait(timeout=120) != 0
    new_cluster.up(dbname="postgres")  # crash recovery
    with psycopg.connect(target) as c:  # one transaction: nothing of it survived
        assert scalar(c, "SELECT to_regnamespace('dom360')") is None
    target_server.drop_database(name)  # the retry: a new empty database, the same command
    target_server.create_database(name)
    try:
        assert_clean(restore(target, data, "pg_restore --single-transaction --exit-on-error", restore_bin))
        assert_restored(target, tenants, before)
    finally:
        target_server.drop_database(name)
