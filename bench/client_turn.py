"""The Python client's chat turn: one pipeline (Dom360.chat_turn) against the same turn as separate statements in
a tenant() block, one client, sequential turns, on a database you name (a login granted dom360_app).

    .venv/bin/python bench/client_turn.py --dsn postgresql://api:…@host/db --turns 2000

Creates a tenant and an inbox with --admin-dsn (default: --dsn's server as the same user), then reports turns/s
and p50/p99 latency of each variant. Loopback hides most of a round trip's cost: over a network, each round trip
saved is one network latency per turn.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid

import psycopg

from dom360db.client import Dom360


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True, help="app login (granted dom360_app)")
    ap.add_argument("--admin-dsn", required=True, help="a role that may run dom360.create_tenant")
    ap.add_argument("--turns", type=int, default=3000, help="per variant")
    ap.add_argument("--rounds", type=int, default=10)
    a = ap.parse_args()
    with psycopg.connect(a.admin_dsn, autocommit=True) as c:
        tenant = c.execute("SELECT dom360.create_tenant('bench', %s)", [f"bench-{uuid.uuid4().hex[:8]}"]).fetchone()[0]  # type: ignore[index]
        with c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [tenant])
            inbox = c.execute("INSERT INTO dom360.inboxes (name, channel) VALUES ('bench', 'web') RETURNING id").fetchone()[0]  # type: ignore[index]
    with Dom360(a.dsn, min_size=1, max_size=1) as db:
        def pipeline(i: int) -> None:
            db.chat_turn(tenant, inbox, f"p{i % 50}", "user", "hello", input_tokens=3, history=20)

        def separate(i: int) -> None:
            with db.tenant(tenant) as t:
                conv = t.get_or_create_conversation(inbox, f"s{i % 50}")
                t.append_message(conv, "user", "hello", input_tokens=3)
                t.recent_messages(conv, 20)

        def function(i: int) -> None:
            with db.pool.connection() as conn:
                conn.execute("SELECT * FROM dom360.chat_turn(%s, %s, %s, 'user', 'hello', 3, p_history_limit => 20)",
                             [tenant, inbox, f"f{i % 50}"]).fetchall()

        def pipeline_fn(i: int) -> None:
            with db.pool.connection() as conn:
                with conn.pipeline():
                    conn.execute("BEGIN")
                    conn.execute("SELECT dom360.set_tenant(%s)", [tenant])
                    cur = conn.execute("SELECT * FROM dom360.chat_turn(NULL, %s, %s, 'user', 'hello', 3, p_history_limit => 20)",
                                       [inbox, f"g{i % 50}"])
                    conn.execute("COMMIT")
                cur.fetchall()

        variants = {"pipeline with dom360.chat_turn(NULL, …)": pipeline_fn,"separate statements (6 round trips)": separate, "chat_turn pipeline (1 round trip)": pipeline,
                    "dom360.chat_turn() (1 statement)": function}
        lat: dict[str, list[float]] = {name: [] for name in variants}
        rates: dict[str, list[float]] = {name: [] for name in variants}
        for fn in variants.values():  # warm-up (statements prepared, caches filled)
            for i in range(100):
                fn(i)
        per_round = max(a.turns // a.rounds, 1)
        for r in range(a.rounds):  # interleaved rounds: a busy machine slows every variant alike
            for name, fn in variants.items():
                start = time.perf_counter()
                for i in range(per_round):
                    t0 = time.perf_counter()
                    fn(r * per_round + i)
                    lat[name].append(time.perf_counter() - t0)
                rates[name].append(per_round / (time.perf_counter() - start))
        for name in variants:
            q = statistics.quantiles(lat[name], n=100)
            print(f"{name:38s} {statistics.median(rates[name]):6.0f} turns/s (median of {a.rounds} rounds)"
                  f"  p50 {q[49] * 1000:.2f} ms  p99 {q[98] * 1000:.2f} ms")

if __name__ == "__main__":
    main()
