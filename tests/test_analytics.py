"""Analytics: every figure of the views (analytics role) and the tenant_* functions (app) is compared with
numbers computed here, in Python, from the raw rows (messages, conversations, stages, prices).

The scenario has the edge cases: an assistant greeting before any question, two user messages before one
answer, a tool message inside a turn, a follow-up answer, unanswered questions, a turn that crosses midnight,
a conversation with no agent type (the tenant's default), a price change mid-month and a day with no price,
a conversation that skips a stage, one lost after qualifying, one lost while new, one that stays new, one of
the previous month, and a second tenant whose rows must never show up.
"""

from __future__ import annotations

import math
import subprocess
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import errors

from support import Database, month_start, scalar

H = timedelta(hours=1)
D = timedelta(days=1)
S = timedelta(seconds=1)


@dataclass
class Scenario:
    month: datetime
    tenant: uuid.UUID
    other: uuid.UUID
    inboxes: dict[str, uuid.UUID]
    convs: dict[str, uuid.UUID]


def as_app(db: Database, tenant: uuid.UUID, stmt: str, args: list[Any] | None = None) -> list[tuple[Any, ...]]:
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [tenant])
        cur = c.execute(stmt, args or [])
        return cur.fetchall() if cur.description else []


def add_messages(c: psycopg.Connection, conv: uuid.UUID, msgs: list[tuple[datetime, str, int, int]]) -> None:
    for at, role, tin, tout in msgs:
        c.execute("INSERT INTO dom360.messages (conversation_id, role, content, input_tokens, output_tokens, created_at)"
                  " VALUES (%s, %s, 'x', %s, %s, %s)", [conv, role, tin, tout, at])


def new_conversation(c: psycopg.Connection, inbox: uuid.UUID, key: str, agent: str | None, created: datetime) -> uuid.UUID:
    return scalar(c, "INSERT INTO dom360.conversations (inbox_id, external_id, agent_type, created_at) "
                     "VALUES (%s, %s, %s, %s) RETURNING id", [inbox, key, agent, created])  # type: ignore[index]


#: (conversation key, inbox, agent type, created at, stages) — offsets from the month's start.
CONVERSATIONS: dict[str, tuple[str, str | None, timedelta, list[tuple[str, timedelta]]]] = {
    "a": ("web", "SDR", 2 * D + 9 * H, [("qualified", 3 * D), ("meeting_booked", 5 * D), ("won", 8 * D)]),
    "b": ("wa", "COPILOT", 9 * D + 10 * H, [("qualified", 9 * D + 11 * H), ("lost", 12 * D)]),
    "c": ("web", None, 16 * D, [("meeting_booked", 16 * D + 5 * H), ("won", 18 * D)]),  # skips qualified
    "d": ("web", "SDR", 16 * D + 2 * H, [("lost", 17 * D)]),  # lost while new
    "e": ("wa", "SDR", 20 * D, []),  # stays new
}

#: (conversation, offset, role, input tokens, output tokens), in each conversation's order.
MESSAGES: list[tuple[str, timedelta, str, int, int]] = [
    ("a", 2 * D + 9 * H, "assistant", 20, 30),                   # greeting: starts no turn
    ("a", 2 * D + 9 * H + 60 * S, "user", 15, 0),
    ("a", 2 * D + 9 * H + 64 * S, "assistant", 300, 40),         # 4 s
    ("a", 2 * D + 9 * H + 300 * S, "user", 11, 0),
    ("a", 2 * D + 9 * H + 330 * S, "user", 12, 0),               # two questions, one answer: from the first
    ("a", 2 * D + 9 * H + 345 * S, "tool", 0, 0),
    ("a", 2 * D + 9 * H + 370 * S, "assistant", 410, 55),        # 70 s
    ("a", 2 * D + 9 * H + 380 * S, "assistant", 120, 15),        # follow-up: no turn
    ("a", 2 * D + 9 * H + 1800 * S, "user", 9, 0),               # never answered
    ("b", 9 * D + 10 * H, "user", 40, 0),
    ("b", 9 * D + 10 * H + 2500 * timedelta(milliseconds=1), "assistant", 500, 80),  # 2.5 s
    ("b", 10 * D - 10 * S, "user", 30, 0),                       # crosses midnight: counted on day 9
    ("b", 10 * D + 20 * S, "assistant", 610, 70),                # 30 s
    ("b", 12 * D + 8 * H, "user", 25, 0),
    ("b", 12 * D + 8 * H + 12 * S, "assistant", 700, 90),        # 12 s
    ("c", 16 * D + 1 * H, "system", 5, 0),
    ("c", 16 * D + 1 * H + 1 * S, "user", 14, 0),
    ("c", 16 * D + 1 * H + 2 * S, "assistant", 200, 25),         # 1 s
    ("c", 16 * D + 1 * H + 60 * S, "user", 16, 0),
    ("c", 16 * D + 1 * H + 69 * S, "assistant", 260, 35),        # 9 s
    ("d", 16 * D + 3 * H, "user", 50, 0),                        # never answered
    ("e", 20 * D + 1 * H, "user", 33, 0),
    ("e", 20 * D + 1 * H + 100 * S, "assistant", 900, 120),      # 100 s
]

