"""The Python client's chat turn: one pipeline (Dom360.chat_turn) against the same turn as separate statements in
a tenant() block, one client, sequential turns, on a database you name (a login granted dom360_app).

    .venv/bin/python bench/client_turn.py --dsn postgresql://api:…@host/db --turns 2000

Creates a tenant and an inbox with --admin-dsn, then reports turns/s and p50/p99 latency of each variant, in
interleaved rounds. Loopback hides a round trip's cost; `--latency-ms 1` puts a local TCP relay in front of the
server that holds every chunk for half that time in each direction (a network with that round-trip time).
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import statistics
import threading
import time
import uuid

import psycopg
from psycopg import conninfo

from dom360db.client import Dom360
from dom360db.connect import scalar


def relay(host: str, port: int, delay_s: float) -> int:
    """A TCP relay to host:port on a free local port, each chunk held `delay_s` per direction (order kept)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        local = int(s.getsockname()[1])
    ready = threading.Event()

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                if not data:
                    writer.close()
                    return
                writer.write(data)
                await writer.drain()

        task = asyncio.create_task(deliver())
        while data := await reader.read(65536):
            queue.put_nowait((time.perf_counter() + delay_s, data))
        queue.put_nowait((time.perf_counter() + delay_s, b""))
        await task

    async def handle(cr: asyncio.StreamReader, cw: asyncio.StreamWriter) -> None:
        sr, sw = await asyncio.open_connection(host, port)
        for w in (cw, sw):  # no Nagle delay on top of ours
            w.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        await asyncio.gather(pipe(cr, sw), pipe(sr, cw), return_exceptions=True)

    async def serve() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", local)
        ready.set()
        async with server:
            await server.serve_forever()

    threading.Thread(target=lambda: asyncio.run(serve()), daemon=True).start()
    ready.wait()
    return local


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--dsn", required=True, help="app login (granted dom360_app)")
    ap.add_argument("--admin-dsn", required=True, help="a role that may run dom360.create_tenant")
    ap.add_argument("--turns", type=int, default=3000, help="per variant")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--latency-ms", type=float, default=0.0, help="round-trip time added by a local relay")
    a = ap.parse_args()
    dsn = a.dsn
    if a.latency_ms > 0:
        params = conninfo.conninfo_to_dict(a.dsn)
        port = relay(str(params.get("host") or "127.0.0.1"), int(params.get("port") or 5432), a.latency_ms / 2000)
        dsn = conninfo.make_conninfo("", **{**params, "host": "127.0.0.1", "port": str(port)})
    with psycopg.connect(a.admin_dsn, autocommit=True) as c:
        tenant = scalar(c, "SELECT dom360.create_tenant('bench', %s)", [f"bench-{uuid.uuid4().hex[:8]}"])
        with c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [tenant])
            inbox = scalar(c, "INSERT INTO dom360.inboxes (name, channel) VALUES ('bench', 'web') RETURNING id")
    with Dom360(dsn, min_size=1, max_size=1) as db:
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

        variants = {"pipeline with dom360.chat_turn(NULL, …)": pipeline_fn,
                    "separate statements (6 round trips)": separate,
                    "chat_turn pipeline (1 round trip)": pipeline,
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
