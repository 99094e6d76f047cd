"""`dom360db backfill response-times`: the response turns of data stored before schema/0100.

Data stored before 0100 has no messages.turn_asked_at and no conversations.turn_asked_at; it is simulated by
clearing them (as a superuser) on the analytics scenario. The figures must then come back exactly as the
Python walk over the raw messages computes them (tests/test_analytics.py), after a run that was killed midway
and resumed, and with a message stored between the upgrade and the backfill.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from typing import Any

import psycopg
import pytest
from test_analytics import D, H, S, Scenario, approx, as_app, expected_response, raw, scenario  # noqa: F401 (fixture)

from dom360db import config, doctor, sqlfiles

from pgtools import kill9_when
from support import Database, scalar

RESPONSE = "SELECT day, agent_type, turns, answered, unanswered, p50_seconds, p95_seconds FROM dom360.tenant_response_times()"


def cli(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dom360db", "backfill", "response-times", "--dsn", db.admin_dsn, *args],
                          capture_output=True, text=True, timeout=300)


def as_before_0100(db: Database) -> None:
    """What a database upgraded to 0100 holds: the new columns NULL on every row stored before it."""
    with db.admin() as c:
        c.execute("UPDATE dom360.messages SET turn_asked_at = NULL WHERE turn_asked_at IS NOT NULL")
        c.execute("UPDATE dom360.conversations SET turn_asked_at = NULL, last_turn_asked_at = NULL, response_turns_ready = NULL")


def want(db: Database, tenant: uuid.UUID) -> dict[tuple[Any, str], tuple[Any, ...]]:
    return {k: (t, an, un, approx(p50), approx(p95)) for k, (t, an, un, p50, p95) in expected_response(raw(db, tenant)).items()}


def got(db: Database, tenant: uuid.UUID) -> dict[tuple[Any, str], tuple[Any, ...]]:
    return {(d, a): (t, an, un, p50, p95) for d, a, t, an, un, p50, p95 in as_app(db, tenant, RESPONSE)}


def pending(db: Database) -> int:
    with db.admin() as c:
        return scalar(c, "SELECT count(*) FROM dom360.conversations WHERE response_turns_ready IS NULL")


def backfill_findings(conn: psycopg.Connection) -> dict[str, str]:
    """doctor's findings about the backfill (check response_backfill): check -> fix."""
    return {f.check: f.fix for f in doctor.run(conn, config.DEFAULTS, sqlfiles.load(config.DEFAULTS))
            if f.check == "response_backfill"}


def answer_starts(db: Database) -> list[tuple[Any, ...]]:
    with db.admin() as c:
        return c.execute("SELECT conversation_id, message_index, turn_asked_at FROM dom360.messages "
                         "ORDER BY 1, 2").fetchall()


def test_backfill_fills_what_the_trigger_would_have(db: Database, scenario: Scenario) -> None:  # noqa: F811
    assert got(db, scenario.tenant) == want(db, scenario.tenant)
    stored = answer_starts(db)
    as_before_0100(db)
    assert got(db, scenario.tenant) != want(db, scenario.tenant)  # the test can fail: the figures need the backfill
    res = cli(db, "--batch-size", "2")
    assert res.returncode == 0, res.stderr
    assert "filled for 7 conversation(s) of 2 tenant(s)" in res.stdout
    assert "filling response turns" in res.stderr
    assert pending(db) == 0
    assert answer_starts(db) == stored
    assert got(db, scenario.tenant) == want(db, scenario.tenant)
    assert got(db, scenario.other) == want(db, scenario.other)
    again = cli(db)  # nothing left: a no-op
    assert again.returncode == 0 and "nothing to fill" in again.stdout
    with db.admin() as c:  # conversations created after 0100 need no backfill
        assert c.execute("SELECT column_default FROM information_schema.columns WHERE table_schema = 'dom360' "
                         "AND table_name = 'conversations' AND column_name = 'response_turns_ready'").fetchone()[0] == "true"