#: (agent type, valid from, valid to, input price per 1k, output price per 1k): SDR changes on day 15;
#: COPILOT has no price before day 10 (conversation b's day 9 is unpriced).
PRICES: list[tuple[str, int, int | None, Decimal, Decimal]] = [
    ("SDR", 0, 15, Decimal("0.5"), Decimal("1.5")),
    ("SDR", 15, None, Decimal("0.25"), Decimal("2.0")),
    ("COPILOT", 10, None, Decimal("1.0"), Decimal("3.125")),
]


@pytest.fixture
def scenario(db: Database) -> Scenario:
    m = month_start()
    tenant, other = db.create_tenant("acme"), db.create_tenant("beta")
    with db.app() as c:
        with c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [tenant])
            inboxes = {name: scalar(c, "INSERT INTO dom360.inboxes (name, channel) VALUES (%s, 'web') RETURNING id",
                                       [name]) for name in ("web", "wa")}  # type: ignore[index]
            convs = {key: new_conversation(c, inboxes[inbox], key, agent, m + created)
                     for key, (inbox, agent, created, _) in CONVERSATIONS.items()}
            convs["prev"] = new_conversation(c, inboxes["web"], "prev", "SDR", m - 3 * D)
            for key, offset, role, tin, tout in MESSAGES:
                add_messages(c, convs[key], [(m + offset, role, tin, tout)])
        with c.transaction():  # the stages in a transaction of their own: on Citus a SECURITY DEFINER function may
            c.execute("SELECT dom360.set_tenant(%s)", [tenant])  # not touch shards the app wrote (docs/citus.md)
            for key, (_, _, _, stages) in CONVERSATIONS.items():
                for stage, at in stages:
                    c.execute("SELECT dom360.set_conversation_stage(%s, %s, %s)", [convs[key], stage, m + at])
            c.execute("SELECT dom360.set_conversation_stage(%s, 'qualified', %s)", [convs["prev"], m - 2 * D])
        with c.transaction():  # another tenant, same days: must never show up in acme's figures
            c.execute("SELECT dom360.set_tenant(%s)", [other])
            inbox = scalar(c, "INSERT INTO dom360.inboxes (name, channel) VALUES ('web', 'web') RETURNING id")
            conv = new_conversation(c, inbox, "z", "SDR", m + 2 * D)
            add_messages(c, conv, [(m + 2 * D + H, "user", 1000, 0), (m + 2 * D + H + 500 * S, "assistant", 1000, 1000)])
        with c.transaction():
            c.execute("SELECT dom360.set_tenant(%s)", [other])
            c.execute("SELECT dom360.set_conversation_stage(%s, 'won', %s)", [conv, m + 3 * D])
    with db.admin() as c:
        for t in (tenant, other):
            for agent, start, end, pin, pout in PRICES:
                c.execute("INSERT INTO dom360.token_prices (tenant_id, agent_type, valid_from, valid_to, input_price_per_1k, "
                          "output_price_per_1k) VALUES (%s, %s, %s, %s, %s, %s)",
                          [t, agent, (m + start * D).date(), None if end is None else (m + end * D).date(), pin, pout])
    return Scenario(m, tenant, other, inboxes, convs)


