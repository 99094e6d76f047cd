"""Tenant isolation behind a real PgBouncer in transaction mode (many clients, few server connections).

- The transaction-scoped pattern (``BEGIN; SELECT dom360.set_tenant(t); …; COMMIT``) leaks nothing to
  the next client of a server connection, under concurrency, with commits, rollbacks and errors.
- A session-level ``set_config('app.tenant_id', …, false)`` DOES leak to another client: the evidence for
  the pooling warning (docs/backend.md). That test fails if the leak ever stops happening (e.g. the pool mode changed),
  so the warning and its evidence stay in step.

Needs the Debian package ``pgbouncer`` (skipped with that reason without it). Connections through
PgBouncer < 1.21 must not use server-side prepared statements: tests/pgbouncer.py connects with
``prepare_threshold=None``.
"""

from __future__ import annotations

import random
import threading
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime

import psycopg
import pytest
from psycopg import errors, sql

import pgbouncer
from support import APP_LOGIN, LOGIN_PASSWORD, Database, Tenant, scalar, seed

#: Tenant tables read in every transaction, with the column holding the owning tenant.
TENANT_TABLES = {"tenants": "id", "inboxes": "tenant_id", "users": "tenant_id", "conversations": "tenant_id"}
CLIENTS = 8
TRANSACTIONS = 200  # per client
TENANTS = 4
POOL_SIZE = 2

#: One statement, hence one server connection even between transactions: which server connection, which
#: tenant, how many inboxes visible, and whether the login bypasses row-level security anyway.
PROBE = sql.SQL("SELECT pg_backend_pid(), dom360.current_tenant_id(), (SELECT count(*) FROM dom360.inboxes), "
                "current_setting('is_superuser') = 'on' "
                "OR (SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user)")
#: The roles are cluster-wide: a concurrent test run on a shared server (test_catalog injects defects such as
#: `ALTER ROLE dom360_test_app SUPERUSER` for a moment) makes every isolation check fail; say so when it happens.
BYPASS = "the app login bypassed row-level security (another test run on this shared server changing the role?)"

Start = Callable[..., pgbouncer.PgBouncer]


@pytest.fixture
def bouncer(db: Database) -> Iterator[Start]:
    """Starts PgBouncers (``bouncer(pool_size=2)``) in front of the test's database; stops them at teardown."""
    try:
        pgbouncer.binary()
    except pgbouncer.PgBouncerUnavailable as exc:
        pytest.skip(str(exc))
    with ExitStack() as stack:
        def start(pool_size: int = POOL_SIZE) -> pgbouncer.PgBouncer:
            logins = {APP_LOGIN: LOGIN_PASSWORD}
            return stack.enter_context(pgbouncer.running(db.admin_dsn, logins, pool_size=pool_size))
        yield start


def connect(pb: pgbouncer.PgBouncer) -> psycopg.Connection:
    """An app client through the pool, autocommit: transactions are explicit (``conn.transaction()``)."""
    return pb.connect(APP_LOGIN, LOGIN_PASSWORD, autocommit=True)


# --- the transaction-scoped pattern does not leak ------------------------------------------------------

@dataclass
class ClientLog:
    client: int
    transactions: int = 0
    committed: int = 0
    rolled_back: int = 0
    failed: int = 0
    #: (server pid, clock_timestamp() at the start of the transaction) per transaction
    starts: list[tuple[int, datetime]] = field(default_factory=list)
    leaks: list[str] = field(default_factory=list)


def _client(pb: pgbouncer.PgBouncer, n: int, tenants: list[Tenant], barrier: threading.Barrier) -> ClientLog:
    rng = random.Random(n)
    log = ClientLog(n)
    reads = [(table, sql.SQL("SELECT DISTINCT {} FROM dom360.{}").format(sql.Identifier(col), sql.Identifier(table)))
             for table, col in TENANT_TABLES.items()]
    with connect(pb) as c:
        barrier.wait(timeout=60)  # all clients connected: start together, to interleave on the server connections
        for i in range(TRANSACTIONS):
            t = rng.choice(tenants)
            ending = rng.choices(["commit", "rollback", "error"], weights=[8, 1, 1])[0]
            log.transactions += 1
            try:
                with c.transaction(force_rollback=ending == "rollback"):
                    pid, current, inboxes, bypass = c.execute(PROBE).fetchone()  # type: ignore[misc]
                    log.starts.append((pid, scalar(c, "SELECT clock_timestamp()")))
                    if current is not None or inboxes:
                        log.leaks.append(f"client {n} tx {i} on pid {pid}: before set_tenant, tenant {current}, "
                                         f"{inboxes} inbox(es) visible" + (f" ({BYPASS})" if bypass else ""))
                    c.execute("SELECT dom360.set_tenant(%s)", [t.id])
                    for table, query in reads:
                        owners = {r[0] for r in c.execute(query)}
                        if owners != {t.id}:
                            log.leaks.append(f"client {n} tx {i} on pid {pid}: {table} as {t.id} shows {owners}")
                    if scalar(c, "SELECT pg_backend_pid()") != pid:
                        log.leaks.append(f"client {n} tx {i}: server connection changed inside a transaction")
                    if ending == "error":
                        c.execute("SELECT 1 / 0")
            except errors.DivisionByZero:
                log.failed += 1
            else:
                log.rolled_back += ending == "rollback"
                log.committed += ending == "commit"
    return log


