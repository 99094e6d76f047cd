"""Partition lifecycle: out-of-range messages are stored and later moved, creation races with inserts,
retention of a month still being read, ahead-created partitions under the same isolation, maintain."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta

import psycopg
import pytest

from dom360db import citus, cli, config, doctor, partitions, sqlfiles

from support import Database, Tenant, month_start, scalar, seed


def run_cli(db: Database, *args: str) -> tuple[int, str, str]:
    from click.testing import CliRunner

    result = CliRunner().invoke(cli.cli, [*args, "--dsn", db.admin_dsn])
    return result.exit_code, result.stdout, result.stderr


def insert_at(db: Database, tenant: Tenant, when: datetime, content: str = "hello", conn: psycopg.Connection | None = None
              ) -> tuple[int, int]:
    """A plain INSERT as the app, dated `when`: returns (message_index, total_tokens)."""
    own = conn is None
    c = conn or db.app()
    try:
        with c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [tenant.id])
            row = c.execute("INSERT INTO dom360.messages (conversation_id, role, content, input_tokens, output_tokens,"
                            " created_at) VALUES (%s, 'user', %s, 3, 4, %s) RETURNING message_index, total_tokens",
                            [tenant.conversation, content, when]).fetchone()
            assert row is not None
            return row[0], row[1]
    finally:
        if own:
            c.close()


def where_stored(db: Database) -> dict[str, int]:
    """Rows per partition of dom360.messages (those with rows), counted partition by partition: on Citus a row's
    tableoid is its shard's, on a worker."""
    with db.admin() as c:
        parts = [r[0] for r in c.execute("SELECT inhrelid::regclass::text FROM pg_inherits "
                                         "WHERE inhparent = 'dom360.messages'::regclass")]
        counts = {p: scalar(c, f"SELECT count(*) FROM ONLY {p}") for p in parts}
    return {p: n for p, n in counts.items() if n}


def messages_table(db: Database) -> partitions.Table:
    with db.admin() as c:
        return partitions.table_named(c, "messages")[0]


def test_a_message_dated_outside_every_partition_is_stored_reported_and_moved(db: Database, acme: Tenant) -> None:
    future = datetime(2031, 3, 5, 12, 0, tzinfo=UTC)
    past = datetime(1999, 12, 31, 23, 59, tzinfo=UTC)
    assert insert_at(db, acme, future) == (1, 7)
    assert insert_at(db, acme, past) == (2, 7)
    assert where_stored(db) == {"dom360.messages_default": 2}

    params = citus.with_citus(config.DEFAULTS, db.admin_dsn)  # doctor as `dom360db doctor` runs it on this target
    with db.admin() as c:
        findings = [f for f in doctor.run(c, params, sqlfiles.load(params)) if f.check == "default_partition_rows"]
    assert [(f.object, f.problem.split(" ")[0]) for f in findings] == [("dom360.messages_default", "2")]

    code, out, _ = run_cli(db, "partitions", "ensure")
    assert code == 0, out
    assert "created dom360.messages 1999-12" in out and "created dom360.messages 2031-03" in out
    assert where_stored(db) == {"dom360.messages_1999_12": 1, "dom360.messages_2031_03": 1}
    with db.admin() as c:
        assert [f for f in doctor.run(c, params, sqlfiles.load(params))] == []
        # the moved rows kept everything the trigger gave them, and the counters still match
        assert c.execute("SELECT array_agg(message_index ORDER BY created_at), sum(total_tokens) FROM dom360.messages"
                         ).fetchone() == ([2, 1], 14)
        assert scalar(c, "SELECT sum(messages_count) FROM dom360.consumption_inbox_daily") == 2
    # idempotent: nothing left to do
    code, out, _ = run_cli(db, "partitions", "ensure")
    assert code == 0 and "0 partition(s) created" in out