# --- the independent computations ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Raw:
    messages: list[tuple[uuid.UUID, uuid.UUID, int, str, datetime, int, int]]  # conv, inbox, index, role, at, in, out
    agent: dict[uuid.UUID, str]  # conversation → effective agent type
    created: dict[uuid.UUID, datetime]
    stages: dict[uuid.UUID, dict[str, datetime]]
    prices: list[tuple[str, date, date | None, Decimal, Decimal]]


def raw(db: Database, tenant: uuid.UUID) -> Raw:
    """The tenant's raw rows, read as a superuser (no view, no function)."""
    with db.admin() as c:
        default = scalar(c, "SELECT default_agent_type FROM dom360.account_vars WHERE tenant_id = %s", [tenant])
        convs = c.execute("SELECT id, agent_type, created_at FROM dom360.conversations WHERE tenant_id = %s", [tenant]).fetchall()
        msgs = c.execute("SELECT conversation_id, inbox_id, message_index, role, created_at, input_tokens, output_tokens "
                         "FROM dom360.messages WHERE tenant_id = %s", [tenant]).fetchall()
        stages: dict[uuid.UUID, dict[str, datetime]] = defaultdict(dict)
        for conv, stage, at in c.execute("SELECT conversation_id, stage, reached_at FROM dom360.conversation_stages "
                                         "WHERE tenant_id = %s", [tenant]):
            stages[conv][stage] = at
        prices = c.execute("SELECT agent_type, valid_from, valid_to, input_price_per_1k, output_price_per_1k "
                           "FROM dom360.token_prices WHERE tenant_id = %s", [tenant]).fetchall()
    return Raw(msgs, {cid: agent or default for cid, agent, _ in convs}, {cid: at for cid, _, at in convs}, stages, prices)


def utc_day(at: datetime) -> date:
    return at.astimezone(UTC).date()


def expected_usage(r: Raw) -> dict[tuple[date, uuid.UUID, str], tuple[int, int, int, int]]:
    out: dict[tuple[date, uuid.UUID, str], list[int]] = defaultdict(lambda: [0, 0, 0, 0])
    for conv, inbox, _, _, at, tin, tout in r.messages:
        row = out[(utc_day(at), inbox, r.agent[conv])]
        row[0] += 1
        row[1] += tin
        row[2] += tout
        row[3] += tin + tout
    return {k: tuple(v) for k, v in out.items()}  # type: ignore[misc]


def price_on(r: Raw, agent: str, day: date) -> tuple[Decimal, Decimal] | None:
    found = [(pin, pout) for a, start, end, pin, pout in r.prices if a == agent and start <= day and (end is None or day < end)]
    assert len(found) <= 1
    return found[0] if found else None


def expected_cost(r: Raw) -> dict[tuple[date, uuid.UUID, str], Decimal | None]:
    out: dict[tuple[date, uuid.UUID, str], Decimal | None] = {}
    for (day, inbox, agent), (_, tin, tout, _) in expected_usage(r).items():
        price = price_on(r, agent, day)
        out[(day, inbox, agent)] = None if price is None else (tin * price[0] + tout * price[1]) / 1000
    return out


def expected_turns(r: Raw) -> list[tuple[str, datetime, datetime | None]]:
    """Walk each conversation in message_index order: the first question opens a turn, the next answer closes it."""
    by_conv: dict[uuid.UUID, list[tuple[int, str, datetime]]] = defaultdict(list)
    for conv, _, index, role, at, _, _ in r.messages:
        by_conv[conv].append((index, role, at))
    turns = []
    for conv, msgs in by_conv.items():
        opened: datetime | None = None
        for _, role, at in sorted(msgs):
            if role == "user" and opened is None:
                opened = at
            elif role == "assistant" and opened is not None:
                turns.append((r.agent[conv], opened, at))
                opened = None
        if opened is not None:
            turns.append((r.agent[conv], opened, None))
    return turns


def percentile_cont(values: list[float], p: float) -> float | None:
    """PostgreSQL's percentile_cont: linear interpolation between the closest ranks."""
    if not values:
        return None
    s = sorted(values)
    pos = p * (len(s) - 1)
    lo, hi = math.floor(pos), math.ceil(pos)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


