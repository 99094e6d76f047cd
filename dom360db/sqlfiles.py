"""The SQL files of the package: where they are, how they render, how they split into statements.

Layout (all under `sql/`):
- `schema/NNNN_name.sql`: versioned, forward-only; applied once, in order; never edited once applied.
- `functions/*.sql`, then `policies/*.sql`: repeatable; re-applied whenever their rendered text changes.
- `partitions/*.sql`: Jinja templates rendered on demand (not applied by `migrate` directly).
- `queries/<module>.sql`: the named queries the Python side runs (the registry of `dom360db.queries`); not migrations.

A file whose first line is `-- dom360:no-transaction` runs statement by statement in autocommit
(for `CREATE INDEX CONCURRENTLY` and friends); every other file runs in one transaction.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import jinja2
import jinja2.meta
import pglast.parser

from dom360db import __version__
from dom360db.errors import Dom360Error

NO_TRANSACTION_MARKER = "-- dom360:no-transaction"
VERSIONED_DIR = "schema"
REPEATABLE_DIRS = ("functions", "policies")
_VERSIONED_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

Kind = Literal["versioned", "repeatable"]


def sql_root() -> Path:
    """The `sql/` directory: inside the installed package, or beside it in a source checkout."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "sql", here.parent / "sql"):
        if (candidate / VERSIONED_DIR).is_dir():
            return candidate
    raise Dom360Error(f"the SQL files are missing (looked in {here / 'sql'} and {here.parent / 'sql'})")


def quote_ident(name: str) -> str:
    """SQL identifier quoting, as `quote_ident()` does (always quoted: safe for any name)."""
    return '"' + str(name).replace('"', '""') + '"'


def quote_literal(value: Any) -> str:
    """SQL string literal quoting for template parameters (standard_conforming_strings on)."""
    return "'" + str(value).replace("'", "''") + "'"


def environment(root: Path | None = None) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(root or sql_root())),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    env.filters["ident"] = quote_ident
    env.filters["literal"] = quote_literal
    return env


@dataclass(frozen=True)
class SqlFile:
    """One rendered file, ready to apply."""

    kind: Kind
    path: str  # relative to sql/, e.g. "schema/0001_roles.sql"
    version: int | None
    name: str
    sql: str
    params: dict[str, Any] = field(default_factory=dict)  # the parameters this file uses

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode("utf-8")).hexdigest()

    @property
    def transactional(self) -> bool:
        return not self.sql.lstrip().startswith(NO_TRANSACTION_MARKER)


def _referenced_names(env: jinja2.Environment, path: str, seen: frozenset[str] = frozenset()) -> set[str]:
    """Variables a template uses, including those of the templates it imports or includes."""
    source = env.loader.get_source(env, path)[0]  # type: ignore[union-attr]
    tree = env.parse(source)
    names = set(jinja2.meta.find_undeclared_variables(tree))
    for other in jinja2.meta.find_referenced_templates(tree):
        if other and other not in seen:
            names |= _referenced_names(env, other, seen | {path})
    return names


def render(env: jinja2.Environment, path: str, params: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Render one template; return the text and the parameters it referenced."""
    try:
        used = _referenced_names(env, path)
        text = env.get_template(path).render(**params)
    except jinja2.TemplateError as exc:
        line = getattr(exc, "lineno", None)
        where = f"{path}:{line}" if line else path
        raise Dom360Error(f"{where}: template error: {exc}") from exc
    return text, {k: params[k] for k in sorted(used) if k in params}


def load(params: Mapping[str, Any], root: Path | None = None) -> list[SqlFile]:
    """Every migration file in apply order: versioned by version, then functions/, then policies/."""
    root = root or sql_root()
    env = environment(root)
    files: list[SqlFile] = []
    seen: dict[int, str] = {}
    for p in sorted((root / VERSIONED_DIR).glob("*.sql")):
        m = _VERSIONED_NAME.match(p.name)
        if not m:
            raise Dom360Error(f"{VERSIONED_DIR}/{p.name}: versioned files are named NNNN_name.sql")
        version = int(m.group(1))
        if version in seen:
            raise Dom360Error(f"{VERSIONED_DIR}/{p.name}: version {version} is also {seen[version]}")
        rel = f"{VERSIONED_DIR}/{p.name}"
        seen[version] = rel
        text, used = render(env, rel, params)
        files.append(SqlFile("versioned", rel, version, m.group(2), text, used))
    for directory in REPEATABLE_DIRS:
        for p in sorted((root / directory).glob("*.sql")):
            rel = f"{directory}/{p.name}"
            text, used = render(env, rel, params)
            files.append(SqlFile("repeatable", rel, None, p.stem, text, used))
    return files


@dataclass(frozen=True)
class Statement:
    line: int  # 1-based line of the file where the statement starts
    sql: str


_COMMENTS = ("SQL_COMMENT", "C_COMMENT")
_SEMICOLON = "ASCII_59"


def split_statements(text: str) -> list[Statement]:
    """Split SQL text on top-level semicolons, with PostgreSQL's own scanner (pglast).

    Comments, '…' and E'…' strings, "…" identifiers and $tag$ bodies are the scanner's business. A statement
    starts at its first token (comments before it are dropped, and so are statements that are only comments)
    and its line is that token's. Text the scanner refuses (an unterminated string or comment) is left to
    the server as one statement, which reports the error with its position. (SQL-standard `BEGIN ATOMIC … END`
    bodies are not supported: use dollar-quoted bodies.)
    """
    try:
        tokens = [tok for tok in pglast.parser.scan(text) if tok.name not in _COMMENTS]
    except pglast.parser.ParseError:
        body = text.strip()
        return [Statement(text.count("\n", 0, text.index(body)) + 1, body)] if body else []
    out: list[Statement] = []
    start: int | None = None
    for tok in tokens:
        if start is None:
            if tok.name == _SEMICOLON:
                continue
            start = tok.start
        if tok.name == _SEMICOLON:
            out.append(Statement(text.count("\n", 0, start) + 1, text[start:tok.end + 1].strip()))
            start = None
    if start is not None:
        out.append(Statement(text.count("\n", 0, start) + 1, text[start:].strip()))
    return out


def render_script(files: Sequence[SqlFile], params: Mapping[str, Any]) -> str:
    """The files as one script that runs as is with `psql -f` (without the runner's bookkeeping)."""
    out = [
        f"-- rendered by dom360db {__version__}: {len(files)} file(s); run with psql -f",
        "-- parameters: " + ", ".join(f"{k}={v}" for k, v in sorted(params.items())),
        "\\set ON_ERROR_STOP on",
        "",
    ]
    for f in files:
        label = f"versioned {f.version}" if f.kind == "versioned" else "repeatable"
        out.append(f"-- ==== {f.path} ({label}) ====")
        body = f.sql.rstrip() + "\n"
        out.append(f"BEGIN;\n{body}COMMIT;\n" if f.transactional else body)
    return "\n".join(out)


def select(files: list[SqlFile], paths: Sequence[str]) -> list[SqlFile]:
    """The files named by `paths` (such as schema/0001_roles.sql), in that order; all of them when none."""
    if not paths:
        return files
    known = {f.path: f for f in files}
    missing = [p for p in paths if p not in known]
    if missing:
        raise Dom360Error(f"no such migration file: {', '.join(missing)} (see `dom360db status`)")
    return [known[p] for p in paths]
