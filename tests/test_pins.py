"""Two behaviours no other test held (issue 10): a planted bug in either went unnoticed by the suite.

- A message dated before its conversation's first message (a late import, a client clock behind) is still
  in the conversation's history, newest (highest message_index) first, because first_message_at moves
  back to it: recent_messages scans only between first_message_at and last_message_at.
- `partitions retain --keep-months N` keeps exactly the current month and the N before it: the month N
  before the current one stays, the month before that is dropped.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from click.testing import CliRunner

from dom360db import cli

from support import Database, Tenant, month_start, scalar, seed


def insert_at(db: Database, t: Tenant, when: datetime, content: str) -> int:
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [t.id])
        return scalar(c, "INSERT INTO dom360.messages (conversation_id, role, content, created_at) "
                         "VALUES (%s, 'user', %s, %s) RETURNING message_index", [t.conversation, content, when])  # type: ignore[index]


def test_a_message_dated_before_the_first_one_is_in_the_history_and_moves_first_message_at_back(db: Database) -> None:
    t = seed(db, "pin")
    now = datetime.now(UTC)
    insert_at(db, t, now - timedelta(minutes=2), "first")
    insert_at(db, t, now - timedelta(minutes=1), "second")
    earlier = month_start(-1) + timedelta(days=3)  # last month: another partition than the first message's
    assert insert_at(db, t, earlier, "late import") == 3
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [t.id])
        first = scalar(c, "SELECT first_message_at FROM dom360.conversations WHERE id = %s", [t.conversation])
        assert first == earlier
        history = c.execute("SELECT message_index, content FROM dom360.recent_messages(%s)", [t.conversation]).fetchall()
    assert history == [(3, "late import"), (2, "second"), (1, "first")]


def test_retain_keeps_the_month_n_before_the_current_one_and_drops_the_month_before_it(db: Database) -> None:
    t = seed(db, "pin")
    n = 2
    kept, dropped = month_start(-n), month_start(-n - 1)
    with db.admin() as c:
        for m in (kept, dropped):
            c.execute("SELECT dom360.create_month_partition('dom360.messages', %s)", [m.date()])
    insert_at(db, t, kept, "kept: first instant of the month N before")
    insert_at(db, t, kept - timedelta(microseconds=1), "dropped: last instant of the month before that")
    result = CliRunner().invoke(cli.cli, ["partitions", "retain", "--keep-months", str(n), "--dsn", db.admin_dsn])
    assert result.exit_code == 0, result.output
    with db.admin() as c:
        assert scalar(c, "SELECT to_regclass(%s)", [f"dom360.messages_{kept:%Y_%m}"]) is not None
        assert scalar(c, "SELECT to_regclass(%s)", [f"dom360.messages_{dropped:%Y_%m}"]) is None
        contents = [r[0] for r in c.execute("SELECT content FROM dom360.messages ORDER BY created_at")]
    assert contents == ["kept: first instant of the month N before"]
    assert f"messages_{dropped:%Y_%m}" in result.output and f"messages_{kept:%Y_%m}" not in result.output