def expected_response(r: Raw) -> dict[tuple[date, str], tuple[int, int, int, float | None, float | None]]:
    groups: dict[tuple[date, str], list[tuple[datetime, datetime | None]]] = defaultdict(list)
    for agent, asked, answered in expected_turns(r):
        groups[(utc_day(asked), agent)].append((asked, answered))
    out = {}
    for key, turns in groups.items():
        secs = [(b - a).total_seconds() for a, b in turns if b is not None]
        out[key] = (len(turns), len(secs), len(turns) - len(secs), percentile_cont(secs, 0.5), percentile_cont(secs, 0.95))
    return out


PATH = ("new", "qualified", "meeting_booked", "won")


def expected_funnel(r: Raw, month: date) -> list[tuple[str, int, Decimal | None, Decimal | None, float | None]]:
    cohort = [cid for cid, at in r.created.items() if utc_day(at).replace(day=1) == month]
    furthest = {cid: max([PATH.index(s) for s in r.stages.get(cid, {}) if s in PATH] + [0]) for cid in cohort}
    reached = {s: sum(1 for cid in cohort if furthest[cid] >= i) for i, s in enumerate(PATH)}
    reached["lost"] = sum(1 for cid in cohort if "lost" in r.stages.get(cid, {}))
    rows = []
    for i, stage in enumerate((*PATH, "lost")):
        prev = reached[PATH[i - 1]] if stage in PATH[1:] else None
        hours = [(r.stages[cid][stage] - r.created[cid]).total_seconds() / 3600
                 for cid in cohort if stage in r.stages.get(cid, {})]
        rows.append((stage, reached[stage],
                     None if not prev else Decimal(reached[stage]) / Decimal(prev),
                     Decimal(reached[stage]) / Decimal(reached["new"]) if reached["new"] else None,
                     percentile_cont(hours, 0.5)))
    return rows


def approx(value: float | None) -> Any:
    return None if value is None else pytest.approx(value, rel=1e-9, abs=1e-6)


def month_bounds(s: Scenario) -> tuple[date, date]:
    first = s.month.date()
    nxt = (first.replace(day=28) + 4 * D).replace(day=1)
    return first, nxt - D


# --- usage --------------------------------------------------------------------------------------------------

def test_counters_per_agent_type_equal_sums_over_messages(db: Database, scenario: Scenario) -> None:
    with db.admin() as c:
        a = c.execute("""
            SELECT m.tenant_id, m.inbox_id, (m.created_at AT TIME ZONE 'UTC')::date, coalesce(c.agent_type, ''),
                   count(*), sum(m.input_tokens), sum(m.output_tokens), sum(m.total_tokens)
              FROM dom360.messages m JOIN dom360.conversations c ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id
             GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4""").fetchall()
        b = c.execute("""
            SELECT tenant_id, inbox_id, day, agent_type, sum(messages_count), sum(input_tokens), sum(output_tokens),
                   sum(total_tokens)
              FROM dom360.consumption_inbox_daily_stripes GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4""").fetchall()
    assert a == b
    assert {row[3] for row in b} == {"", "SDR", "COPILOT"}


def test_usage_per_day_inbox_and_agent_type(db: Database, scenario: Scenario) -> None:
    want = expected_usage(raw(db, scenario.tenant))
    assert sum(v[0] for v in want.values()) == len(MESSAGES)
    app = as_app(db, scenario.tenant, "SELECT day, inbox_id, agent_type, messages_count, input_tokens, output_tokens, "
                                      "total_tokens FROM dom360.tenant_usage_daily()")
    assert {(d, i, a): tuple(v) for d, i, a, *v in app} == want
    with db.analytics() as c:
        view = c.execute("SELECT day, inbox_id, agent_type, messages_count, input_tokens, output_tokens, total_tokens "
                         "FROM dom360.analytics_usage_daily WHERE tenant_id = %s", [scenario.tenant]).fetchall()
        tenants = {r[0] for r in c.execute("SELECT tenant_id FROM dom360.analytics_usage_daily")}
    assert {(d, i, a): tuple(v) for d, i, a, *v in view} == want
    assert tenants == {scenario.tenant, scenario.other}
    # conversation c names no agent type: counted under the tenant's default (SDR), and re-read as COPILOT
    # when the default changes (resolved when read)
    day_c = (scenario.month + 16 * D).date()
    assert want[(day_c, scenario.inboxes["web"], "SDR")][0] == 6  # c's five and d's one
    first, last = month_bounds(scenario)
    ranged = as_app(db, scenario.tenant, "SELECT count(*) FROM dom360.tenant_usage_daily(%s, %s)", [day_c, day_c])
    assert ranged == [(1,)] and first <= day_c <= last
    as_app(db, scenario.tenant, "UPDATE dom360.account_vars SET default_agent_type = 'COPILOT'")
    rows = as_app(db, scenario.tenant, "SELECT agent_type, messages_count FROM dom360.tenant_usage_daily(%s, %s) ORDER BY 1",
                  [day_c, day_c])
    assert rows == [("COPILOT", 5), ("SDR", 1)]


