"""Shipped versioned files stay as they shipped (issue 10): `sql/shipped.json` lists every versioned file of
every release since the upgrade baseline with its checksums, and this fails when one of them is edited."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from dom360db import shipped
from dom360db.config import DEFAULTS
from dom360db.sqlfiles import load, sql_root

REPO = Path(__file__).resolve().parent.parent


def test_no_shipped_versioned_file_was_edited() -> None:
    bad = shipped.problems()
    assert not bad, "\n".join(bad)


def test_every_versioned_file_of_the_baseline_is_listed() -> None:
    """The list covers the baseline release exactly as git has it (CI clones with history)."""
    r = subprocess.run(["git", "-C", str(REPO), "ls-tree", "--name-only", f"{shipped.BASELINE}:sql/schema"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        pytest.fail(f"git cannot read the baseline {shipped.BASELINE} ({r.stderr.strip()}): "
                    "the upgrade checks need a clone with history (git fetch --unshallow)")
    at_baseline = {f"schema/{name}" for name in r.stdout.split()}
    listed = {p for p, s in shipped.listed().items() if s.release == shipped.BASELINE}
    assert listed == at_baseline
    for path in at_baseline:  # and with the very bytes the baseline shipped
        blob = subprocess.run(["git", "-C", str(REPO), "show", f"{shipped.BASELINE}:sql/{path}"], capture_output=True).stdout

        assert hashlib.sha256(blob).hexdigest() == shipped.listed()[path].sha256, path


def test_the_rendered_checksums_are_what_migrate_records() -> None:
    by_path = {f.path: f for f in load(DEFAULTS)}
    for s in shipped.listed().values():
        assert by_path[s.path].checksum == s.rendered_sha256, s.path


def test_an_edit_of_a_shipped_file_is_caught(tmp_path: Path) -> None:
    root = tmp_path / "sql"
    shutil.copytree(sql_root(), root)
    assert shipped.problems(root) == []
    f = root / "schema" / "0012_messages.sql"
    f.write_text(f.read_text(encoding="utf-8") + "\n-- a harmless-looking comment\n", encoding="utf-8")
    (root / "schema" / "0005_tenants.sql").unlink()
    bad = shipped.problems(root)
    assert len(bad) == 2
    assert bad[0].startswith("schema/0005_tenants.sql shipped in f588098 but is gone")
    assert bad[1].startswith("schema/0012_messages.sql was edited after it shipped in f588098")


def test_a_release_adds_its_new_files_and_never_changes_a_listed_one(tmp_path: Path) -> None:
    root = tmp_path / "sql"
    shutil.copytree(sql_root(), root)
    (root / "schema" / "0099_example.sql").write_text("SELECT 1;\n", encoding="utf-8")
    before = shipped.listed(root)
    added = shipped.add("v-next", root)
    assert "schema/0099_example.sql" in added
    after = shipped.listed(root)
    assert {p: after[p] for p in before} == before
    assert after["schema/0099_example.sql"].release == "v-next"
    assert shipped.add("v-next-2", root) == []
