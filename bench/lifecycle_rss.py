"""Peak memory of `dom360db tenant export` (and optionally `tenant import`) against the tenant's size.

Not a timed test: a measurement. It loads tenants of a few sizes into a scratch database, set-based as the
superuser (the messages trigger is switched off for the load by session_replication_role = replica, as
bench/run.py does; the conversations' counters are written to match), then runs the command as a separate
process for each and reports its peak resident set size (getrusage of the child: ru_maxrss). Flat memory
means the same peak for 1,000 and 1,000,000 messages.

    .venv/bin/python bench/lifecycle_rss.py --dsn postgresql://postgres@127.0.0.1:5443/postgres \\
        --sizes 1000,1000000 [--import]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import uuid
from pathlib import Path

import psycopg
from psycopg import conninfo, sql

from dom360db.connect import scalar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support import migrate_database  # noqa: E402

PER_CONVERSATION = 1000
TEXT = ("Olá! Gostaria de saber mais sobre os apartamentos de dois quartos no centro, com vaga de garagem, "
        "perto do metrô, e se aceitam financiamento pela Caixa. ") * 3

LOAD = [
    # one inbox, conversations of PER_CONVERSATION messages each, an hour apart, going back from now
    """INSERT INTO dom360.inboxes (tenant_id, id, name, channel) VALUES (%(tenant)s, %(inbox)s, 'Site', 'web')""",
    """INSERT INTO dom360.conversations (tenant_id, id, inbox_id, external_id, status, message_count, created_at,
                                        first_message_at, last_message_at, closed_at)
       SELECT %(tenant)s, gen_random_uuid(), %(inbox)s, 'customer-' || c, 'closed', m.n,
              now() - interval '360 days', now() - interval '360 days', now() - interval '1 hour', now()
         FROM generate_series(1, %(conversations)s) AS c
        CROSS JOIN LATERAL (SELECT least(%(per)s, %(messages)s) AS n) AS m""",
    """INSERT INTO dom360.messages (tenant_id, conversation_id, inbox_id, message_index, role, content, input_tokens,
                                   output_tokens, created_at)
       SELECT %(tenant)s, c.id, %(inbox)s, j, CASE WHEN j %% 2 = 1 THEN 'user' ELSE 'assistant' END,
              left(%(text)s, 40 + (j * 7919 %% 400)), 20 + j %% 300, j %% 500,
              now() - interval '360 days' + (j * interval '8 hours') + (hashtext(c.id::text) %% 3600) * interval '1 second'
         FROM dom360.conversations AS c CROSS JOIN LATERAL generate_series(1, c.message_count) AS j
        WHERE c.tenant_id = %(tenant)s""",
]


def peak_rss_kib(argv: list[str]) -> tuple[int, float]:
    """Run argv in a helper process that reports its child's ru_maxrss (KiB) and the wall time."""
    probe = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
             "r = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL); "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, time.perf_counter() - t, r.returncode)")
    out = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True, check=True).stdout.split()
    if out[2] != "0":
        raise SystemExit(f"{' '.join(argv)} failed (exit {out[2]})")
    return int(out[0]), float(out[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dsn", required=True, help="a superuser connection (a scratch database is created and dropped)")
    ap.add_argument("--sizes", default="1000,100000,1000000", help="messages per tenant, comma-separated")
    ap.add_argument("--import", dest="also_import", action="store_true", help="also measure tenant import")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    name = f"dom360_lifecycle_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.dsn, autocommit=True) as c:
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name + "_target")))
    params = conninfo.conninfo_to_dict(args.dsn)
    dsn = conninfo.make_conninfo(**{**params, "dbname": name})
    target = conninfo.make_conninfo(**{**params, "dbname": name + "_target"})
    work = Path(tempfile.mkdtemp(prefix="dom360-lifecycle-bench-"))
    try:
        migrate_database(dsn)
        migrate_database(target)
        with psycopg.connect(dsn, autocommit=True) as c:
            c.execute("SELECT dom360.create_month_partition('dom360.messages', (now() - make_interval(months => m))::date) "
                      "FROM generate_series(0, 12) AS m")
        print(f"{'messages':>10} {'export peak RSS':>16} {'export s':>9} {'file MB':>8}"
              + (f" {'import peak RSS':>16} {'import s':>9}" if args.also_import else ""))
        for n in sizes:
            slug = f"bench-{n}"
            with psycopg.connect(dsn, autocommit=True) as c, c.transaction():
                c.execute("SET LOCAL session_replication_role = replica")
                tenant = scalar(c, "SELECT dom360.create_tenant(%s, %s)", [slug, slug])
                values = {"tenant": tenant, "inbox": uuid.uuid4(), "conversations": max(1, n // PER_CONVERSATION),
                          "per": PER_CONVERSATION, "messages": n, "text": TEXT}
                for stmt in LOAD:
                    c.execute(stmt, values)  # type: ignore[arg-type]
            with psycopg.connect(dsn, autocommit=True) as c:
                c.execute("VACUUM ANALYZE dom360.messages")
            out = work / slug
            rss, wall = peak_rss_kib([sys.executable, "-m", "dom360db", "tenant", "export", slug, "--out", str(out),
                                      "--dsn", dsn])
            size = sum(p.stat().st_size for p in out.iterdir()) / 1e6
            line = f"{n:>10,} {rss / 1024:>13.1f} MiB {wall:>9.1f} {size:>8.1f}"
            if args.also_import:
                irss, iwall = peak_rss_kib([sys.executable, "-m", "dom360db", "tenant", "import", str(out), "--dsn", target])
                line += f" {irss / 1024:>13.1f} MiB {iwall:>9.1f}"
            print(line, flush=True)
            shutil.rmtree(out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        with psycopg.connect(args.dsn, autocommit=True) as c:
            for db in (name, name + "_target"):
                c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(db)))


if __name__ == "__main__":
    main()
