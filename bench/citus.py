"""Chat-turn throughput on a Citus cluster vs one server, and the plan of each chat statement (docs/citus.md).

    .venv/bin/python bench/citus.py --dsn postgresql://postgres@127.0.0.1:9700/postgres [--tenants 200] [--seconds 20]

`--dsn`: a superuser on the coordinator; its database `postgres` lists the workers. Two fresh databases:
`dom360_bench_citus` (on every node, the extension, the workers added, then `dom360db migrate`) and
`dom360_bench_single` (the coordinator only, no extension: one plain PostgreSQL server with the same settings).
Both get the same tenants (one inbox each); pgbench runs bench/citus_turn.sql (a whole chat turn) as a login
member of the app role, `-M prepared -c 8 -j 2`. Then, on the cluster, each chat statement runs with
`citus.multi_task_query_log_level = 'error'` (it raises if it touches more than one shard) and the SQL of
each is EXPLAINed with the tenant bound: the task count is reported. A script, not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psycopg
from psycopg import conninfo, sql

from dom360db.connect import scalar
from dom360db.logins import ensure_login

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from support import CitusServer, Server, migrate_database, with_db  # noqa: E402

HERE = Path(__file__).resolve().parent
LOGIN = "dom360_bench_app"


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def prepare(dsn: str, tenants: int) -> None:
    migrate_database(dsn)
    with psycopg.connect(dsn, autocommit=True) as c:
        ensure_login(c, LOGIN, "dom360_app")
        c.execute("CREATE SCHEMA IF NOT EXISTS dom360_bench")
        c.execute("CREATE TABLE dom360_bench.targets (n integer PRIMARY KEY, tenant_id uuid, inbox_id uuid)")
        c.execute(sql.SQL("GRANT USAGE ON SCHEMA dom360_bench TO {}").format(sql.Identifier(LOGIN)))
        c.execute(sql.SQL("GRANT SELECT ON dom360_bench.targets TO {}").format(sql.Identifier(LOGIN)))
        for n in range(1, tenants + 1):
            tid = scalar(c, "SELECT dom360.create_tenant(%s, %s)", [f"Bench {n}", f"bench-{n}"])
            with c.transaction():
                c.execute("SELECT dom360.set_tenant(%s)", [tid])
                iid = scalar(c, "INSERT INTO dom360.inboxes (name, channel) VALUES ('web', 'web') RETURNING id")
            c.execute("INSERT INTO dom360_bench.targets VALUES (%s, %s, %s)", [n, tid, iid])


def pgbench(dsn: str, tenants: int, seconds: int, clients: int) -> float:
    p = conninfo.conninfo_to_dict(dsn)
    cmd = ["pgbench", "-n", "-M", "prepared", "-c", str(clients), "-j", "2", "-T", str(seconds),
           "-D", f"targets={tenants}", "-D", f"tag={uuid.uuid4().hex[:8]}", "-D", "i=0",
           "-h", str(p.get("host", "localhost")), "-p", str(p.get("port", 5432)), "-U", LOGIN,
           "-f", str(HERE / "citus_turn.sql"), str(p["dbname"])]
    out = subprocess.run(cmd, capture_output=True, text=True, check=False)
    m = re.search(r"tps = ([0-9.]+)", out.stdout)
    if out.returncode != 0 or not m:
        raise SystemExit(f"pgbench failed: {out.stderr.strip()[-800:]}")
    failed = re.search(r"number of failed transactions: (\d+)", out.stdout)
    if failed and failed.group(1) != "0":
        log(f"warning: {failed.group(1)} failed transactions")
    return float(m.group(1))


CHAT = [  # (statement, parameters), run as the app login in one transaction after set_tenant
    ("SELECT dom360.get_or_create_conversation(%(inbox)s, 'plan-customer')", None),
    ("SELECT * FROM dom360.append_message(%(conv)s, 'user', 'hi', 1, 0, NULL, NULL, 'plan-req')", None),
    ("SELECT * FROM dom360.append_message(%(conv)s, 'user', 'hi', 1, 0, NULL, NULL, 'plan-req')", "retry"),
    ("SELECT * FROM dom360.recent_messages(%(conv)s)", None),
    ("SELECT * FROM dom360.get_tenant_config()", None),
    ("SELECT * FROM dom360.tenant_usage()", None),
]

EXPLAINS = [  # the SQL inside the chat functions, the tenant bound as a parameter (as PL/pgSQL binds it)
    ("messages of a conversation",
     "SELECT * FROM dom360.messages WHERE tenant_id = %(tenant)s AND conversation_id = %(conv)s "
     "ORDER BY message_index DESC LIMIT 20"),
    ("conversation row", "SELECT * FROM dom360.conversations WHERE tenant_id = %(tenant)s AND id = %(conv)s FOR UPDATE"),
    ("request id claim",
     "INSERT INTO dom360.message_requests (tenant_id, request_id) VALUES (%(tenant)s, 'x') ON CONFLICT DO NOTHING"),
    ("tenant config", "SELECT * FROM dom360.account_vars WHERE tenant_id = %(tenant)s"),
    ("usage", "SELECT * FROM dom360.consumption_inbox_daily WHERE tenant_id = %(tenant)s"),
]


def plans(dsn: str) -> list[str]:
    out = []
    with psycopg.connect(dsn, autocommit=True) as a:
        tenant, inbox = a.execute("SELECT tenant_id, inbox_id FROM dom360_bench.targets WHERE n = 1").fetchone()  # type: ignore[misc]
    app = conninfo.make_conninfo(dsn, user=LOGIN)
    with psycopg.connect(app) as c, c.transaction():
        c.execute("SET LOCAL citus.multi_task_query_log_level = 'error'")
        c.execute("SELECT dom360.set_tenant(%s)", [tenant])
        out.append("| `set_tenant` | one shard (the reference table's local copy) |")
        conv = None
        for stmt, note in CHAT:
            rows = c.execute(stmt, {"inbox": inbox, "conv": conv}).fetchall()
            conv = conv or rows[0][0]
            name = stmt.split("(")[0].replace("SELECT * FROM ", "").replace("SELECT ", "")
            out.append(f"| `{name}`{' (retry)' if note else ''} "
                       "| no multi-shard statement (multi_task_query_log_level = error raised nothing) |")
        for label, text in EXPLAINS:
            plan = "\n".join(r[0] for r in c.execute("EXPLAIN (COSTS OFF) " + text, {"tenant": tenant, "conv": conv}))
            m = re.search(r"Task Count: (\d+)", plan)
            out.append(f"| {label} (EXPLAIN, tenant bound) | Task Count: {m.group(1) if m else '?'} |")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dsn", default=os.environ.get("DATABASE_URL"), help="superuser on the Citus coordinator")
    ap.add_argument("--tenants", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--clients", type=int, default=8)
    args = ap.parse_args()
    if not args.dsn:
        raise SystemExit("bench/citus.py: --dsn (or DATABASE_URL): a superuser on a Citus coordinator")
    cluster, single = CitusServer("citus", args.dsn), Server("citus", args.dsn)
    cdb, sdb = "dom360_bench_citus", "dom360_bench_single"
    cluster.drop_database(cdb)
    single.drop_database(sdb)
    log(f"creating {cdb} on every node and {sdb} on the coordinator; {args.tenants} tenants each")
    cluster.create_database(cdb)
    single.create_database(sdb)
    t0 = time.time()
    prepare(with_db(args.dsn, cdb), args.tenants)
    prepare(with_db(args.dsn, sdb), args.tenants)
    log(f"prepared in {time.time() - t0:.0f} s; pgbench {args.seconds} s each")
    tps_single = pgbench(with_db(args.dsn, sdb), args.tenants, args.seconds, args.clients)
    tps_cluster = pgbench(with_db(args.dsn, cdb), args.tenants, args.seconds, args.clients)
    with psycopg.connect(args.dsn) as c:
        workers = scalar(c, "SELECT count(*) FROM pg_dist_node WHERE groupid <> 0")
        version = scalar(c, "SELECT extversion FROM pg_extension WHERE extname = 'citus'")
    print(f"## Chat turn (bench/citus_turn.sql), pgbench -M prepared -c {args.clients} -j 2 -T {args.seconds}, "
          f"{args.tenants} tenants\n")
    print("| target | turns/s |\n|---|---|")
    print(f"| one server (the coordinator's PostgreSQL, no extension) | {tps_single:.0f} |")
    print(f"| Citus {version}: coordinator + {workers} workers | {tps_cluster:.0f} |")
    print("\n## Each chat statement on the cluster\n\n| statement | shards |\n|---|---|")
    print("\n".join(plans(with_db(args.dsn, cdb))))


if __name__ == "__main__":
    main()