def test_partition_creation_races_with_inserts_into_the_new_month(db: Database, acme: Tenant) -> None:
    """Eight writers insert rows dated in a month that has no partition yet (so into the default partition)
    while `ensure` creates that month: no insert is refused, every row ends in the new partition exactly once."""
    month = month_start(7)  # beyond the 3 months created ahead
    table = messages_table(db)
    writers, per_writer = 8, 60
    started = threading.Barrier(writers + 1)
    failures: list[BaseException] = []
    seen: list[int] = []
    lock = threading.Lock()

    def write(k: int) -> None:
        try:
            with db.app() as c:
                started.wait(timeout=30)
                for i in range(per_writer):
                    idx, _ = insert_at(db, acme, month + timedelta(hours=k, minutes=i), f"w{k} m{i}", conn=c)
                    with lock:
                        seen.append(idx)
        except BaseException as exc:  # noqa: BLE001 - asserted below
            failures.append(exc)

    threads = [threading.Thread(target=write, args=(k,)) for k in range(writers)]
    for t in threads:
        t.start()
    started.wait(timeout=30)
    outcome = partitions.Outcome()
    with psycopg.connect(db.admin_dsn, autocommit=True) as c:
        while True:  # let some rows land in the default partition first
            if scalar(c, "SELECT count(*) FROM ONLY dom360.messages_default") >= 20:
                break
        partitions.ensure(c, table, [month.date()], lock_timeout_ms=5000, attempts=5, outcome=outcome)
    for t in threads:
        t.join(timeout=120)
    assert failures == []
    assert outcome.created == [f"dom360.messages {month:%Y-%m}"]
    total = writers * per_writer
    assert sorted(seen) == list(range(1, total + 1))
    assert where_stored(db) == {f"dom360.messages_{month:%Y_%m}": total}


def test_retention_of_a_month_still_being_read(db: Database, acme: Tenant) -> None:
    """An old month is detached while a transaction is reading it: the reader keeps its rows, writers of the
    current month are not refused, and retention completes once the reader is done."""
    old = month_start(-14)
    with db.admin() as c:
        c.execute("SELECT dom360.create_month_partition('dom360.messages', %s)", [old.date()])
    insert_at(db, acme, old + timedelta(days=2))
    table = messages_table(db)
    with db.app() as reader:
        reader.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
        reader.execute("SELECT dom360.set_tenant(%s)", [acme.id])
        assert scalar(reader, "SELECT count(*) FROM dom360.messages WHERE created_at < %s",
                              [old + timedelta(days=31)]) == 1  # type: ignore[index]
        with psycopg.connect(db.admin_dsn, autocommit=True) as c:
            assert partitions.expired(c, table, 12) == [f"dom360.messages_{old:%Y_%m}"]
            outcome = partitions.Outcome()
            with pytest.raises(Exception, match="lock not granted after 2 attempt"):
                partitions.retain(c, table, [f"dom360.messages_{old:%Y_%m}"], detach_only=False, lock_timeout_ms=200,
                                  attempts=2, outcome=outcome)
            assert outcome.retries == 1 and outcome.detached == []
        insert_at(db, acme, datetime.now(UTC))  # writers were never refused meanwhile
        assert scalar(reader, "SELECT count(*) FROM dom360.messages WHERE created_at < %s",
                              [old + timedelta(days=31)]) == 1  # type: ignore[index]
        reader.execute("COMMIT")
    code, out, _ = run_cli(db, "partitions", "retain", "--keep-months", "12")
    assert code == 0, out
    assert f"dropped dom360.messages_{old:%Y_%m}" in out
    assert f"dom360.messages_{old:%Y_%m}" not in where_stored(db)
    with db.admin() as c:
        assert scalar(c, "SELECT to_regclass(%s)", [f"dom360.messages_{old:%Y_%m}"]) is None


