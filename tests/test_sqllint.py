"""`make lint` flags lock-heavy DDL in new versioned files with squawk; shipped files are accepted as they are."""

from __future__ import annotations

import shutil
from pathlib import Path

from dom360db import sqllint
from dom360db.sqlfiles import sql_root


def _copy(tmp_path: Path) -> Path:
    root = tmp_path / "sql"
    shutil.copytree(sql_root(), root)
    return root


def test_the_repository_is_clean() -> None:
    code, report = sqllint.lint()
    assert code == 0, report


def test_a_blocking_index_in_a_new_file_is_flagged_and_can_be_accepted_with_a_reason(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    new = root / "schema" / "0079_lint_probe.sql"
    new.write_text("CREATE INDEX messages_probe_idx ON dom360.messages (tenant_id, role);\n"
                   "ALTER TABLE dom360.inboxes ADD CONSTRAINT inboxes_probe_check CHECK (name <> '');\n",
                   encoding="utf-8")
    code, report = sqllint.lint(root)
    assert code != 0
    assert "require-concurrent-index-creation" in report and "constraint-missing-not-valid" in report
    assert "sql/schema/0079_lint_probe.sql" in report and "squawk-ignore" in report
    assert "0012_messages" not in report  # shipped: accepted as it is
    new.write_text("-- squawk-ignore require-concurrent-index-creation\n"
                   "CREATE INDEX messages_probe_idx ON dom360.messages (tenant_id, role);\n", encoding="utf-8")
    code, report = sqllint.lint(root)
    assert code == 0, report
