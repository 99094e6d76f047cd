#!/usr/bin/env python3
"""Where a chat turn's server time goes, in instructions: PostgreSQL in single-user mode under valgrind's callgrind,
on a small cluster of its own, one experiment per variant of the SQL (bench/README.md, "Where the chat turn's server
time goes").

    .venv/bin/python -m bench.profile_turn                 # about 5 minutes; needs valgrind (callgrind_annotate)
    .venv/bin/python -m bench.profile_turn --turns 400     # more turns per experiment

Instruction counts do not depend on what else the machine is doing (unlike TPS and CPU seconds on a shared
machine), so one run is enough and small differences are real. They count user-space work only: the round trips
(network, the kernel) and the COMMIT's WAL flush are not in them — bench/run.py measures those.

Method: an embedded server in --home gets a fresh database migrated from sql/ and the bench's tenants, twin and
seed schema (bench/run.py's own setup); it is stopped, and each experiment runs `postgres --single` on a copy of
its data directory: the experiment's SQL (a variant of a function, row-level security off…), then the same
prepared statements pgbench runs, as dom360_bench_app, `--warmup` turns and then, in a second run on a fresh copy,
`--warmup` + `--turns` turns. Instructions per turn = the difference / `--turns` (start-up and cache warm-up
cancel out). Each variant removes or changes one thing: its difference to the chat turn is that thing's cost.
"""

from __future__ import annotations

import json
import os
import pwd
import random
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from psycopg import conninfo

from bench import common, prepare
from bench.reads import TURN_CONTENT
from dom360db import migrate, sqlfiles
from dom360db.connect import scalar
from dom360db.embedded import EmbeddedServer
from dom360db.report import table

DB = "dom360_profile"
TEXT = TURN_CONTENT
TARGETS = f"{common.SCHEMA}.targets"
PREPARE = [
    f"PREPARE st(int) AS SELECT dom360.set_tenant((SELECT t.tenant_id FROM {TARGETS} AS t WHERE t.n = $1))",
    f"PREPARE sc(int) AS SELECT set_config('app.tenant_id', (SELECT t.tenant_id FROM {TARGETS} AS t WHERE t.n = $1)::text,"
    " true)",
    f"PREPARE ap(int, int, int, text) AS SELECT * FROM dom360.append_message((SELECT t.conversation_id FROM {TARGETS} AS t"
    f" WHERE t.n = $1), 'user', '{TEXT}', $2, $3, NULL, NULL, $4)",
    f"PREPARE apa(int, int, int, text) AS SELECT * FROM dom360.append_message((SELECT t.conversation_id FROM {TARGETS} AS t"
    f" WHERE t.n = $1), 'assistant', '{TEXT}', $2, $3, NULL, NULL, $4)",
    f"PREPARE pl(int, int, int) AS INSERT INTO dom360.messages (conversation_id, role, content, input_tokens, output_tokens)"
    f" VALUES ((SELECT t.conversation_id FROM {TARGETS} AS t WHERE t.n = $1), 'user', '{TEXT}', $2, $3)"
    " RETURNING id, message_index, created_at",
    f"PREPARE bare(int, int, int, int, text) AS INSERT INTO {common.SCHEMA}.messages AS m (tenant_id, conversation_id,"
    " inbox_id, message_index, role, content, input_tokens, output_tokens, tool_calls, metadata, request_id)"
    f" SELECT t.tenant_id, t.conversation_id, t.inbox_id, $2, 'user', '{TEXT}', $3, $4, NULL, NULL, $5"
    f" FROM {TARGETS} AS t WHERE t.n = $1 RETURNING m.id, m.message_index, m.created_at",
    f"PREPARE seed(int, int, int) AS INSERT INTO {common.SEED_SCHEMA}.messages AS m (conversation_id, role, content,"
    f" input_tokens, output_tokens, tool_calls, metadata) VALUES ((SELECT t.conversation_id FROM {TARGETS} AS t"
    f" WHERE t.n = $1), 'user', '{TEXT}', $2, $3, NULL, NULL) RETURNING m.id, m.message_index, m.created_at",
]
# Inclusive instructions of these functions are reported for the chat turn.
FUNCTIONS = {
    "ExecConstraints": "CHECK constraints (parsed and planned again by every statement that writes a table)",
    "TriggerEnabled": "trigger WHEN clauses (the same)",
    "ExecWithCheckOptions": "row-level security WITH CHECK",
    "fmgr_security_definer": "the messages trigger, with its SECURITY DEFINER / SET search_path wrapper",
    "plpgsql_exec_trigger": "the messages trigger's PL/pgSQL",
    "CommitTransaction": "COMMIT (user space; the WAL flush waits in the kernel)",
}


