"""The schema as the migrations produce it: a normalised catalog description and its snapshot.

`describe` reads the live catalog of schema `dom360` (tables, columns, constraints, indexes, triggers,
policies, functions, views, grants, owners) into one line per object, `kind<TAB>name<TAB>definition`,
sorted, with role names replaced by their parameter names (`<owner_role>`…) so the text does not depend
on them. Function bodies and view queries are recorded by md5 (their text is in sql/ already).

`sql/catalog.txt` is that description for a database freshly migrated with the default parameters: a
reviewer reads every schema change as a diff of it, `tests/test_schema_snapshot.py` fails when the
migrations and the snapshot drift apart, and `dom360db doctor` reports every difference between a live
database and it (a half-upgraded or hand-altered database is not a fresh install). Regenerate it with

    make snapshot          # = dom360db catalog --write (on the embedded server: a scratch database)
"""

from __future__ import annotations

import hashlib
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
from psycopg import conninfo, sql

from dom360db.config import DEFAULTS
from dom360db.connect import connect
from dom360db.queries import query
from dom360db.sqlfiles import sql_root

SNAPSHOT_FILE = "catalog.txt"
REGENERATE = "make snapshot (or: dom360db catalog --write --dsn <a superuser DSN of a scratch server>)"
_ROLE_KEYS = ("owner_role", "app_role", "analytics_role", "backup_role")
#: Parameters whose values change the described catalog besides role names (constraint bounds, function
#: bodies): the snapshot holds for their defaults only.
_SHAPE_KEYS = ("message_max_bytes", "consumption_stripes", "months_ahead", "months_behind")
HEADER = ("# The catalog of schema dom360 after `dom360db migrate` with the default parameters, one object a line\n"
          "# (kind, name, definition). Generated: do not edit; regenerate with `make snapshot`.\n")


_ONE_LINE = re.compile(r"\s*\n\s*")
_MAINTAIN = re.compile(r"=([A-Za-z*]*?)m([A-Za-z*]*)/")


def _normalise(text: str, params: Mapping[str, Any]) -> str:
    for key in _ROLE_KEYS:
        text = re.sub(rf"(?<![A-Za-z0-9_]){re.escape(str(params[key]))}(?![A-Za-z0-9_])", f"<{key}>", text)
    return _MAINTAIN.sub(r"=\1\2/", text)  # PostgreSQL 17's MAINTAIN privilege (m): absent before


def describe(conn: psycopg.Connection, params: Mapping[str, Any]) -> list[str]:
    """The live catalog of schema dom360, one normalised line per object, sorted."""
    out = []
    for kind, name, definition, body in conn.execute(query("catalog.describe")):
        line = _normalise(f"{kind}\t{name}\t{_ONE_LINE.sub(' ', definition or '')}", params)
        if body is not None:
            line += " body " + hashlib.md5(_normalise(body, params).encode()).hexdigest()
        out.append(line)
    return sorted(out)


def snapshot_path(root: Path | None = None) -> Path:
    return (root or sql_root()) / SNAPSHOT_FILE


def read_snapshot(root: Path | None = None) -> list[str] | None:
    p = snapshot_path(root)
    if not p.is_file():
        return None
    return [line for line in p.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")]


def render_snapshot(lines: list[str]) -> str:
    return HEADER + "".join(line + "\n" for line in lines)


def write_snapshot(text: str) -> str:
    """Write `text` to sql/catalog.txt; `wrote <path>`, or `unchanged: <path>` when it already held it."""
    path = snapshot_path()
    changed = not path.is_file() or path.read_text(encoding="utf-8") != text
    path.write_text(text, encoding="utf-8")
    return f"{'wrote' if changed else 'unchanged:'} {path}"


def comparable(params: Mapping[str, Any]) -> bool:
    """True when the snapshot describes what these parameters produce (their shape parameters are the defaults)."""
    if params.get("citus"):  # the Citus variants of a few functions (docs/citus.md) are not in the snapshot
        return False
    return all(params[k] == DEFAULTS[k] for k in _SHAPE_KEYS)


@dataclass(frozen=True)
class Difference:
    kind: str
    name: str
    expected: str | None  # None: not expected (an extra object)
    actual: str | None  # None: missing

    @property
    def problem(self) -> str:
        if self.actual is None:
            return f"missing (a fresh install has it: {self.expected})"
        if self.expected is None:
            return f"not in a fresh install: {self.actual}"
        return f"differs from a fresh install: has {self.actual}; expected {self.expected}"


def diff(expected: list[str], actual: list[str]) -> list[Difference]:
    def index(lines: list[str]) -> dict[tuple[str, str], str]:
        out = {}
        for line in lines:
            kind, name, definition = (line.split("\t", 2) + ["", ""])[:3]
            out[(kind, name)] = definition
        return out

    e, a = index(expected), index(actual)
    return [Difference(k, n, e.get((k, n)), a.get((k, n)))
            for k, n in sorted(e.keys() | a.keys()) if e.get((k, n)) != a.get((k, n))]


def fresh_description(admin_dsn: str, params: Mapping[str, Any] | None = None) -> list[str]:
    """Migrate a scratch database on the server of `admin_dsn` (a superuser), describe it, drop it."""
    from dom360db import migrate, sqlfiles

    params = dict(params or DEFAULTS)
    name = f"dom360_snapshot_{uuid.uuid4().hex[:8]}"
    with connect(admin_dsn) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        p = conninfo.conninfo_to_dict(admin_dsn)
        p["dbname"] = name
        dsn = conninfo.make_conninfo(**p)
        migrate.migrate(dsn, sqlfiles.load(params), months_ahead=params["months_ahead"])
        with connect(dsn) as c:
            return describe(c, params)
    finally:
        with connect(admin_dsn) as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
