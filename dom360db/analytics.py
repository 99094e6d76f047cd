"""`dom360db report`: one tenant's month of analytics (usage, cost, response time, lead funnel).

Reads through the analytics role's views (`SET LOCAL ROLE dom360_analytics` in a READ ONLY transaction),
filtered to the tenant named by its slug: the report runs where BI runs, with a role that can write
nothing. The queries are in `sql/queries/analytics.sql`; the terminal rendering is here, the HTML page in
`analytics_html.py`.
"""

from __future__ import annotations

import calendar
import re
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import psycopg
from psycopg import errors

from dom360db.client.rows import ResponseTimes
from dom360db.errors import Dom360Error
from dom360db.queries import query
from dom360db.report import table

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


def parse_month(text: str) -> date:
    """`YYYY-MM` → the first day of that month; anything else is one clear error."""
    m = _MONTH.match(text.strip())
    if not m or not 1 <= int(m.group(2)) <= 12 or int(m.group(1)) < 1:
        raise Dom360Error(f"--month: expected YYYY-MM (for example 2026-03), got {text!r}")
    return date(int(m.group(1)), int(m.group(2)), 1)


def last_day(month: date) -> date:
    return month.replace(day=calendar.monthrange(month.year, month.month)[1])


@dataclass(frozen=True)
class DayUsage:
    day: date
    messages: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0
    cost: dict[str, Decimal] = field(default_factory=dict)  # currency → cost of the priced tokens
    unpriced_tokens: int = 0


@dataclass(frozen=True)
class InboxAgentUsage:
    inbox: str
    agent_type: str
    messages: int
    total_tokens: int
    currency: str | None
    cost: Decimal | None


@dataclass(frozen=True)
class FunnelStage:
    stage: str
    conversations: int
    rate_from_previous: Decimal | None
    rate_from_new: Decimal | None
    median_hours_to_reach: float | None


@dataclass(frozen=True)
class Report:
    tenant_id: uuid.UUID
    slug: str
    tenant_name: str
    month: date
    days: list[DayUsage]  # every day of the month, zeros included
    by_inbox_agent: list[InboxAgentUsage]
    response_by_day: list[ResponseTimes]
    response_month: list[ResponseTimes]  # the whole month per agent type (day: its first day)
    funnel: list[FunnelStage]

    @property
    def totals(self) -> DayUsage:
        cost: dict[str, Decimal] = {}
        for d in self.days:
            for cur, amount in d.cost.items():
                cost[cur] = cost.get(cur, Decimal(0)) + amount
        return DayUsage(self.month, sum(d.messages for d in self.days), sum(d.input_tokens for d in self.days),
                        sum(d.output_tokens for d in self.days), sum(d.total_tokens for d in self.days), cost,
                        sum(d.unpriced_tokens for d in self.days))


def fetch(conn: psycopg.Connection, slug: str, month: date, analytics_role: str) -> Report:
    """Everything the report shows, in one read-only transaction as the analytics role."""
    first, last = month, last_day(month)
    with conn.transaction():
        conn.execute(query("analytics.read_only"))
        try:
            conn.execute(query("analytics.as_role"), {"role": analytics_role})
        except errors.InsufficientPrivilege as exc:
            raise Dom360Error(f"the report reads as the role {analytics_role}: connect as a member of it (or a "
                              f"superuser) ({exc.diag.message_primary})") from exc
        row = conn.execute(query("analytics.find_tenant"), {"slug": slug}).fetchone()
        if row is None:
            raise Dom360Error(f"unknown tenant slug {slug!r}")
        tenant_id, name, _status = row
        args = {"tenant_id": tenant_id, "first_day": first, "last_day": last}
        usage = {r[0]: r[1:] for r in conn.execute(query("analytics.usage_by_day"), args)}
        costs: dict[date, dict[str, Decimal]] = {}
        unpriced: dict[date, int] = {}
        for day, currency, cost, unpriced_tokens in conn.execute(query("analytics.cost_by_day"), args):
            if currency is not None and cost is not None:
                costs.setdefault(day, {})[currency] = cost
            unpriced[day] = unpriced.get(day, 0) + int(unpriced_tokens or 0)
        by_inbox = [InboxAgentUsage(*r) for r in conn.execute(query("analytics.usage_by_inbox_agent"), args)]
        by_day = [ResponseTimes(*r) for r in conn.execute(query("analytics.response_by_day"), args)]
        whole = [ResponseTimes(month, *r) for r in conn.execute(query("analytics.response_month"), args)]
        funnel = [FunnelStage(*r) for r in conn.execute(query("analytics.funnel"), args)]
    days = []
    d = first
    while d <= last:
        u = usage.get(d, (0, 0, 0, 0))
        days.append(DayUsage(d, *(int(x) for x in u), costs.get(d, {}), unpriced.get(d, 0)))
        d += timedelta(days=1)
    return Report(tenant_id, slug, name, month, days, by_inbox, by_day, whole, funnel)


# --- terminal -----------------------------------------------------------------------------------------------

def money(cost: dict[str, Decimal], unpriced_tokens: int = 0) -> str:
    """`12.3456 USD`, several currencies joined by ' + ', a '*' when some tokens had no price."""
    text = " + ".join(f"{amount:.4f} {cur}" for cur, amount in sorted(cost.items()))
    if unpriced_tokens:
        text = (text + " *") if text else "unpriced"
    return text


def seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def rate(value: Decimal | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def render_text(rep: Report) -> str:
    t = rep.totals
    out = [f"{rep.tenant_name} ({rep.slug}), {rep.month:%Y-%m} (UTC days)", ""]
    out.append(f"messages {t.messages}, tokens {t.total_tokens} (input {t.input_tokens}, output {t.output_tokens}), "
               f"cost {money(t.cost, t.unpriced_tokens) or '0'}")
    out += ["", "Usage per day"]
    out.append(table(["day", "messages", "input tokens", "output tokens", "total tokens", "cost"],
                     [[d.day, d.messages, d.input_tokens, d.output_tokens, d.total_tokens, money(d.cost, d.unpriced_tokens)]
                      for d in rep.days if d.messages]))
    out += ["", "Usage per inbox and agent type"]
    out.append(table(["inbox", "agent", "messages", "total tokens", "cost"],
                     [[r.inbox, r.agent_type, r.messages, r.total_tokens,
                       f"{r.cost:.4f} {r.currency}" if r.cost is not None else "unpriced"] for r in rep.by_inbox_agent]))
    out += ["", "Agent response time (seconds, from the first user message of a turn to the next assistant message)"]
    rows = [[r.day, r.agent_type, r.turns, r.answered, r.unanswered, seconds(r.p50_seconds), seconds(r.p95_seconds)]
            for r in rep.response_by_day]
    rows += [["month", r.agent_type, r.turns, r.answered, r.unanswered, seconds(r.p50_seconds), seconds(r.p95_seconds)]
             for r in rep.response_month]
    out.append(table(["day", "agent", "turns", "answered", "unanswered", "p50", "p95"], rows))
    out += ["", f"Lead funnel (conversations created in {rep.month:%Y-%m})"]
    out.append(table(["stage", "conversations", "from previous", "from new", "median hours"],
                     [[f.stage, f.conversations, rate(f.rate_from_previous), rate(f.rate_from_new),
                       "" if f.median_hours_to_reach is None else f"{f.median_hours_to_reach:.1f}"] for f in rep.funnel]))
    if t.unpriced_tokens:
        out += ["", f"* {t.unpriced_tokens} token(s) fell on days with no price in force (dom360.token_prices)"]
    return "\n".join(out)