# --- cost ---------------------------------------------------------------------------------------------------

def test_cost_uses_the_price_in_force_each_day(db: Database, scenario: Scenario) -> None:
    want = expected_cost(raw(db, scenario.tenant))
    assert None in want.values()  # COPILOT's day 9 has no price
    app = as_app(db, scenario.tenant, "SELECT day, inbox_id, agent_type, cost, input_cost + output_cost "
                                      "FROM dom360.tenant_cost_daily()")
    assert {(d, i, a): cost for d, i, a, cost, _ in app} == want
    assert all(cost == parts for *_, cost, parts in app)
    with db.analytics() as c:
        view = c.execute("SELECT day, inbox_id, agent_type, cost FROM dom360.analytics_cost_daily WHERE tenant_id = %s",
                         [scenario.tenant]).fetchall()
    assert {(d, i, a): cost for d, i, a, cost in view} == want
    # spot check by hand: day 2, SDR on web, before the change: (20+15+300+11+12+0+410+120+9) in, (30+40+55+15) out
    day2 = (scenario.month + 2 * D).date()
    assert want[(day2, scenario.inboxes["web"], "SDR")] == (Decimal(897) * Decimal("0.5") + Decimal(140) * Decimal("1.5")) / 1000


def test_price_correction_needs_no_rewrite(db: Database, scenario: Scenario) -> None:
    before = {r[0]: r[1] for r in as_app(db, scenario.tenant, "SELECT day, sum(cost) FROM dom360.tenant_cost_daily() "
                                                              "WHERE agent_type = 'SDR' GROUP BY day")}
    with db.admin() as c:  # the SDR price from day 15 was wrong: correct it in place
        c.execute("UPDATE dom360.token_prices SET output_price_per_1k = 4 WHERE tenant_id = %s AND agent_type = 'SDR' "
                  "AND valid_to IS NULL", [scenario.tenant])
        stripes = c.execute("SELECT count(*) FROM dom360.consumption_inbox_daily_stripes").fetchone()
    after = {r[0]: r[1] for r in as_app(db, scenario.tenant, "SELECT day, sum(cost) FROM dom360.tenant_cost_daily() "
                                                             "WHERE agent_type = 'SDR' GROUP BY day")}
    want = expected_cost(raw(db, scenario.tenant))
    change = (scenario.month + 15 * D).date()
    for day in before:
        assert (after[day] == before[day]) == (day < change)
        assert after[day] == sum(v for (d, _, a), v in want.items() if d == day and a == "SDR" and v is not None)
    with db.admin() as c:
        assert c.execute("SELECT count(*) FROM dom360.consumption_inbox_daily_stripes").fetchone() == stripes


def test_overlapping_prices_are_refused(db: Database, scenario: Scenario) -> None:
    with db.admin() as c:
        with pytest.raises(errors.ExclusionViolation):
            c.execute("INSERT INTO dom360.token_prices (tenant_id, agent_type, valid_from, valid_to, input_price_per_1k, "
                      "output_price_per_1k) VALUES (%s, 'SDR', %s, %s, 1, 1)",
                      [scenario.tenant, (scenario.month + 14 * D).date(), (scenario.month + 16 * D).date()])
        with pytest.raises(errors.CheckViolation):
            c.execute("INSERT INTO dom360.token_prices (tenant_id, agent_type, valid_from, valid_to, input_price_per_1k, "
                      "output_price_per_1k) VALUES (%s, 'COPILOT', '2001-01-02', '2001-01-01', 1, 1)", [scenario.tenant])
        # one period for two tenants is no overlap
        for t in (scenario.tenant, scenario.other):
            c.execute("INSERT INTO dom360.token_prices (tenant_id, agent_type, valid_from, valid_to, input_price_per_1k, "
                      "output_price_per_1k) VALUES (%s, 'SDR', '2001-01-01', '2001-02-01', 1, 1)", [t])
    with pytest.raises(errors.InsufficientPrivilege):  # the app reads prices, it does not write them
        as_app(db, scenario.tenant, "INSERT INTO dom360.token_prices (agent_type, valid_from, input_price_per_1k, "
                                    "output_price_per_1k) VALUES ('SDR', '2001-01-01', 0, 0)")


