"""Upgrades upgrade (issue 10).

- From the upgrade baseline (dom360db.shipped.BASELINE): a database migrated by that release's own code
  (its whole tree, from git, run in a subprocess with its own Python modules), filled through the public
  API, then migrated by this tree: the data, numbering, counters, summary and secrets are as they were
  and keep working, and `doctor` finds it identical to a fresh install.
- From before the baseline (a database migrated at PRE_BASELINE, whose schema/0012 differs from the
  shipped one): `migrate` refuses with the way out and applies nothing, `doctor` reports instead of
  crashing, and the way out (docs/operations.md: a new database, the data moved with a data-only dump)
  gives a working database.

CI clones with history; without the git objects these tests fail with what to do, they do not skip.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from click.testing import CliRunner

from dom360db import cli, config, doctor, shipped, sqlfiles

import dataset
import pgtools
from support import Server, scalar

REPO = Path(__file__).resolve().parent.parent
PRE_BASELINE = "7a52a67"  # the first commit with the chat schema; its 0012_messages.sql was edited later


def tree_at(rev: str, dest: Path) -> Path:
    """The whole package as it was at `rev` (git archive), in `dest`."""
    r = subprocess.run(["git", "-C", str(REPO), "archive", "--format=tar", rev], capture_output=True)
    if r.returncode != 0:
        pytest.fail(f"git cannot produce revision {rev} ({r.stderr.decode().strip()}): the upgrade tests need a "
                    "clone with history (git fetch --unshallow)")
    with tarfile.open(fileobj=io.BytesIO(r.stdout)) as tar:
        tar.extractall(dest, filter="data")
    return dest


def old_dom360db(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Run that tree's own `dom360db` (its modules first on the path, its sql/ beside them)."""
    code = ("import sys, dom360db; from pathlib import Path; "
            f"assert Path(dom360db.__file__).resolve().is_relative_to({str(tree.resolve())!r}), dom360db.__file__; "
            "from dom360db.cli import main; main(sys.argv[1:])")
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([sys.executable, "-c", code, *args], cwd=tree, env=env, capture_output=True, text=True,
                          timeout=300)


@pytest.fixture(scope="module")
def baseline_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tree_at(shipped.BASELINE, tmp_path_factory.mktemp("baseline"))


@pytest.fixture
def scratch(server: Server) -> Iterator[str]:
    with server.scratch_database("dom360_upgrade") as dsn:
        yield dsn


def since_baseline() -> list[sqlfiles.SqlFile]:
    """The versioned files added after the baseline (shipped by a later release, or not shipped yet)."""
    listed = shipped.listed()
    return [f for f in sqlfiles.load(config.DEFAULTS) if f.kind == "versioned"
            and (f.path not in listed or listed[f.path].release != shipped.BASELINE)]


def findings(dsn: str) -> list[doctor.Finding]:
    with psycopg.connect(dsn, autocommit=True) as c:
        return doctor.run(c, config.DEFAULTS, sqlfiles.load(config.DEFAULTS))


def summary(dsn: str) -> list[tuple[object, ...]]:
    with psycopg.connect(dsn) as c:
        return c.execute("SELECT tenant_id, month, messages_count, input_tokens, output_tokens, active_inboxes "
                         "FROM dom360.mv_tenant_consumption_summary ORDER BY 1, 2").fetchall()


def test_upgrade_from_the_baseline(server: Server, scratch: str, baseline_tree: Path) -> None:
    old = old_dom360db(baseline_tree, "migrate", "--dsn", scratch)
    assert old.returncode == 0 and old.stdout.startswith("applied "), old.stderr
    tenants = dataset.fill(scratch)
    assert old_dom360db(baseline_tree, "refresh", "--dsn", scratch).returncode == 0
    before, summary_before = dataset.observe(scratch), summary(scratch)
    assert summary_before  # the baseline's summary had rows

    result = CliRunner().invoke(cli.cli, ["migrate", "--dsn", scratch])
    assert result.exit_code == 0, result.output
    upgraded = since_baseline()
    for f in upgraded:  # every versioned file since the baseline was applied, in order
        assert f"applied {f.path}" in result.stderr

    assert dataset.observe(scratch) == before
    assert summary(scratch) == summary_before  # the summary keeps its figures through the upgrade
    # the upgrade's second step (docs/performance.md): the response turns of the rows stored before schema/0100,
    # and the answers index of their partitions (schema/0102 creates it on the partitioned table only)
    r = CliRunner().invoke(cli.cli, ["backfill", "response-times", "--dsn", scratch])
    assert r.exit_code == 0, r.output
    assert findings(scratch) == []  # no pending file, no drift from a fresh install
    dataset.check_alive(scratch, tenants)
    for command in ("refresh", "maintain"):
        r = CliRunner().invoke(cli.cli, [command, "--dsn", scratch])
        assert r.exit_code == 0, r.output


def test_doctor_on_a_baseline_database_reports_what_is_pending(scratch: str, baseline_tree: Path) -> None:
    assert old_dom360db(baseline_tree, "migrate", "--dsn", scratch).returncode == 0
    got = findings(scratch)
    since = {f.path for f in since_baseline()}
    assert since and since <= {f.object for f in got if f.check == "migrations"}
    assert not [f for f in got if f.check == "schema_drift"]