def test_retain_detach_only_keeps_a_locked_down_table(db: Database, acme: Tenant) -> None:
    old = month_start(-3)
    with db.admin() as c:
        c.execute("SELECT dom360.create_month_partition('dom360.messages', %s)", [old.date()])
    insert_at(db, acme, old + timedelta(days=1))
    code, out, _ = run_cli(db, "partitions", "retain", "--keep-months", "2", "--detach-only")
    assert code == 0, out
    name = f"dom360.messages_{old:%Y_%m}"
    assert f"detached (kept as a table) {name}" in out
    with db.admin() as c:
        assert scalar(c, f"SELECT count(*) FROM {name}") == 1
        assert c.execute("SELECT relispartition, relforcerowsecurity FROM pg_class WHERE oid = %s::regclass",
                         [name]).fetchone() == (False, True)
        assert "Archive it" in scalar(c, "SELECT obj_description(%s::regclass)", [name])
        # the month cannot be silently re-created over the kept table
        with pytest.raises(psycopg.errors.DuplicateTable, match="not a partition"):
            c.execute("SELECT dom360.create_month_partition('dom360.messages', %s)", [old.date()])
    with db.app() as c, c.transaction(), pytest.raises(psycopg.errors.InsufficientPrivilege):
        c.execute(f"SELECT * FROM {name}")


def test_detach_concurrently_where_the_server_allows_it(db: Database) -> None:
    """A monthly table without a default partition is retained with DETACH … CONCURRENTLY."""
    with db.admin() as c:
        c.execute("SET ROLE dom360_owner")
        c.execute("CREATE TABLE dom360.events (tenant_id uuid NOT NULL, at timestamptz NOT NULL) PARTITION BY RANGE (at)")
        c.execute("RESET ROLE")
        old = month_start(-5)
        c.execute("SELECT dom360.ensure_month_partitions('dom360.events', 0)")
        c.execute("SELECT dom360.create_month_partition('dom360.events', %s)", [old.date()])
        table = partitions.table_named(c, "events")[0]
        assert table.default_partition is None
        outcome = partitions.Outcome()
        partitions.retain(c, table, partitions.expired(c, table, 2), detach_only=False, lock_timeout_ms=1000, attempts=1,
                          outcome=outcome)
        assert outcome.dropped == [f"dom360.events_{old:%Y_%m}"]
        assert outcome.detach_modes == {f"dom360.events_{old:%Y_%m}": "CONCURRENTLY"}


def test_partitions_created_ahead_have_the_same_isolation(db: Database, acme: Tenant) -> None:
    """Months created by ensure (ahead, and from parked rows) pass every catalog check and isolate tenants."""
    other = seed(db, "globex")
    code, out, _ = run_cli(db, "partitions", "ensure", "--months-ahead", "9")
    assert code == 0, out
    far = month_start(9) + timedelta(days=3)
    insert_at(db, acme, far, "acme far")
    insert_at(db, other, far, "globex far")
    params = citus.with_citus(config.DEFAULTS, db.admin_dsn)
    with db.admin() as c:
        assert doctor.run(c, params, sqlfiles.load(params)) == []
        part = f"dom360.messages_{far:%Y_%m}"
        assert c.execute("SELECT relrowsecurity AND relforcerowsecurity, relowner::regrole::text FROM pg_class"
                         " WHERE oid = %s::regclass", [part]).fetchone() == (True, "dom360_owner")
        assert scalar(c, "SELECT count(*) FROM pg_policy WHERE polrelid = %s::regclass AND polname = 'tenant_isolation'",
                         [part]) == 1  # type: ignore[index]
        assert scalar(c, "SELECT count(*) FROM pg_trigger WHERE tgrelid = %s::regclass AND NOT tgisinternal", [part]
                         ) == 1  # type: ignore[index]
    for tenant, mine in ((acme, "acme far"), (other, "globex far")):
        with db.app() as c, c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [tenant.id])
            assert [r[0] for r in c.execute("SELECT content FROM dom360.messages WHERE created_at >= %s", [far])] == [mine]
    with db.app() as c, c.transaction():  # no tenant: no rows, no writes
        assert scalar(c, "SELECT count(*) FROM dom360.messages WHERE created_at >= %s", [far]) == 0


