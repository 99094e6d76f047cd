"""Server-side samples, one client: EXPLAIN (ANALYZE) of the reads (d1), (d2), (d2') and of one chat turn's
statements, and auto_explain of the statements nested in the functions (their executor time, the partitions they
executed)."""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import sql

from bench.common import APP_LOGIN, connect, pct, progress, q
from bench.report import Report
from bench.scenarios import RunArgs

PARTITION_NAME = re.compile(r"^messages_\d{4}_\d{2}$")


TURN_LEAVES: list[tuple[str, str]] = [
    (r"FROM dom360\.tenants", "set_tenant: SELECT tenants (status)"),
    (r"INSERT INTO dom360\.message_requests", "append_message: INSERT message_requests"),
    (r"UPDATE dom360\.conversations", "trigger: UPDATE conversations"),
    (r"INSERT INTO dom360\.consumption_inbox_daily_stripes", "trigger: upsert consumption stripe"),
    (r'FROM ONLY "dom360"\."(\w+)" x WHERE.*FOR KEY SHARE', "FK checks on {} (all of the turn)"),
]


TURN_CONTENT = "Hi! I saw your ad for the premium plan. How much is it per month, and does it work with WhatsApp?"


def plan_partitions(plan: dict[str, Any]) -> tuple[set[str], set[str], int]:
    """(partitions of dom360.messages executed, partitions in the plan, subplans removed) of a JSON plan node."""
    executed: set[str] = set()
    present: set[str] = set()
    removed = 0

    def walk(node: dict[str, Any]) -> None:
        nonlocal removed
        name = node.get("Relation Name")
        if name and PARTITION_NAME.match(name):
            present.add(name)
            if node.get("Actual Loops", 0) > 0:
                executed.add(name)
        removed += int(node.get("Subplans Removed", 0))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan)
    return executed, present, removed


def explain_json(
    conn: psycopg.Connection[Any], tenant: uuid.UUID, query: sql.Composable, qparams: Sequence[Any]
) -> dict[str, Any]:
    with conn.transaction():
        conn.execute("SELECT dom360.set_tenant(%s)", [tenant])
        row = conn.execute(q("reads.explain_json", query=query), qparams).fetchone()
    assert row is not None
    return dict(row[0][0])


def explain_text(conn: psycopg.Connection[Any], tenant: uuid.UUID, query: sql.Composable, qparams: Sequence[Any]) -> str:
    with conn.transaction():
        conn.execute("SELECT dom360.set_tenant(%s)", [tenant])
        rows = conn.execute(q("reads.explain_text", query=query), qparams).fetchall()
    return "\n".join(r[0] for r in rows)


@contextmanager
def auto_explain_session(
    bench_dsn: str, fmt: str, timing: bool
) -> Iterator[tuple[psycopg.Connection[Any], list[str]]]:
    """A superuser session with auto_explain (nested statements, ANALYZE, BUFFERS) reporting to the client as
    NOTICEs, then SET ROLE to the app login: privileges and row-level security as the app's. Shows the plan of
    the statement inside recent_messages(), which EXPLAIN of the call hides."""
    notices: list[str] = []
    with connect(bench_dsn) as conn:
        conn.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
        conn.execute("LOAD 'auto_explain'")
        for name, value in (
            ("auto_explain.log_min_duration", "0"), ("auto_explain.log_analyze", "on"),
            ("auto_explain.log_buffers", "on"), ("auto_explain.log_timing", "on" if timing else "off"),
            ("auto_explain.log_nested_statements", "on"), ("auto_explain.log_format", fmt),
            ("auto_explain.log_level", "notice"),
        ):
            conn.execute("SELECT set_config(%s, %s, false)", [name, value])
        conn.execute(sql.SQL("SET ROLE {}").format(sql.Identifier(APP_LOGIN)))
        yield conn, notices


def parse_auto_explain(text: str) -> tuple[float, dict[str, Any]] | None:
    """(duration ms, the JSON plan document) of an auto_explain NOTICE in JSON format."""
    m = re.match(r"duration: ([\d.]+) ms\s+plan:\s*", text)
    return (float(m.group(1)), json.loads(text[m.end() :])) if m else None


def turn_label(query: str) -> tuple[int, str] | None:
    """(rank, label) of a nested statement of a chat turn, None for the others."""
    for rank, (pattern, label) in enumerate(TURN_LEAVES):
        m = re.search(pattern, query, re.S)
        if m:
            return rank, label.format(*m.groups())
    return None


def explain_once(
    conn: psycopg.Connection[Any], query: sql.Composable, qparams: Sequence[Any] | dict[str, Any], *, timing: bool = False
) -> dict[str, Any]:
    """EXPLAIN (ANALYZE) JSON document of one execution (which really happens: rows are written)."""
    stmt = q("reads.explain_once", timing=sql.SQL("ON" if timing else "OFF"), query=query)
    row = conn.execute(stmt, qparams).fetchone()
    assert row is not None
    return dict(row[0][0])


