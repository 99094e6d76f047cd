"""The data of a run: database dom360_bench, the app login, tenants and conversations, the bare twin of
dom360.messages, the seed's design, the history the reads run on, and the checks of the counters against the
messages. Its SQL is in bench/sql/ (setup, twin, grants, seed_data, load_conversations, load, checks)."""

from __future__ import annotations

import time
from typing import Any

import psycopg
from psycopg import sql

from bench.common import APP_LOGIN, BENCH_DIR, DB_NAME, PARAMS, SCHEMA, SEED_SCHEMA, connect, progress, q, run_steps
from bench.report import Report
from bench.scenarios import RunArgs, tag_prefix
from dom360db.connect import scalar
from dom360db.logins import ensure_login

LOAD_CHUNK_ROWS = 500_000


LOAD_TEXT = (
    "Hello! I would like to know more about the premium plan for my store. We have three shops and a website, "
    "and most of our customers write to us on WhatsApp and Instagram. Can your assistant answer questions about "
    "stock, opening hours and delivery times, and hand the conversation over to one of us when it cannot? Also, "
    "how is the price computed: per message, per conversation or per seat? We would need invoices in our company "
    "name, and ideally a trial month first. Thanks!"
)


MESSAGE_COLUMNS = (
    "tenant_id", "id", "conversation_id", "inbox_id", "message_index", "role", "content", "input_tokens",
    "output_tokens", "tool_calls", "metadata", "request_id", "created_at",
)


def load_state(bench_dsn: str) -> dict[str, Any] | None:
    """The parameters of the history an earlier run loaded (None: no such database or history)."""
    try:
        with connect(bench_dsn) as conn:
            row = conn.execute(q("load.get_state")).fetchone()
    except psycopg.Error:
        return None
    return row[0] if row else None


def wanted_state(args: RunArgs, month: str) -> dict[str, Any]:
    return {
        "rows": args.rows, "tenants": args.tenants, "per_tenant": args.per_tenant, "clients": args.clients,
        "per_conversation": args.per_conversation, "month": month,
    }


def save_state(admin: psycopg.Connection[Any], state: dict[str, Any]) -> None:
    admin.execute(q("load.put_state"), [psycopg.types.json.Jsonb(state)])


def create_login(admin: psycopg.Connection[Any], password: str) -> None:
    """The app login of the run (a fresh password each run), a member of the app role."""
    ensure_login(admin, APP_LOGIN, PARAMS["app_role"], password)


def create_tenants(admin: psycopg.Connection[Any], tenants: int, per_tenant: int, clients: int) -> None:
    """Tenants, their inboxes, the conversations of (b) (targets 1 .. tenants * per_tenant) and of (c) (the next
    `clients`), the partitions of the history's months."""
    setup = {"tenants": tenants, "per_tenant": per_tenant, "hot_base": tenants * per_tenant, "clients": clients}
    with admin.transaction():
        run_steps(admin, "setup", setup)


def grant_lookups(conn: psycopg.Connection[Any]) -> None:
    run_steps(conn, "grants")


def create_partitions(conn: psycopg.Connection[Any], schema: str) -> None:
    """In `schema`, partitions of its `messages` with the names and bounds of dom360.messages' partitions."""
    parent = sql.Identifier(schema, "messages")
    for name, lo, hi in conn.execute(q("server.partitions")).fetchall():
        part = sql.Identifier(schema, name)
        if lo is None:
            conn.execute(q("server.default_partition", part=part, parent=parent))
        else:
            conn.execute(q("server.range_partition", part=part, parent=parent, lo=sql.Literal(lo), hi=sql.Literal(hi)))


def create_twin(conn: psycopg.Connection[Any]) -> int:
    """The bare twin of dom360.messages with the same partitions; returns how many rows it starts with."""
    with conn.transaction():
        run_steps(conn, "twin")
        create_partitions(conn, SCHEMA)
        columns = sql.SQL(", ").join(sql.Identifier(c) for c in MESSAGE_COLUMNS)
        copied = conn.execute(q("load.twin_copy", columns=columns)).rowcount
    conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(SCHEMA, "messages")))
    return copied


def create_seed(conn: psycopg.Connection[Any]) -> None:
    """The seed's design in its own schema (bench/seed_design.sql), with the same partitions as dom360.messages and
    copies of the bench's tenants, inboxes and (b)/(c) conversations; dropped and rebuilt on every run."""
    script = sql.SQL((BENCH_DIR / "seed_design.sql").read_text()).format(  # type: ignore[arg-type]
        schema=sql.Identifier(SEED_SCHEMA), app=sql.Identifier(APP_LOGIN))
    with conn.transaction():
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(SEED_SCHEMA)))
        conn.execute(script)  # several statements and no parameters: allowed
        create_partitions(conn, SEED_SCHEMA)
        run_steps(conn, "seed_data")