# --- response time ------------------------------------------------------------------------------------------

def test_response_times_per_day_and_agent_type(db: Database, scenario: Scenario) -> None:
    r = raw(db, scenario.tenant)
    want = expected_response(r)
    # the Python walk itself, checked by hand on the scenario: a's turns are 4 s, 70 s and one unanswered
    a = sorted((asked, answered) for agent, asked, answered in expected_turns(r)
               if utc_day(asked) == (scenario.month + 2 * D).date())
    assert [None if b is None else (b - x).total_seconds() for x, b in a] == [4.0, 70.0, None]
    day9 = (scenario.month + 9 * D).date()
    assert want[(day9, "COPILOT")] == (2, 2, 0, 16.25, pytest.approx(28.625))  # 2.5 s and 30 s (midnight)
    app = as_app(db, scenario.tenant, "SELECT day, agent_type, turns, answered, unanswered, p50_seconds, p95_seconds "
                                      "FROM dom360.tenant_response_times()")
    with db.analytics() as c:
        view = c.execute("SELECT day, agent_type, turns, answered, unanswered, p50_seconds, p95_seconds "
                         "FROM dom360.analytics_response_daily WHERE tenant_id = %s", [scenario.tenant]).fetchall()
    for got in (app, view):
        assert {(d, ag) for d, ag, *_ in got} == set(want)
        for d, ag, turns, answered, unanswered, p50, p95 in got:
            wt, wa, wu, w50, w95 = want[(d, ag)]
            assert (turns, answered, unanswered) == (wt, wa, wu)
            assert p50 == approx(w50) and p95 == approx(w95)
    only = as_app(db, scenario.tenant, "SELECT day FROM dom360.tenant_response_times(%s, %s)", [day9, day9])
    assert only == [(day9,)]


def test_response_turns_view_one_row_per_turn(db: Database, scenario: Scenario) -> None:
    want = sorted((agent, asked, answered) for agent, asked, answered in expected_turns(raw(db, scenario.tenant)))
    with db.analytics() as c:
        got = c.execute("SELECT agent_type, asked_at, answered_at, response_seconds, user_messages "
                        "FROM dom360.analytics_response_turns WHERE tenant_id = %s", [scenario.tenant]).fetchall()
    assert sorted((a, x, y) for a, x, y, *_ in got) == want
    assert all(s == (None if y is None else approx((y - x).total_seconds())) for _, x, y, s, _ in got)
    assert sorted(n for *_, n in got) == [1] * (len(got) - 1) + [2]  # the one turn with two questions


role_st = st.sampled_from(["user", "user", "assistant", "assistant", "system", "tool"])


@settings(max_examples=20, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(steps=st.lists(st.tuples(role_st, st.integers(0, 3 * 3600 * 1000), st.sampled_from(["SDR", "COPILOT", None])),
                      min_size=1, max_size=30))
def test_response_times_property(db: Database, steps: list[tuple[str, int, str | None]]) -> None:
    """Any sequence of messages over three conversations, any gaps (crossing days): same figures as the Python walk."""
    tenant = db.create_tenant(f"p{uuid.uuid4().hex[:10]}")
    start = month_start() + 3 * D
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [tenant])
        inbox = scalar(c, "INSERT INTO dom360.inboxes (name, channel) VALUES ('web', 'web') RETURNING id")
        convs = {agent: new_conversation(c, inbox, str(agent), agent, start) for agent in ("SDR", "COPILOT", None)}
        clock = {agent: start for agent in convs}
        for role, gap_ms, agent in steps:
            clock[agent] += timedelta(milliseconds=gap_ms)
            add_messages(c, convs[agent], [(clock[agent], role, 1, 1)])
    want = expected_response(raw(db, tenant))
    got = as_app(db, tenant, "SELECT day, agent_type, turns, answered, unanswered, p50_seconds, p95_seconds "
                             "FROM dom360.tenant_response_times()")
    assert {(d, a): (t, an, un, p50, p95) for d, a, t, an, un, p50, p95 in got} == {
        k: (t, an, un, approx(p50), approx(p95)) for k, (t, an, un, p50, p95) in want.items()}


