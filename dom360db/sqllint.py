"""`make lint` for SQL: squawk (PyPI `squawk-cli`) on the versioned files not shipped yet.

A versioned file that shipped (sql/shipped.json) can never change, so it is accepted as it is; a new one
is rendered with the default parameters and linted for DDL that takes heavy locks or rewrites tables
(a non-concurrent index on a busy table, a constraint validated while writes wait, a column type change…).
Two rules are left out because the runner covers them: `require-lock-timeout` (migrate bounds every
statement's lock wait with --ddl-lock-timeout and retries the file) and `require-statement-timeout` (a
long backfill is allowed; waiting for a lock is not). A statement that is safe for a reason squawk cannot
see is accepted in the file itself: `-- squawk-ignore <rule>` on the line before it, with a comment why.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from dom360db import shipped
from dom360db.config import DEFAULTS
from dom360db.errors import Dom360Error
from dom360db.sqlfiles import load

EXCLUDED = ("require-lock-timeout", "require-statement-timeout")
PG_VERSION = "15.0"  # the oldest server supported: its rules are the strictest


def squawk() -> str:
    exe = shutil.which("squawk") or str(Path(sys.executable).parent / "squawk")
    if not Path(exe).is_file():
        raise Dom360Error("squawk is not installed: pip install squawk-cli (make install does)")
    return exe


def lint(root: Path | None = None) -> tuple[int, str]:
    """(exit code, report) of squawk on the new versioned files; 0 when there is nothing to say."""
    new = shipped.unlisted(load(DEFAULTS, root), root)
    if not new:
        return 0, "squawk: no new versioned file to lint"
    out: list[str] = []
    code = 0
    with tempfile.TemporaryDirectory(prefix="dom360-squawk-") as tmp:
        for transactional in (True, False):
            batch = [f for f in new if f.transactional == transactional]
            if not batch:
                continue
            paths = []
            for f in batch:
                p = Path(tmp) / Path(f.path).name
                p.write_text(f.sql, encoding="utf-8")
                paths.append(str(p))
            cmd = [squawk(), f"--pg-version={PG_VERSION}", f"--exclude={','.join(EXCLUDED)}", *paths]
            if transactional:
                cmd.insert(1, "--assume-in-transaction")
            r = subprocess.run(cmd, capture_output=True, text=True, env={"NO_COLOR": "1", "PATH": "/usr/bin:/bin"})
            code = code or r.returncode
            out.append((r.stdout + r.stderr).replace(tmp + "/", "sql/schema/").strip())
    if code:
        out.append("make the DDL online-safe (docs/operations.md, Upgrades), or accept one statement with "
                   "`-- squawk-ignore <rule>` on the line before it and a comment saying why it is safe")
    else:
        out.append(f"squawk: {len(new)} new versioned file(s) clean: {', '.join(f.path for f in new)}")
    return code, "\n".join(o for o in out if o)


def main() -> int:
    try:
        code, report = lint()
    except Dom360Error as exc:
        print(f"dom360db: error: {exc}", file=sys.stderr)
        return 1
    print(report)
    return 1 if code else 0


if __name__ == "__main__":
    sys.exit(main())
