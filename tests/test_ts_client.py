"""The TypeScript side: the declarations in clients/ts/src/dom360.ts are what `dom360db gen types --lang ts`
generates from a migrated database (stale: the test fails), they type-check with the Express-style handler
(`tsc --noEmit`), and the handler runs against the real server under node's test runner.

Needs node and npm (`npm ci` in clients/ts, run here when node_modules is missing; .ci/run runs it). Without
node the node tests skip, saying so, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from psycopg import conninfo

from dom360db import gen_types

from support import Database, seed

TS = Path(__file__).resolve().parent.parent / "clients" / "ts"
GENERATED = TS / "src" / "dom360.ts"


def test_checked_in_declarations_are_current(db: Database) -> None:
    with db.admin() as c:
        fresh = gen_types.generate(c, "ts", "dom360_app")
    assert fresh == GENERATED.read_text(encoding="utf-8"), (
        "clients/ts/src/dom360.ts is stale: run `dom360db gen types --lang ts -o clients/ts/src/dom360.ts` "
        "on a migrated database and commit it")


def test_gen_types_cli(db: Database) -> None:
    out = subprocess.run([sys.executable, "-m", "dom360db", "gen", "types", "--lang", "ts", "--dsn", db.admin_dsn],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout == GENERATED.read_text(encoding="utf-8")
    down = subprocess.run([sys.executable, "-m", "dom360db", "gen", "types", "--dsn", "postgresql://x@127.0.0.1:1/x"],
                          capture_output=True, text=True, timeout=60)
    assert down.returncode == 1 and down.stderr.count("\n") == 1 and "cannot connect" in down.stderr


def node_tools() -> tuple[str, str]:
    node, npm = shutil.which("node"), shutil.which("npm")
    if node and npm:
        return node, npm
    if os.environ.get("CI") == "true":
        pytest.fail("node and npm are required in CI (clients/ts tests)")
    pytest.skip("node/npm not installed: the TypeScript client tests need Node 20 and npm")


def run(cmd: list[str], **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, cwd=TS, capture_output=True, text=True, timeout=600, env={**os.environ, **env})


@pytest.fixture(scope="module")
def built() -> Path:
    """clients/ts installed (npm ci when needed), type-checked and compiled to dist/."""
    _, npm = node_tools()
    if not (TS / "node_modules" / ".package-lock.json").is_file():
        ci = run([npm, "ci", "--no-audit", "--no-fund"])
        assert ci.returncode == 0, ci.stdout + ci.stderr
    tsc = str(TS / "node_modules" / ".bin" / "tsc")
    check = run([tsc, "-p", ".", "--noEmit"])  # the handler, the wrapper and the generated declarations
    assert check.returncode == 0, check.stdout + check.stderr
    build = run([tsc, "-p", "."])
    assert build.returncode == 0, build.stdout + build.stderr
    return TS / "dist"


def test_typescript_rejects_a_wrong_call(built: Path, tmp_path: Path) -> None:
    """The declarations have teeth: a misspelt argument or a wrong result type does not compile."""
    bad = TS / "test" / "_wrong_call.ts"
    bad.write_text("import pg from 'pg';\nimport { callFunction } from '../src/pg.js';\n"
                   "const pool = new pg.Pool();\n"
                   "const rows = await callFunction(pool, 'recent_messages', { p_conversation: 'x' });\n"
                   "const id: number = rows[0]!.message_id;\nexport { id };\n")
    try:
        out = run([str(TS / "node_modules" / ".bin" / "tsc"), "-p", ".", "--noEmit"])
    finally:
        bad.unlink()
    assert out.returncode != 0
    assert "p_conversation" in out.stdout and "'string' is not assignable to type 'number'" in out.stdout, out.stdout


def url(dsn: str) -> str:
    """A libpq DSN as the URL node-postgres takes."""
    p = conninfo.conninfo_to_dict(dsn)
    return (f"postgresql://{quote(str(p['user']), safe='')}:{quote(str(p.get('password', '')), safe='')}"
            f"@{p.get('host', 'localhost')}:{p.get('port', 5432)}/{quote(str(p['dbname']), safe='')}")


def test_express_handler_against_the_server(built: Path, db: Database) -> None:
    node, _ = node_tools()
    acme, other = seed(db, "acme"), seed(db, "other")
    out = run([node, "--test", str(built / "test" / "handler.test.js")], DOM360_TEST_APP_DSN=url(db.app_dsn),
              DOM360_TEST_TENANT=str(acme.id), DOM360_TEST_INBOX=str(acme.inbox),
              DOM360_TEST_OTHER_INBOX=str(other.inbox))
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    assert "# fail 0" in out.stdout and "# pass 4" in out.stdout, out.stdout[-2000:]
