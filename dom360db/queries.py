"""The query registry: every named query the package runs, from `sql/queries/<module>.sql`.

Each query starts with a header `-- name: <name> --` followed by a one-line description (a `--` comment);
everything up to the next header is the query. Python never builds SQL: it asks here by `module.name`.
Values, role names included, are bound parameters (`%(app_role)s`), never text pasted into a query.
The files are found where the migrations are (`sql_root()`: a checkout, or inside the installed wheel).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from psycopg import sql

from dom360db.sqlfiles import sql_root

QUERIES_DIR = "queries"
_HEADER = re.compile(r"^-- name: ([a-z_]+) --$", re.MULTILINE)


@dataclass(frozen=True)
class Query:
    module: str  # the file's stem: sql/queries/<module>.sql
    name: str
    description: str  # the comment line under the header ("" when it has none: tests/test_queries.py fails)
    text: str


def _description(body: str) -> str:
    first = body.lstrip().splitlines()[0] if body.strip() else ""
    return first[2:].strip() if first.startswith("--") else ""


def parse_file(path: Path) -> dict[str, Query]:
    """Every query of one file of named queries, by name, in file order (bench/sql/ has files of this form too)."""
    parts = _HEADER.split(path.read_text(encoding="utf-8"))
    queries: dict[str, Query] = {}
    for name, body in zip(parts[1::2], parts[2::2], strict=True):
        if name in queries:
            raise KeyError(f"{path.parent.name}/{path.name}: query {name} is defined twice")
        queries[name] = Query(path.stem, name, _description(body), body.strip())
    return queries


@cache
def registry() -> dict[str, dict[str, Query]]:
    """Every query of every file, by module then name, in file order."""
    return {path.stem: parse_file(path) for path in sorted((sql_root() / QUERIES_DIR).glob("*.sql"))}


def named_queries(module: str) -> dict[str, str]:
    """Every query of `sql/queries/<module>.sql`, by name, in file order."""
    return {name: q.text for name, q in registry()[module].items()}


def query(name: str) -> str:
    """The text of query `module.name` (a KeyError names a typo at once)."""
    module, _, short = name.partition(".")
    return registry()[module][short].text


def composed(name: str, **identifiers: sql.Composable) -> sql.Composed | sql.SQL:
    """Query `module.name` as psycopg.sql, its `{placeholders}` (identifiers, column lists) filled in."""
    text = sql.SQL(query(name))  # type: ignore[arg-type]
    return text.format(**identifiers) if identifiers else text