@dataclass
class Experiment:
    name: str
    kind: str  # which statements a turn runs (turn())
    sql: list[str]  # run first, as the superuser, on the experiment's copy


def turn(kind: str, rng: random.Random, i: int, targets: int) -> list[str]:
    n, tin, tout = rng.randint(1, targets), rng.randint(20, 400), rng.randint(0, 300)
    body = {
        "empty": [],
        "st": [f"EXECUTE st({n})"],
        "sc": [f"EXECUTE sc({n})"],
        "b": [f"EXECUTE st({n})", f"EXECUTE ap({n}, {tin}, {tout}, 'p-{i}')"],
        "qa": [f"EXECUTE st({n})", f"EXECUTE ap({n}, {tin}, {tout}, 'q-{i}')",
               f"EXECUTE apa({n}, {tout}, {tin}, 'r-{i}')"],
        "bnoreq": [f"EXECUTE st({n})", f"EXECUTE ap({n}, {tin}, {tout}, NULL)"],
        "plain": [f"EXECUTE st({n})", f"EXECUTE pl({n}, {tin}, {tout})"],
        "a": [f"EXECUTE bare({n}, {2_000_000_000 - i}, {tin}, {tout}, 'p-{i}')"],
        "sb": [f"EXECUTE sc({n})", f"EXECUTE seed({n}, {tin}, {tout})"],
    }[kind]
    return ["BEGIN", *body, "COMMIT"]


def script(exp: Experiment, turns: int, targets: int) -> str:
    rng = random.Random(11)
    stmts = [*exp.sql, *PREPARE]
    if exp.kind != "a":
        stmts.append(f"SET ROLE {common.APP_LOGIN}")
    for i in range(turns):
        stmts += turn(exp.kind, rng, i, targets)
    # postgres --single -j: a statement ends with a semicolon and an empty line, so no empty line inside one
    return "".join(re.sub(r"\n\s*\n", "\n", s).rstrip("; \n") + ";\n\n" for s in stmts)


def trigger_variants(fn: str) -> list[tuple[str, str]]:
    """Variants of the messages trigger's definition (pg_get_functiondef), each without one of its parts."""
    out: list[tuple[str, str]] = []

    def cut(start: str, end: str, insert: str = "") -> str | None:
        a = fn.find(start)
        b = fn.find(end, a + 1) if a >= 0 else -1
        return fn[:a] + insert + fn[b:] if a >= 0 and b > a else None

    for name, text in (
        ("trigger without SET search_path", re.sub(r"\n\s*SET search_path[^\n]*", "", fn, count=1)),
        ("trigger without SECURITY DEFINER nor SET (app granted the counters)",
         re.sub(r"\n\s*SET search_path[^\n]*", "", fn, count=1).replace(" SECURITY DEFINER\n", "\n", 1)),
        ("trigger without its validation IFs", cut("    IF NEW.tenant_id IS NULL THEN", "    UPDATE dom360.conversations")),
        ("trigger without the consumption stripes", cut("    -- A counter row of this inbox", "    RETURN NEW;")),
        ("trigger reads the conversation instead of updating it",
         cut("    UPDATE dom360.conversations", "    IF NOT FOUND THEN",
             "    SELECT c.message_count + 1, c.inbox_id, c.status, COALESCE(c.agent_type, '')\n"
             "      INTO v_index, v_inbox, v_status, v_agent\n      FROM dom360.conversations AS c\n"
             "     WHERE c.tenant_id = NEW.tenant_id AND c.id = NEW.conversation_id;\n")),
    ):
        if text is not None and text != fn:
            out.append((name, text))
        else:
            print(f"profile: skipped '{name}': the trigger's text has changed", file=sys.stderr)
    return out


def drop_checks(table: str) -> str:
    return (f"DO $$ DECLARE c text; BEGIN FOR c IN SELECT conname FROM pg_constraint WHERE contype = 'c' AND conrelid = "
            f"'{table}'::regclass LOOP EXECUTE format('ALTER TABLE {table} DROP CONSTRAINT %I', c); END LOOP; END $$")


RLS_TABLES = ("messages", "message_requests", "conversations", "consumption_inbox_daily_stripes")