# --- lead funnel --------------------------------------------------------------------------------------------

def test_lead_funnel_counts_rates_and_times(db: Database, scenario: Scenario) -> None:
    r = raw(db, scenario.tenant)
    month = scenario.month.date()
    want = expected_funnel(r, month)
    # by hand: a (won), b (qualified, lost), c (skipped qualified, won), d (lost while new), e (new)
    assert [(s, n) for s, n, *_ in want] == [("new", 5), ("qualified", 3), ("meeting_booked", 2), ("won", 2), ("lost", 2)]
    app = as_app(db, scenario.tenant, "SELECT month, stage, conversations, rate_from_previous, rate_from_new, "
                                      "median_hours_to_reach FROM dom360.tenant_lead_funnel()")
    with db.analytics() as c:
        view = c.execute("SELECT month, stage, conversations, rate_from_previous, rate_from_new, median_hours_to_reach "
                         "FROM dom360.analytics_lead_funnel WHERE tenant_id = %s ORDER BY month, stage_order",
                         [scenario.tenant]).fetchall()
    for got in (app, view):
        this = [row[1:] for row in got if row[0] == month]
        assert [(s, n) for s, n, *_ in this] == [(s, n) for s, n, *_ in want]
        for (_, _, p, f, h), (_, _, wp, wf, wh) in zip(this, want, strict=True):  # numeric division: 20 digits
            p, f = (None if x is None else float(x) for x in (p, f))
            assert (p, f, h) == (approx(None if wp is None else float(wp)), approx(None if wf is None else float(wf)),
                                 approx(wh))
        previous = [row[1:3] for row in got if row[0] < month]  # conversation "prev": its own cohort
        assert previous == [("new", 1), ("qualified", 1), ("meeting_booked", 0), ("won", 0), ("lost", 0)]
    only = as_app(db, scenario.tenant, "SELECT DISTINCT month FROM dom360.tenant_lead_funnel(%s, %s)",
                  [month + 3 * D, month + 5 * D])
    assert only == [(month,)]


def test_stage_transitions_are_validated(db: Database, scenario: Scenario) -> None:
    t, m = scenario.tenant, scenario.month
    conv = scenario.convs["e"]  # new

    def move(stage: str | None, at: datetime | None = None) -> datetime:
        return as_app(db, t, "SELECT dom360.set_conversation_stage(%s, %s, %s)", [conv, stage, at])[0][0]

    with pytest.raises(errors.InvalidParameterValue, match="earlier"):
        move("qualified", m + 19 * D)  # before the conversation was created
    first = move("meeting_booked", m + 21 * D)
    assert move("meeting_booked") == first  # again: a no-op that returns the recorded time
    with pytest.raises(errors.ObjectNotInPrerequisiteState, match="back"):
        move("qualified")
    with pytest.raises(errors.CheckViolation, match="unknown stage"):
        move("new")
    with pytest.raises(errors.CheckViolation, match="unknown stage"):
        move(None)
    move("won", m + 22 * D)
    for stage in ("lost", "qualified"):
        with pytest.raises(errors.ObjectNotInPrerequisiteState, match="already won"):
            move(stage)
    with pytest.raises(errors.InsufficientPrivilege):  # only through the function
        as_app(db, t, "INSERT INTO dom360.conversation_stages (conversation_id, stage) VALUES (%s, 'lost')", [conv])
    with db.admin() as c:
        rows = c.execute("SELECT stage FROM dom360.conversation_stages WHERE conversation_id = %s ORDER BY reached_at",
                         [conv]).fetchall()
    assert rows == [("meeting_booked",), ("won",)]


# --- who may read what ----------------------------------------------------------------------------------------

APP_FUNCTIONS = ("tenant_usage_daily", "tenant_cost_daily", "tenant_response_times", "tenant_lead_funnel")
VIEWS = ("analytics_usage_daily", "analytics_cost_daily", "analytics_response_turns", "analytics_response_daily",
         "analytics_lead_funnel")


