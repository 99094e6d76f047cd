"""docs/sql-api.md is what `dom360db gen docs` writes from a migrated database: the SQL API reference is the
database's own COMMENT ON text, so a changed function or comment without the regenerated page fails here."""

from __future__ import annotations

from pathlib import Path

from dom360db import gen_docs

from support import Database, scalar

DOC = Path(__file__).resolve().parent.parent / gen_docs.DOC_FILE


def test_the_sql_api_reference_is_current(db: Database) -> None:
    with db.admin() as c:
        fresh = gen_docs.generate(c)
    assert fresh == DOC.read_text(encoding="utf-8"), f"{gen_docs.DOC_FILE} is stale: run {gen_docs.REGENERATE}"


def test_a_changed_comment_makes_it_stale(db: Database) -> None:
    with db.admin() as c:
        c.execute("COMMENT ON FUNCTION dom360.set_tenant(uuid) IS 'Changed by a test.'")
        fresh = gen_docs.generate(c)
    assert "Changed by a test." in fresh and fresh != DOC.read_text(encoding="utf-8")


def test_every_function_is_listed_with_who_may_execute_it(db: Database) -> None:
    with db.admin() as c:
        count = scalar(c, "SELECT count(*) FROM pg_proc WHERE pronamespace = 'dom360'::regnamespace")
    text = DOC.read_text(encoding="utf-8")
    assert text.count("\nExecutable by: ") == count
    assert "(no comment)" not in text