def experiments(trigger_fn: str) -> list[Experiment]:
    grants = [f"GRANT SELECT, INSERT, UPDATE ON dom360.consumption_inbox_daily_stripes TO {common.PARAMS['app_role']}",
              f"GRANT UPDATE ON dom360.conversations TO {common.PARAMS['app_role']}"]
    out = [
        Experiment("(b) chat turn: set_tenant + append_message with a request id", "b", []),
        Experiment("question and answer: set_tenant + append_message user + assistant (one transaction)", "qa", []),
        Experiment("append_message without a request id (no claim)", "bnoreq", []),
        Experiment("plain INSERT INTO dom360.messages after set_tenant", "plain", []),
        Experiment("set_tenant alone", "st", []),
        Experiment("set_config alone (what set_tenant wraps)", "sc", []),
        Experiment("BEGIN; COMMIT", "empty", []),
        Experiment("(a) bare INSERT into the twin", "a", []),
        Experiment("(sb) the seed's design: set_config + INSERT", "sb", []),
    ]
    for name, fn in trigger_variants(trigger_fn):
        out.append(Experiment(name, "b", [fn, *(grants if "INVOKER" in name or "nor SET" in name else [])]))
    out += [
        Experiment("no row-level security on messages", "b", ["ALTER TABLE dom360.messages DISABLE ROW LEVEL SECURITY"]),
        Experiment("no row-level security on the 4 written tables", "b",
                   [f"ALTER TABLE dom360.{t} DISABLE ROW LEVEL SECURITY" for t in RLS_TABLES]),
        Experiment("no CHECK constraints on conversations", "b", [drop_checks("dom360.conversations")]),
        Experiment("no CHECK constraint on message_requests", "b", [drop_checks("dom360.message_requests")]),
        # issue #16 (docs/security.md): what the hardening against a hostile app login changed on the chat path
        Experiment("INSERT on messages granted on the table, not per column (before #16)", "b",
                   [f"GRANT INSERT ON dom360.messages TO {common.PARAMS['app_role']}"]),
        Experiment("current_tenant_id() with a bare ::uuid (before #16)", "b",
                   ["CREATE OR REPLACE FUNCTION dom360.current_tenant_id() RETURNS uuid LANGUAGE sql STABLE PARALLEL SAFE "
                    "AS $$ SELECT NULLIF(pg_catalog.current_setting('app.tenant_id', true), '')::uuid $$"]),
        Experiment("append_message and set_tenant with SET search_path (the alternative to qualifying, #16)", "b",
                   ["ALTER FUNCTION dom360.append_message(uuid, text, text, integer, integer, jsonb, jsonb, text) "
                    "SET search_path = pg_catalog, pg_temp",
                    "ALTER FUNCTION dom360.set_tenant(uuid) SET search_path = pg_catalog, pg_temp"]),
    ]
    return out


@dataclass
class Cluster:
    bin_dir: Path
    data: Path  # the pristine, stopped data directory
    demote: dict[str, Any]  # subprocess keywords that run a program as the cluster's OS user


def callgrind(cluster: Cluster, work: Path, exp: Experiment, turns: int, targets: int) -> tuple[int, Path]:
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(cluster.data, work, symlinks=True)
    if cluster.demote:
        for root, dirs, files in os.walk(work):
            for n in [root, *(os.path.join(root, x) for x in dirs + files)]:
                os.lchown(n, cluster.demote["user"], cluster.demote["group"])
    out = work.parent / f"{work.name}.callgrind"
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", str(cluster.bin_dir / "postgres"), "--single",
         "-j", "-D", str(work), DB],
        input=script(exp, turns, targets), capture_output=True, text=True, **cluster.demote,
    )
    errors = [line for line in (proc.stdout + proc.stderr).splitlines() if "ERROR:" in line]
    if errors:
        raise click.ClickException(f"{exp.name}: {errors[0]}")
    total = next(int(line.split()[1]) for line in out.read_text().splitlines() if line.startswith(("summary:", "totals:")))
    return total, out


def inclusive(path: Path) -> dict[str, int]:
    text = subprocess.run(["callgrind_annotate", "--inclusive=yes", "--threshold=100", str(path)], capture_output=True,
                          text=True).stdout
    found: dict[str, int] = {}
    for line in text.splitlines():
        m = re.match(r"^\s*([\d,]+)\s.*:(\w+)\s", line)
        if m and m.group(2) in FUNCTIONS and m.group(2) not in found:
            found[m.group(2)] = int(m.group(1).replace(",", ""))
    return found