def timed(conn: psycopg.Connection[Any], statement: str) -> float:
    t0 = time.perf_counter()
    conn.execute(statement)
    return (time.perf_counter() - t0) * 1000


def turn_breakdown(report: Report, args: RunArgs, bench_dsn: str, app_dsn: str, run_id: str, hot_base: int) -> None:
    """Where one chat turn spends its time in the server, one client, no concurrency: EXPLAIN ANALYZE of each
    top-level statement (instruments that statement only), the trigger times of a plain INSERT, the COMMITs
    timed by the client; then the nested statements' own executor times from auto_explain."""
    n, warmup = min(args.samples, 500), 20
    rng = random.Random(7)
    with connect(bench_dsn) as admin:
        targets = admin.execute(
            q("turn.targets"),
            [hot_base],
        ).fetchall()
    progress(f"chat turn breakdown: {n} turns, plain INSERTs and bare INSERTs with EXPLAIN ANALYZE, one client")
    top: dict[str, list[float]] = {}

    def add(label: str, value: float) -> None:
        top.setdefault(label, []).append(value)

    with connect(app_dsn) as app, connect(bench_dsn) as root:
        for i in range(n + warmup):
            _, tenant, conv = rng.choice(targets)
            tin, tout = rng.randint(20, 400), rng.randint(0, 300)
            app.execute("BEGIN")
            p_set = explain_once(app, q("turn.set_tenant"), [tenant])
            p_append = explain_once(app, q("turn.append"), [conv, TURN_CONTENT, tin, tout, f"s-{run_id}-{i}"])
            commit_turn = timed(app, "COMMIT")
            app.execute("BEGIN")
            app.execute("SELECT dom360.set_tenant(%s)", [tenant])
            p_plain = explain_once(app, q("turn.plain_insert"), [conv, TURN_CONTENT, tin, tout], timing=True)
            app.execute("COMMIT")
            root.execute("BEGIN")
            values = {"n": rng.randint(1, hot_base), "idx": 1_000_000_000 + i, "content": TURN_CONTENT,
                      "tin": tin, "tout": tout, "rid": f"s-{run_id}-{i}"}
            p_bare = explain_once(root, q("turn.twin_insert"), values)
            commit_bare = timed(root, "COMMIT")
            if i < warmup:
                continue
            add("set_tenant()", p_set["Execution Time"])
            add("append_message()", p_append["Execution Time"])
            add("set_tenant() + append_message()", p_set["Execution Time"] + p_append["Execution Time"])
            add("COMMIT of the turn (client-timed, incl. the round trip)", commit_turn)
            add("plain INSERT INTO dom360.messages as the app (no request id)", p_plain["Execution Time"])
            for trig in p_plain.get("Triggers", []):
                name = trig.get("Constraint Name") or trig.get("Trigger Name", "?")
                kind = "FK check" if trig.get("Constraint Name") else "trigger"
                add(f"  {kind} {name}", float(trig.get("Time", 0.0)))
            add("(a) bare INSERT into the twin", p_bare["Execution Time"])
            add("COMMIT of (a) (client-timed, incl. the round trip)", commit_bare)
    rows = [(label, sum(v) / len(v), pct(v, 95), len(v)) for label, v in top.items()]

    # The nested statements (leaves): their own executor time, from auto_explain.
    leaves: dict[tuple[int, str], list[float]] = {}
    with auto_explain_session(bench_dsn, "json", timing=False) as (conn, notices):
        for i in range(n + warmup):
            _, tenant, conv = rng.choice(targets)
            notices.clear()
            with conn.transaction():
                conn.execute("SELECT dom360.set_tenant(%s)", [tenant])
                conn.execute(q("turn.append"), [conv, TURN_CONTENT, rng.randint(20, 400), rng.randint(0, 300),
                                               f"t-{run_id}-{i}"]).fetchall()
            if i < warmup:
                continue
            sums: dict[tuple[int, str], float] = {}
            for text in notices:
                parsed = parse_auto_explain(text)
                key = turn_label(parsed[1].get("Query Text", "")) if parsed else None
                if parsed and key:
                    sums[key] = sums.get(key, 0.0) + parsed[0]
            for key, ms in sums.items():
                leaves.setdefault(key, []).append(ms)
    rows += [(f"nested: {label}", sum(v) / n, pct(v, 95), len(v)) for (_, label), v in sorted(leaves.items())]
    report.breakdown = rows