def _old_data(dsn: str) -> None:
    """Data written through the API of the pre-baseline release (no secrets or prices yet)."""
    with psycopg.connect(dsn) as c, c.transaction():
        t = scalar(c, "SELECT dom360.create_tenant('Old', 'old')")
        c.execute("SELECT dom360.set_tenant(%s)", [t])
        inbox = scalar(c, "INSERT INTO dom360.inboxes (name, channel) VALUES ('web', 'web') RETURNING id")
        conv = scalar(c, "SELECT dom360.get_or_create_conversation(%s, 'cust')", [inbox])
        for n in range(3):
            c.execute("SELECT dom360.append_message(%s, 'user', %s, 5, 1, NULL, NULL, %s)", [conv, f"m{n}", f"r{n}"])


def test_a_database_from_before_the_baseline_is_refused_with_the_way_out(server: Server, scratch: str,
                                                                          tmp_path: Path) -> None:
    old_tree = tree_at(PRE_BASELINE, tmp_path / "old")
    assert old_dom360db(old_tree, "migrate", "--dsn", scratch).returncode == 0
    _old_data(scratch)
    with psycopg.connect(scratch) as c:
        applied_before = scalar(c, "SELECT count(*) FROM dom360db_meta.applied_files")

    result = subprocess.run([sys.executable, "-m", "dom360db", "migrate", "--dsn", scratch], capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 1 and result.stderr.count("dom360db: error: ") == 1, result.stderr
    assert "schema/0012_messages.sql" in result.stderr and f"baseline {shipped.BASELINE}" in result.stderr
    assert '"Databases from before the baseline"' in result.stderr and "nothing was applied" in result.stderr
    with psycopg.connect(scratch) as c:
        assert scalar(c, "SELECT count(*) FROM dom360db_meta.applied_files") == applied_before
    got = findings(scratch)  # reports, does not crash
    assert ("migrations", "schema/0012_messages.sql") in {(f.check, f.object) for f in got}

    # the way out (docs/operations.md): a new database migrated by this release, the data moved into it
    with server.scratch_database("dom360_moved") as new:
        assert CliRunner().invoke(cli.cli, ["migrate", "--dsn", new]).exit_code == 0
        b = pgtools.client_bin(scratch)
        data = pgtools.run(b, "pg_dump", "--data-only", "--schema=dom360", "--load-via-partition-root", "--dbname", scratch)
        assert data.returncode == 0, data.stderr.decode()
        env_dsn = f"{new} options='-c session_replication_role=replica'"
        moved = pgtools.run(b, "psql", "--quiet", "--no-psqlrc", "-1", "-v", "ON_ERROR_STOP=1", "--dbname", env_dsn,
                            stdin=data.stdout)
        assert moved.returncode == 0, moved.stderr.decode()
        r = CliRunner().invoke(cli.cli, ["refresh", "--dsn", new])
        assert r.exit_code == 0, r.output
        assert findings(new) == []
        with psycopg.connect(new) as c, c.transaction():
            t = scalar(c, "SELECT id FROM dom360.tenants WHERE slug = 'old'")
            c.execute("SELECT dom360.set_tenant(%s)", [t])
            conv = scalar(c, "SELECT id FROM dom360.conversations")
            again = scalar(c, "SELECT message_index FROM dom360.append_message(%s, 'user', 'x', 0, 0, NULL, NULL, 'r0')",
                              [conv])  # type: ignore[index]
            assert again == 1  # the request ids came along
            nxt = scalar(c, "SELECT message_index FROM dom360.append_message(%s, 'user', 'next')", [conv])
            assert nxt == 4
            history = [r[0] for r in c.execute("SELECT content FROM dom360.recent_messages(%s)", [conv])]
            assert history == ["next", "m2", "m1", "m0"]
            usage = c.execute("SELECT sum(messages_count)::int, sum(input_tokens)::int FROM dom360.tenant_usage()").fetchone()
            assert tuple(usage) == (4, 15)  # type: ignore[arg-type]


def test_migrate_tells_a_local_edit_from_an_old_database(tmp_path: Path) -> None:
    """The pre-baseline message only when the local file is intact: an edited checkout gets the edit message."""
    files = sqlfiles.load(config.DEFAULTS)
    f = next(x for x in files if x.path == "schema/0012_messages.sql")
    assert shipped.predates_baseline(f, "0" * 64)
    edited = sqlfiles.SqlFile(f.kind, f.path, f.version, f.name, f.sql + "\n-- edit\n", f.params)
    assert not shipped.predates_baseline(edited, f.checksum)
    assert not shipped.predates_baseline(f, f.checksum)


def test_a_pre_baseline_database_forced_through_is_told_from_a_fresh_install(scratch: str, tmp_path: Path) -> None:
    """Forcing the checksums of an old database applies the rest on top of its older 0012; doctor then
    reports what differs from a fresh install (the old foreign keys) instead of calling it healthy."""
    old_tree = tree_at(PRE_BASELINE, tmp_path / "old")
    assert old_dom360db(old_tree, "migrate", "--dsn", scratch).returncode == 0
    current = {f.path: f.checksum for f in sqlfiles.load(config.DEFAULTS)}
    with psycopg.connect(scratch) as c:  # what a DBA might do to get past the refusal
        for path, checksum in current.items():
            c.execute("UPDATE dom360db_meta.applied_files SET checksum = %s WHERE path = %s AND kind = 'versioned'",
                      [checksum, path])
    result = CliRunner().invoke(cli.cli, ["migrate", "--dsn", scratch])
    assert result.exit_code == 0, result.output
    drift = [f for f in findings(scratch) if f.check == "schema_drift"]
    tables = {f.object.split(" ", 1)[1].split(".")[0] for f in drift if f.object.startswith("constraint ")}
    assert {"messages", "message_requests"} <= tables, drift