def test_ensure_dry_run_prints_the_ddl_and_changes_nothing(db: Database) -> None:
    code, out, _ = run_cli(db, "partitions", "ensure", "--months-ahead", "5", "--dry-run")
    assert code == 0
    nxt = month_start(4)
    assert f"CREATE TABLE dom360.messages_{nxt:%Y_%m} (LIKE dom360.messages" in out
    assert f"ALTER TABLE dom360.messages ATTACH PARTITION dom360.messages_{nxt:%Y_%m}" in out
    with db.admin() as c:
        assert scalar(c, "SELECT to_regclass(%s)", [f"dom360.messages_{nxt:%Y_%m}"]) is None


def test_list_shows_ranges_rows_and_sizes(db: Database, acme: Tenant) -> None:
    insert_at(db, acme, datetime(2031, 1, 1, tzinfo=UTC))
    code, out, _ = run_cli(db, "partitions", "list")
    assert code == 0
    assert f"dom360.messages_{datetime.now(UTC):%Y_%m}" in out
    default_line = next(line for line in out.splitlines() if "messages_default" in line)
    assert "DEFAULT" in default_line and "rows to move" in default_line and " 1 " in default_line


def test_maintain_is_idempotent_and_refuses_a_second_copy(db: Database, acme: Tenant) -> None:
    insert_at(db, acme, datetime(2032, 6, 1, tzinfo=UTC))
    code, out, _ = run_cli(db, "maintain")
    assert code == 0, out
    assert "1 created (dom360.messages 2032-06)" in out and "healthy" in out
    code, out, _ = run_cli(db, "maintain")
    assert code == 0 and "0 created" in out
    # a second copy: the lock as a running maintain holds it (a session of the owner side, named like one)
    with db.admin() as holder, holder.transaction():
        holder.execute("SET application_name = 'dom360db maintain (lock)'")
        holder.execute("LOCK TABLE dom360.maintenance_lock IN EXCLUSIVE MODE")
        pid, role = holder.execute("SELECT pg_backend_pid(), session_user").fetchone()
        res = subprocess.run([sys.executable, "-m", "dom360db", "maintain", "--wait", "0.5", "--dsn", db.admin_dsn],
                             capture_output=True, text=True, timeout=60)
    code, out, err = res.returncode, res.stdout, res.stderr.splitlines()[-1]
    assert code == 1 and "partitions ensure" not in out  # did nothing, and says so: cron sees a failure
    assert err.startswith("dom360db: error: another dom360db maintain still holds dom360.maintenance_lock after 0.5 s")
    assert f"backend pid {pid}, role {role}, application_name 'dom360db maintain (lock)'" in err
    assert "this run did nothing" in err


def test_maintain_cannot_be_silenced_by_the_app(db: Database, acme: Tenant) -> None:
    """The app's login takes the advisory locks maintain and migrate used to rely on (issue #16), and tries the
    new lock: refused (no privilege); maintain runs all its steps regardless."""
    insert_at(db, acme, datetime(2033, 3, 1, tzinfo=UTC))
    with db.app(autocommit=True) as app:
        assert scalar(app, "SELECT pg_try_advisory_lock(hashtextextended('dom360db maintain', 0))")
        assert scalar(app, "SELECT pg_try_advisory_lock(x'646F6D333630'::bigint)")
        with app.transaction(), pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("LOCK TABLE dom360.maintenance_lock IN EXCLUSIVE MODE NOWAIT")
        with app.transaction(), pytest.raises(psycopg.errors.InsufficientPrivilege):
            app.execute("LOCK TABLE dom360db_meta.run_lock IN EXCLUSIVE MODE NOWAIT")
        code, out, err = run_cli(db, "maintain", "--wait", "0")
        assert code == 0, out + err
        assert "1 created (dom360.messages 2033-03)" in out and "healthy" in out
        migrated = subprocess.run([sys.executable, "-m", "dom360db", "migrate", "--lock-timeout", "0",
                                   "--dsn", db.admin_dsn], capture_output=True, text=True, timeout=120)
        assert migrated.returncode == 0, migrated.stderr