@pytest.mark.parametrize("fn", APP_FUNCTIONS)
def test_app_functions_fail_closed_without_a_tenant(db: Database, scenario: Scenario, fn: str) -> None:
    with db.app() as c:
        with pytest.raises(errors.InsufficientPrivilege, match="no tenant set"), c.transaction():
            c.execute(f"SELECT * FROM dom360.{fn}()")
        with pytest.raises(errors.InsufficientPrivilege, match="no tenant set"), c.transaction():
            c.execute("SELECT dom360.set_conversation_stage(%s, 'won')", [scenario.convs["e"]])
    with db.analytics() as c, pytest.raises(errors.InsufficientPrivilege, match="permission denied"):
        c.execute(f"SELECT * FROM dom360.{fn}()")  # the functions are the app's; BI reads the views


@pytest.mark.parametrize("view", VIEWS)
def test_views_are_for_the_analytics_role(db: Database, scenario: Scenario, view: str) -> None:
    with db.analytics() as c:
        assert {r[0] for r in c.execute(f"SELECT tenant_id FROM dom360.{view}")} == {scenario.tenant, scenario.other}
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [scenario.tenant])
        with pytest.raises(errors.InsufficientPrivilege):
            c.execute(f"SELECT * FROM dom360.{view}")


# --- dom360db report ----------------------------------------------------------------------------------------

def report(db: Database, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dom360db", "report", "--dsn", db.admin_dsn, *args],
                          capture_output=True, text=True, timeout=60)


def test_report_terminal_and_html(db: Database, scenario: Scenario, tmp_path: Path) -> None:
    r = raw(db, scenario.tenant)
    month = scenario.month.date()
    usage = expected_usage(r)
    cost = expected_cost(r)
    page = tmp_path / "acme.html"
    res = report(db, "--tenant", "acme", "--month", f"{month:%Y-%m}", "--html", str(page))
    assert res.returncode == 0, res.stderr
    out = res.stdout
    total_in, total_out = sum(v[1] for v in usage.values()), sum(v[2] for v in usage.values())
    priced = sum(v for v in cost.values() if v is not None)
    assert f"messages {len(MESSAGES)}, tokens {total_in + total_out} (input {total_in}, output {total_out})" in out
    assert f"cost {priced:.4f} USD *" in out  # * : some tokens (COPILOT's day 9) had no price
    day2 = month + 2 * D
    d2 = [v for (d, _, _), v in usage.items() if d == day2]
    assert f"{day2}  {sum(v[0] for v in d2)} " in out
    assert "won             2              100.0%         40.0%" in out
    html = page.read_text(encoding="utf-8")
    assert html.count("<svg") == 2 and "<script" not in html.lower()
    assert "src=" not in html and "href=" not in html and "@import" not in html and "url(" not in html
    assert "meeting_booked" in html and f"{total_in + total_out:,}" in html


def test_report_of_another_tenant_shows_only_its_rows(db: Database, scenario: Scenario) -> None:
    res = report(db, "--tenant", "beta", "--month", f"{scenario.month:%Y-%m}")
    assert res.returncode == 0, res.stderr
    assert "messages 2, tokens 3000 (input 2000, output 1000)" in res.stdout


@pytest.mark.parametrize("args, message", [
    (("--tenant", "nobody", "--month", "2026-01"), "unknown tenant slug 'nobody'"),
    (("--tenant", "acme", "--month", "2026-13"), "--month: expected YYYY-MM"),
    (("--tenant", "acme", "--month", "March"), "--month: expected YYYY-MM"),
])
def test_report_expected_failures_are_one_line(db: Database, scenario: Scenario, args: tuple[str, ...], message: str) -> None:
    res = report(db, *args)
    assert res.returncode == 1 and res.stdout == ""
    assert res.stderr.startswith("dom360db: error: ") and message in res.stderr and res.stderr.count("\n") == 1


def test_report_with_the_server_down_is_one_line() -> None:
    res = subprocess.run([sys.executable, "-m", "dom360db", "report", "--dsn", "postgresql://nobody@127.0.0.1:1/x",
                          "--tenant", "acme", "--month", "2026-01"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 1 and res.stderr.startswith("dom360db: error: cannot connect") and res.stderr.count("\n") == 1