def _handoffs(logs: list[ClientLog]) -> int:
    """Transactions that ran on a server connection whose previous transaction belonged to another client.

    Transactions on one server connection run one after the other, so their clock_timestamp() order is theirs.
    """
    by_pid: dict[int, list[tuple[datetime, int]]] = defaultdict(list)
    for log in logs:
        for pid, at in log.starts:
            by_pid[pid].append((at, log.client))
    count = 0
    for runs in by_pid.values():
        runs.sort()
        count += sum(1 for (_, a), (_, b) in zip(runs, runs[1:], strict=False) if a != b)
    return count


def test_no_leak_through_transaction_pooling(db: Database, bouncer: Start) -> None:
    tenants = [seed(db, f"tenant{i}") for i in range(TENANTS)]
    pb = bouncer(pool_size=POOL_SIZE)
    barrier = threading.Barrier(CLIENTS)
    with ThreadPoolExecutor(CLIENTS) as pool:
        logs = list(pool.map(lambda n: _client(pb, n, tenants, barrier), range(CLIENTS)))

    leaks = [leak for log in logs for leak in log.leaks]
    pids = Counter(pid for log in logs for pid, _ in log.starts)
    clients_per_pid = {pid: {log.client for log in logs for p, _ in log.starts if p == pid} for pid in pids}
    total = sum(log.transactions for log in logs)
    handoffs = _handoffs(logs)
    print(f"\n{total} transactions by {CLIENTS} clients through PgBouncer (pool {POOL_SIZE}): "
          f"{sum(log.committed for log in logs)} committed, {sum(log.rolled_back for log in logs)} rolled back, "
          f"{sum(log.failed for log in logs)} failed; server pids {dict(pids)}; "
          f"{handoffs} hand-offs to another client; {len(leaks)} leak(s)")

    assert total == CLIENTS * TRANSACTIONS
    assert sum(len(log.starts) for log in logs) == total
    assert not leaks, "\n".join(leaks[:20])
    # the pool really was shared: fewer server connections than clients, each used by several clients,
    # and the check at the start of a transaction often ran right after another client's transaction
    assert len(pids) <= POOL_SIZE < CLIENTS
    assert all(len(clients) > 1 for clients in clients_per_pid.values())
    assert handoffs >= total // 10


# --- a session-level setting leaks: the evidence for the pooling warning (docs/backend.md) ------------------------

def test_session_level_set_leaks_through_the_pool(db: Database, bouncer: Start) -> None:
    a, b = seed(db, "acme"), seed(db, "beta")

    # one server connection shared by two clients; A sets the tenant at session level, outside a transaction
    pb = bouncer(pool_size=1)
    with connect(pb) as client_a, connect(pb) as client_b:
        pid_a = scalar(client_a, "SELECT pg_backend_pid(), set_config('app.tenant_id', %s, false)",
                                 [str(a.id)])  # type: ignore[index]
        # B never sets a tenant, yet sees A's tenant and A's rows
        probe = client_b.execute(PROBE).fetchone()
        assert probe is not None and not probe[3], BYPASS
        assert probe[0] == pid_a, f"both clients must be served by the one server connection: {pid_a} vs {probe}"
        assert probe[1:3] == (a.id, 1), (
            f"the session-level setting no longer leaks ({probe}): check the pool mode and docs/backend.md")
        with client_b.transaction():
            owners = {r[0] for r in client_b.execute("SELECT tenant_id FROM dom360.conversations")}
        assert owners == {a.id}
        # and a well-behaved client cannot clean it up: its transaction-scoped set_tenant ends by restoring A
        with client_b.transaction():
            client_b.execute("SELECT dom360.set_tenant(%s)", [b.id])
            assert client_b.execute(PROBE).fetchone()[1:3] == (b.id, 1)  # type: ignore[index]
        assert client_b.execute(PROBE).fetchone()[:3] == (pid_a, a.id, 1)  # type: ignore[index]

    # the contrast, on a fresh pool of one server connection: A sets its tenant inside a transaction only
    pb = bouncer(pool_size=1)
    with connect(pb) as client_a, connect(pb) as client_b:
        with client_a.transaction():
            client_a.execute("SELECT dom360.set_tenant(%s)", [a.id])
            pid_a, current, inboxes, _ = client_a.execute(PROBE).fetchone()  # type: ignore[misc]
            assert (current, inboxes) == (a.id, 1)
        probe = client_b.execute(PROBE).fetchone()
        assert probe is not None and not probe[3], BYPASS
        assert probe[:3] == (pid_a, None, 0), f"A's transaction-scoped tenant reached B: {probe}"


def test_pool_is_transaction_mode(db: Database, bouncer: Start) -> None:
    """Guards the two tests above: with one server connection, two clients alternate on it between transactions."""
    seed(db, "acme")
    pb = bouncer(pool_size=1)
    with connect(pb) as c1, connect(pb) as c2:
        pids = {scalar(c, "SELECT pg_backend_pid()") for c in (c1, c2, c1, c2)}
    assert len(pids) == 1