def prepare_cluster(home: Path, tmp: Path, progress: Callable[[str], None]) -> tuple[Cluster, str, int]:
    """A small cluster of its own: migrated database, the bench's tenants, twin and seed; stopped."""
    server = EmbeddedServer(home, progress=progress)
    info = server.up(dbname="postgres")
    dsn = conninfo.make_conninfo(info.dsn, dbname=DB)
    try:
        with common.connect(info.dsn) as root:
            root.execute(f"DROP DATABASE IF EXISTS {DB} WITH (FORCE)")
            root.execute(f"CREATE DATABASE {DB}")
        migrate.migrate(dsn, sqlfiles.load(common.PARAMS), months_ahead=common.PARAMS["months_ahead"],
                        progress=lambda s: None)
        with common.connect(dsn) as admin:
            prepare.create_login(admin, "unused-no-network")
            prepare.create_tenants(admin, 1000, 4, 8)
            prepare.create_twin(admin)
            prepare.create_seed(admin)
            prepare.grant_lookups(admin)
            trigger_fn = scalar(admin, "SELECT pg_get_functiondef('dom360.messages_before_insert'::regproc)")
            admin.execute("CHECKPOINT")
    finally:
        server.down()
    state = json.loads((home / "server.json").read_text())
    demote: dict[str, Any] = {}
    if os.geteuid() == 0:
        pw = pwd.getpwnam(state["os_user"])
        demote = {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}
        os.chown(tmp, pw.pw_uid, pw.pw_gid)
    return Cluster(Path(state["bin_dir"]), Path(state["data_dir"]), demote), trigger_fn, 4000


@click.command(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.option("--home", type=click.Path(path_type=Path), default=common.REPO_DIR / ".dom360db" / "profile",
              show_default=True, help="Home of the embedded server used (its own cluster, not the bench's).")
@click.option("--turns", type=click.IntRange(10), default=200, show_default=True)
@click.option("--warmup", type=click.IntRange(1), default=40, show_default=True)
@click.option("--only", metavar="TEXT", help="Run (b) and the experiments whose name contains TEXT.")
def main(home: Path, turns: int, warmup: int, only: str | None) -> None:
    """Instructions per chat turn, and what each part of it costs (callgrind, PostgreSQL in single-user mode)."""
    if not shutil.which("valgrind") or not shutil.which("callgrind_annotate"):
        raise click.ClickException("valgrind (with callgrind_annotate) is needed: apt-get install valgrind")
    with tempfile.TemporaryDirectory(prefix="dom360-profile-") as tmpname:
        tmp = Path(tmpname)
        os.chmod(tmp, 0o755)
        cluster, trigger_fn, targets = prepare_cluster(home.resolve(), tmp, common.progress)
        rows, base, funcs = [], None, {}
        for exp in experiments(trigger_fn):
            if only and base is not None and only not in exp.name:
                continue
            common.progress(f"callgrind: {exp.name}")
            try:
                short, _ = callgrind(cluster, tmp / "short", exp, warmup, targets)
                long, out = callgrind(cluster, tmp / "long", exp, warmup + turns, targets)
            except click.ClickException as e:  # a variant the schema refuses (reported, not fatal)
                common.progress(f"  failed: {e.message}")
                rows.append([exp.name, "failed", "-", "-"])
                continue
            per = (long - short) / turns
            if base is None:
                base = per
                f_short, f_long = inclusive(tmp / "short.callgrind"), inclusive(out)
                funcs = {k: (f_long.get(k, 0) - f_short.get(k, 0)) / turns for k in FUNCTIONS}
            rows.append([exp.name, f"{per / 1000:,.0f}", f"{(per - base) / 1000:+,.0f}", f"{100 * (per - base) / base:+.1f}%"])
    print(f"Instructions per turn (thousands), PostgreSQL in single-user mode under callgrind, {turns} turns after "
          f"{warmup}:")
    print(table(["experiment", "k instr/turn", "vs (b)", "vs (b) %"], rows))
    print("\nInside (b), inclusive:")
    print(table(["function", "k instr/turn", "share", "what"],
                [[k, f"{v / 1000:,.0f}", f"{100 * v / base:.1f}%" if base else "-", FUNCTIONS[k]] for k, v in funcs.items()]))


if __name__ == "__main__":
    main()