def sample_reads(report: Report, args: RunArgs, bench_dsn: str, app_dsn: str) -> None:
    rng = random.Random(20261124)
    with connect(bench_dsn) as admin:
        convs = admin.execute(
            q("reads.read_targets")
        ).fetchall()
        tenants = [
            r[0]
            for r in admin.execute(
                q("reads.tenants")
            ).fetchall()
        ]
    shown_tenant, shown_conv = rng.choice(convs)
    progress(f"sampling the executor time of d1 and d2: {args.samples} EXPLAIN ANALYZE each, as {APP_LOGIN}")
    d1: dict[str, list[float]] = {"exec": [], "plan": []}
    d2: dict[str, list[float]] = {"exec": [], "plan": [], "parts": [], "present": []}
    d2b: dict[str, list[float]] = {"exec": [], "plan": [], "parts": [], "present": []}
    with connect(app_dsn) as conn:
        for _ in range(args.samples):
            tenant, conv = rng.choice(convs)
            p = explain_json(conn, tenant, q("reads.recent"), [conv])
            d1["exec"].append(p["Execution Time"])
            d1["plan"].append(p["Planning Time"])
            tenant = rng.choice(tenants)
            p = explain_json(conn, tenant, q("reads.tenant_recent"), [])
            d2["exec"].append(p["Execution Time"])
            d2["plan"].append(p["Planning Time"])
            p = explain_json(conn, tenant, q("reads.tenant_recent_direct"), [])
            executed, present, _ = plan_partitions(p["Plan"])
            d2b["exec"].append(p["Execution Time"])
            d2b["plan"].append(p["Planning Time"])
            d2b["parts"].append(len(executed))
            d2b["present"].append(len(present))
        report.explains.append(("d1: EXPLAIN (ANALYZE, BUFFERS) of the call, as the app with the tenant set",
                                explain_text(conn, shown_tenant, q("reads.recent"), [shown_conv])))
        report.explains.append(("d2 as a direct query, not benchmarked: EXPLAIN (ANALYZE, BUFFERS), as the app "
                                "with the tenant set", explain_text(conn, shown_tenant, q("reads.tenant_recent_direct"), [])))

    # The statements inside recent_messages() and tenant_recent_messages(): auto_explain of nested statements, as
    # the app role; per call, the executor time and the partitions executed, summed over its statements.
    inner: dict[str, list[float]] = {"exec": [], "parts": [], "present": []}
    inner2: dict[str, list[float]] = {"exec": [], "parts": [], "present": []}
    with auto_explain_session(bench_dsn, "json", timing=False) as (conn, notices):

        def observe(target: dict[str, list[float]], tenant: Any, call: sql.Composable, call_args: list[Any]) -> None:
            notices.clear()
            with conn.transaction():
                conn.execute("SELECT dom360.set_tenant(%s)", [tenant])
                conn.execute(call, call_args).fetchall()
            found = [parsed for parsed in map(parse_auto_explain, notices) if parsed]
            plans = [(ms, *plan_partitions(plan["Plan"])[:2]) for ms, plan in found]
            plans = [p for p in plans if p[2]]  # statements on dom360.messages (the call itself is a Function Scan)
            if plans:
                target["exec"].append(sum(p[0] for p in plans))
                target["parts"].append(sum(len(p[1]) for p in plans))
                target["present"].append(sum(len(p[2]) for p in plans))

        for _ in range(args.samples):
            tenant, conv = rng.choice(convs)
            observe(inner, tenant, q("reads.recent"), [conv])
            observe(inner2, rng.choice(tenants), q("reads.tenant_recent"), [])
    with auto_explain_session(bench_dsn, "text", timing=True) as (conn, notices):
        with conn.transaction():
            conn.execute("SELECT dom360.set_tenant(%s)", [shown_tenant])
            conn.execute(q("reads.tenant_recent")).fetchall()
        report.explains.insert(0, ("d2: the statements inside tenant_recent_messages() (auto_explain, as the app "
                                   "with the tenant set)", "\n".join(n for n in notices if "messages_" in n)
                                   or "(auto_explain reported no nested plan on dom360.messages)"))
    with auto_explain_session(bench_dsn, "text", timing=True) as (conn, notices):
        with conn.transaction():
            conn.execute("SELECT dom360.set_tenant(%s)", [shown_tenant])
            conn.execute(q("reads.recent"), [shown_conv]).fetchall()
        inner_text = next((n for n in notices if re.search(r"messages_\d{4}_\d{2}", n)),
                          "(auto_explain reported no nested plan on dom360.messages)")
    report.explains.insert(1, ("d1: the statement inside recent_messages() (auto_explain, log_nested_statements, "
                               "as the app with the tenant set, same conversation)", inner_text))
    report.reads = {"d1": d1, "d1_inner": inner, "d2": d2, "d2_inner": inner2, "d2_direct": d2b}
