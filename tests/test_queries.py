"""The query registry (sql/queries/): every query named once, described, and every name the code asks for exists."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from dom360db import queries

from support import Database, scalar

PACKAGE = Path(queries.__file__).resolve().parent


def test_every_query_has_a_one_line_description() -> None:
    undescribed = [f"{q.module}.{q.name}" for m in queries.registry().values() for q in m.values() if not q.description]
    assert not undescribed


def test_a_name_defined_twice_in_one_file_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "queries").mkdir()
    (tmp_path / "queries" / "x.sql").write_text("-- name: a --\n-- One.\nSELECT 1;\n-- name: a --\n-- Two.\nSELECT 2;\n")
    monkeypatch.setattr(queries, "sql_root", lambda: tmp_path)
    queries.registry.cache_clear()
    try:
        with pytest.raises(KeyError, match="x.sql: query a is defined twice"):
            queries.registry()
    finally:
        queries.registry.cache_clear()


def test_every_name_the_package_asks_for_exists() -> None:
    asked = set()
    for path in PACKAGE.rglob("*.py"):
        asked |= set(re.findall(r'(?:query|composed)\("([a-z_]+\.[a-z_]+)"', path.read_text(encoding="utf-8")))
    assert len(asked) > 50
    known = {f"{q.module}.{q.name}" for m in queries.registry().values() for q in m.values()}
    assert sorted(asked - known) == []


def test_no_role_name_is_written_into_a_query() -> None:
    """Role names are bound parameters (`%(app_role)s`): the configured names, never the defaults as text."""
    texts = [q.text for m in queries.registry().values() for q in m.values()]
    assert not [t for t in texts if re.search(r"\bdom360_(app|owner|analytics|backup)\b|\{role\}", t)]



def test_scalar_is_the_first_column_of_the_first_row(db: Database) -> None:
    with db.admin() as c:
        assert scalar(c, "SELECT %s::int + 1, 'second'", [41]) == 42
        with pytest.raises(LookupError, match="no row"):
            scalar(c, "SELECT 1 WHERE false")