def test_backfill_killed_midway_is_finished_by_the_same_command(db: Database, scenario: Scenario) -> None:  # noqa: F811
    as_before_0100(db)
    # a message stored between the upgrade and the backfill: it answers a question asked before the upgrade
    # (conversation a's last message), which the trigger cannot know yet
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [scenario.tenant])
        c.execute("INSERT INTO dom360.messages (conversation_id, role, content, created_at) VALUES (%s, 'assistant', 'late', %s)",
                  [scenario.convs["a"], scenario.month + 2 * D + 9 * H + 1900 * S])
    assert got(db, scenario.tenant) != want(db, scenario.tenant)
    with db.admin() as c:
        ids = [r[0] for r in c.execute("SELECT id FROM dom360.conversations WHERE tenant_id = %s ORDER BY id",
                                       [scenario.tenant])]
    blocker = db.admin()
    blocker.autocommit = False
    blocker.execute("SELECT 1 FROM dom360.conversations WHERE id = %s FOR UPDATE", [ids[2]])  # the third batch of one
    proc = subprocess.Popen([sys.executable, "-m", "dom360db", "backfill", "response-times", "--batch-size", "1",
                             "--dsn", db.admin_dsn], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        with db.admin() as c:
            kill9_when(proc, lambda: bool(scalar(c, "SELECT count(*) FROM pg_stat_activity WHERE application_name = "
                                                    "'dom360db backfill' AND wait_event_type = 'Lock'")), "backfill")
    finally:
        blocker.rollback()
        blocker.close()
    with db.admin() as c:
        done = {r[0] for r in c.execute("SELECT id FROM dom360.conversations WHERE tenant_id = %s "
                                        "AND response_turns_ready", [scenario.tenant])}
    assert done == set(ids[:2])  # the batches before the kill are kept, the one killed is not
    res = cli(db, "--batch-size", "1")
    assert res.returncode == 0, res.stderr
    assert pending(db) == 0
    assert got(db, scenario.tenant) == want(db, scenario.tenant)
    assert got(db, scenario.other) == want(db, scenario.other)


@pytest.mark.parametrize("args", [("--batch-size", "0"), ("--dsn", "postgresql://nobody@127.0.0.1:1/x")])
def test_backfill_expected_failures_are_one_line(db: Database, args: tuple[str, ...]) -> None:
    res = cli(db, *args)
    assert res.returncode != 0
    assert "Traceback" not in res.stderr


def test_backfill_indexes_the_partitions_stored_before_0102(db: Database, scenario: Scenario) -> None:  # noqa: F811
    """Partitions that held rows when schema/0102 ran lack the answers index: the command builds and attaches it."""
    ddl = ("CREATE INDEX messages_answers_idx ON ONLY dom360.messages (tenant_id, created_at) "
           "INCLUDE (turn_asked_at, conversation_id) WHERE turn_asked_at IS NOT NULL")
    state = ("SELECT x.indisvalid, (SELECT count(*) FROM pg_inherits WHERE inhparent = x.indexrelid), "
             "(SELECT count(*) FROM pg_inherits WHERE inhparent = 'dom360.messages'::regclass) "
             "FROM pg_index AS x WHERE x.indexrelid = 'dom360.messages_answers_idx'::regclass")
    with db.admin() as c:
        valid, attached, partitions = c.execute(state).fetchone()  # type: ignore[misc]
        assert valid and attached == partitions  # a fresh install: every partition indexed by the migration
        c.execute("DROP INDEX dom360.messages_answers_idx")
        c.execute(ddl)  # as 0102 leaves a database whose partitions hold rows
        assert c.execute(state).fetchone() == (False, 0, partitions)
        assert "response_backfill" in backfill_findings(c)  # doctor names the pending backfill and its command
    res = cli(db)
    assert res.returncode == 0, res.stderr
    assert f"answers index built on {partitions} partition(s)" in res.stdout
    with db.admin() as c:
        assert c.execute(state).fetchone() == (True, partitions, partitions)
        assert backfill_findings(c) == {}
    assert got(db, scenario.tenant) == want(db, scenario.tenant)