def run_checks(report: Report, admin: psycopg.Connection[Any], when: str) -> None:
    progress(f"checking counters against messages ({when})")
    total, bad = admin.execute(q("checks.conversations")).fetchone()  # type: ignore[misc]
    report.checks.append(
        (when, "conversations.message_count / first / last_message_at = their messages; indexes 1..n gapless",
         "OK" if bad == 0 else "MISMATCH") + (f"{total} conversations, {bad} mismatched",)  # type: ignore[arg-type]
    )
    total, bad = admin.execute(q("checks.consumption")).fetchone()  # type: ignore[misc]
    report.checks.append(
        (when, "consumption stripes summed per (tenant, inbox, UTC day) = counts and token sums over messages",
         "OK" if bad == 0 else "MISMATCH", f"{total} (tenant, inbox, day), {bad} mismatched")
    )
    requests, user_with_id, orphans = admin.execute(q("checks.requests")).fetchone()  # type: ignore[misc]
    ok = requests == user_with_id and orphans == 0
    report.checks.append(
        (when, "message_requests: one per message stored with a request id, each pointing at its message",
         "OK" if ok else "MISMATCH",
         f"{requests} requests, {user_with_id} messages with a request id, {orphans} orphans")
    )


def check_writes(report: Report, admin: psycopg.Connection[Any], args: RunArgs, run_id: str) -> None:
    """Rows each write scenario stored against the transactions pgbench counted; the seed design's counters."""
    a_rows = scalar(admin, q("checks.twin_tagged_rows"), {"p": tag_prefix("a", run_id)})
    report.runs["a"].rows_written = int(a_rows)
    for k in ("b", "c"):
        report.runs[k].rows_written = int(
            scalar(admin, q("checks.tagged_rows"), {"p": tag_prefix(k, run_id)})
        )
    for k in ("a", "b", "c"):
        r = report.runs[k]
        report.checks.append(
            (f"after ({k})", "rows stored = transactions pgbench counted (it may miss the last in-flight "
             "ones)", "OK" if r.rows_written is not None and 0 <= r.rows_written - r.processed <= args.clients
             else "MISMATCH", f"{r.rows_written} rows, {r.processed} transactions")
        )
    seed_bad_conv, seed_bad_cons, seed_rows, seed_counters = admin.execute(q("checks.seed")).fetchone()  # type: ignore[misc]
    seed_txns = report.runs["sb"].processed + report.runs["sc"].processed
    report.checks.append(
        ("after (sb), (sc)", "seed's design: message_count and gapless indexes = its messages; its one "
         "consumption row per (tenant, inbox, UTC day) = sums over its messages",
         "OK" if seed_bad_conv == 0 and seed_bad_cons == 0 else "MISMATCH",
         f"{seed_bad_conv} conversations and {seed_bad_cons} of {seed_counters} counter rows mismatched")
    )
    report.checks.append(
        ("after (sb), (sc)", "seed's design: rows stored = transactions pgbench counted",
         "OK" if 0 <= seed_rows - seed_txns <= 2 * args.clients * args.rounds else "MISMATCH",
         f"{seed_rows} rows, {seed_txns} transactions")
    )


def load_history(report: Report, args: RunArgs, bench_dsn: str, admin: psycopg.Connection[Any]) -> int:
    conversations = max(1, args.rows // args.per_conversation)
    rows = conversations * args.per_conversation
    progress(f"loading {rows:,} messages in {conversations:,} conversations over 12 months (session_replication_role"
             " = replica: no trigger, no foreign-key check; counters computed alongside)")
    p = {"conversations": conversations, "per_conversation": args.per_conversation, "tenants": args.tenants}
    with connect(bench_dsn) as conn:
        conn.execute("SET session_replication_role = replica")
        with conn.transaction():
            run_steps(conn, "load_conversations", p)
        step = max(1, LOAD_CHUNK_ROWS // args.per_conversation)
        t0, done = time.monotonic(), 0
        for lo in range(1, conversations + 1, step):
            hi = min(conversations, lo + step - 1)
            conn.execute(
                q("load.messages"), {"text": LOAD_TEXT, "lo": lo, "hi": hi, "stripes": PARAMS["consumption_stripes"]}
            )
            done += (hi - lo + 1) * args.per_conversation
            spent = time.monotonic() - t0
            eta = spent / done * (rows - done)
            progress(f"loaded {done:,}/{rows:,} messages ({done / spent:,.0f} rows/s, about {eta:.0f} s left)")
    admin.execute(q("load.grant_read_targets"))
    progress("VACUUM (ANALYZE) of the database (visibility map, statistics)")
    admin.execute("VACUUM (ANALYZE)")
    return rows


def disk_note(admin: psycopg.Connection[Any], loaded_rows: int) -> str:
    """The disk the database and dom360.messages take (the WAL is not counted)."""
    size_db, size_messages = admin.execute(q("server.disk")).fetchone()  # type: ignore[misc]
    return (f"Disk: database {DB_NAME} {int(size_db) / 2**30:.2f} GiB (pg_database_size), dom360.messages with its "
            f"partitions and indexes {int(size_messages) / 2**30:.2f} GiB, for {loaded_rows:,} loaded messages (the "
            "WAL is not counted).")