def test_bad_table_and_month_are_one_line_errors(db: Database) -> None:
    res = subprocess.run([sys.executable, "-m", "dom360db", "partitions", "ensure", "--table", "conversations",
                          "--dsn", db.admin_dsn], capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and "Traceback" not in res.stderr and res.stderr.count("\n") == 1
    assert res.stderr.startswith("dom360db: error: conversations is not a table partitioned by month")
    with db.admin() as c, pytest.raises(psycopg.errors.InvalidParameterValue):
        c.execute("SELECT dom360.create_month_partition('dom360.conversations', '2030-01-01')")
    with db.admin() as c, pytest.raises(psycopg.errors.InvalidParameterValue, match="finite"):
        c.execute("SELECT dom360.month_partition_ddl('dom360.messages', 'infinity')")


@pytest.mark.single_server("auto_explain on the server that scans: on Citus the partitions are scanned on a worker, "
                            "whose plans the coordinator's session does not see")
def test_tenant_recent_messages_reads_few_partitions_and_still_finds_old_and_parked_rows(db: Database, acme: Tenant) -> None:
    """The default partition must not turn the tenant's last-messages read into a scan of every month: with
    enough recent messages only the months that always exist are read; with fewer, older months, parked rows
    included, complete the answer (future-dated rows never)."""
    old = month_start(-14) + timedelta(days=3)
    two_back = month_start(-2) + timedelta(days=5)
    with db.admin() as c:
        for when in (old, two_back):
            c.execute("SELECT dom360.create_month_partition('dom360.messages', %s)", [when.date()])
    insert_at(db, acme, datetime(1999, 5, 1, tzinfo=UTC), "parked 1999")
    insert_at(db, acme, old, "old")
    insert_at(db, acme, two_back, "two months back")
    insert_at(db, acme, datetime(2031, 5, 1, tzinfo=UTC), "future")
    for k in range(3):
        insert_at(db, acme, datetime.now(UTC) - timedelta(minutes=10 - k), f"recent {k}")

    def read(limit: int) -> tuple[list[str], list[str]]:
        notices: list[str] = []
        with db.admin() as c:
            c.add_notice_handler(lambda d: notices.append(d.message_primary or ""))
            c.execute("LOAD 'auto_explain'")
            for setting in ("log_min_duration = 0", "log_analyze = on", "log_nested_statements = on",
                            "log_level = notice", "log_timing = off"):
                c.execute(f"SET auto_explain.{setting}")
            c.execute("SET ROLE dom360_app")
            with c.transaction():
                c.execute("SELECT dom360.set_tenant(%s)", [acme.id])
                got = [r[0] for r in c.execute("SELECT content FROM dom360.tenant_recent_messages(%s)", [limit])]
        scanned = [ln.split(" on ")[1].split()[0] for n in notices for ln in n.splitlines()
                   if " Scan " in ln and " on messages_" in ln and "never executed" not in ln]
        return got, scanned

    got, scanned = read(3)
    assert got == ["recent 2", "recent 1", "recent 0"]
    assert len(scanned) <= 2 and "messages_default" not in scanned, scanned
    got, scanned = read(4)  # one month further back: its partition alone
    assert got == ["recent 2", "recent 1", "recent 0", "two months back"]
    assert scanned[-1] == f"messages_{two_back:%Y_%m}" and len(scanned) <= 3, scanned
    got, _ = read(10)  # beyond the gap: older partitions and the parked rows
    assert got == ["recent 2", "recent 1", "recent 0", "two months back", "old", "parked 1999"]


def test_a_missing_month_with_parked_rows_is_listed_once(db: Database, acme: Tenant) -> None:
    month = month_start(5)  # inside the window of --months-ahead 6, without a partition yet
    insert_at(db, acme, month + timedelta(days=1))
    with db.admin() as c:
        months = partitions.missing_months(c, messages_table(db), 6)
    assert months.count(month.date()) == 1
    code, out, _ = run_cli(db, "partitions", "ensure", "--months-ahead", "6")
    assert code == 0 and f"created dom360.messages {month:%Y-%m}" in out and "0 already there" in out
    assert where_stored(db) == {f"dom360.messages_{month:%Y_%m}": 1}
