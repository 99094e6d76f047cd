"""Mutation check (`make mutation`): weaken each policy in turn and show the isolation suite fails; then undo
each defence against a hostile app login in turn and show its tests fail.

For every policy of schema dom360 (listed from a freshly migrated database), the isolation tests run
against a template where that one policy is replaced by `USING (true) WITH CHECK (true)` (the analytics
policy: granted to PUBLIC). For every mutant of tests/mutants.py (TEMP granted back, an unqualified type
restored, the message id insertable…), its suite runs likewise. A mutant the suite does not kill is a hole
in the tests: exit 1. `--defences-only` runs the second part alone.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from dom360db.report import table  # noqa: E402

from support import migrate_database  # noqa: E402

SUITE = ["tests/test_isolation.py", "tests/test_isolation_property.py"]


def policies(server_dsn: str) -> list[str]:
    from support import Server

    with Server("any", server_dsn).scratch_database("mutation_list") as dsn:
        migrate_database(dsn)
        with psycopg.connect(dsn) as c:
            return [f"{t}.{p}" for t, p in c.execute(
                "SELECT p.tablename, p.policyname FROM pg_policies p"
                " JOIN pg_class c ON c.oid = format('%I.%I', p.schemaname, p.tablename)::regclass"
                # a partition's own policies guard direct access to the partition, which only the owner has
                # (it could as well switch RLS off): no test as the app can reach them
                " WHERE p.schemaname = 'dom360' AND NOT c.relispartition ORDER BY 1, 2")]


def main() -> int:
    from dom360db.embedded import EmbeddedServer

    env = dict(os.environ)
    if env.get("DOM360_TEST_BACKEND", "embedded") == "dsn":
        dsn = env["DOM360_TEST_DSN"]
        emb = None
    else:
        emb = EmbeddedServer(HERE.parent / ".dom360db" / "mutation", progress=lambda s: print(s, file=sys.stderr))
        dsn = emb.up(dbname="postgres").dsn
        env.update(DOM360_TEST_BACKEND="dsn", DOM360_TEST_DSN=dsn)
    import mutants as defence_mutants

    suite = [s for s in SUITE if (HERE.parent / s).exists()]
    rows, survivors = [], 0
    try:
        runs = [] if "--defences-only" in sys.argv[1:] else [(m, suite) for m in policies(dsn)]
        runs += [(f"defence.{name}", defence_mutants.DEFENCE_SUITE) for name in defence_mutants.DEFENCES]
        for n, (mutant, suite) in enumerate(runs, 1):
            t0 = time.monotonic()
            print(f"[{n}/{len(runs)}] {mutant} …", file=sys.stderr, flush=True)
            res = subprocess.run([sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *suite],
                                 cwd=HERE.parent, env={**env, "DOM360_MUTATION": mutant},
                                 capture_output=True, text=True)
            killed = res.returncode == 1
            failed = next((ln.split(" ")[1] for ln in res.stdout.splitlines() if ln.startswith("FAILED ")), "")
            survivors += not killed
            rows.append([mutant, "killed" if killed else f"SURVIVED (pytest exit {res.returncode})",
                         failed.split("::")[-1][:70], f"{time.monotonic() - t0:.0f} s"])
    finally:
        if emb is not None:
            emb.down()
    print(table(["policy weakened / defence undone", "outcome", "first failing test", "time"], rows))
    print(f"{len(rows) - survivors}/{len(rows)} mutants killed")
    return 1 if survivors or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
