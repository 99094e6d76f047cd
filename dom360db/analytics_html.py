"""The HTML page of `dom360db report --html`: one self-contained file (inline CSS and SVG, no script, no
external resource), so it opens anywhere and can be mailed as is. Every text from the database is escaped."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from pathlib import Path

from dom360db.analytics import Report, money, rate, seconds
from dom360db.errors import Dom360Error

_CSS = """
body { font: 14px/1.4 system-ui, -apple-system, "Segoe UI", sans-serif; color: #1f2933; margin: 24px auto; max-width: 980px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.muted { color: #616e7c; }
.cards { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 16px; }
.card { border: 1px solid #d9e2ec; border-radius: 8px; padding: 10px 14px; min-width: 150px; }
.card b { display: block; font-size: 20px; }
table { border-collapse: collapse; margin-top: 6px; }
th, td { padding: 3px 10px; border-bottom: 1px solid #e4e7eb; text-align: right; }
th:first-child, td:first-child { text-align: left; }
svg text { font: 11px system-ui, sans-serif; fill: #3e4c59; }
.legend span { display: inline-block; width: 10px; height: 10px; margin: 0 4px 0 12px; }
"""

_INPUT, _OUTPUT = "#4c8bf5", "#f5a54c"
_FUNNEL_COLOURS = {"new": "#9fb3c8", "qualified": "#4c8bf5", "meeting_booked": "#3ebd93", "won": "#1f9d55",
                   "lost": "#e12d39"}


def _table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{escape('' if v is None else str(v))}</td>" for v in r) + "</tr>" for r in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _nice_max(value: int) -> int:
    """A round axis maximum at or above value (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1
    magnitude = 10 ** (len(str(value)) - 1)
    for step in (1, 2, 5, 10):
        if step * magnitude >= value:
            return step * magnitude
    return 10 * magnitude


def usage_chart(rep: Report, width: int = 940, height: int = 260) -> str:
    """Stacked bars of input and output tokens for every day of the month."""
    left, right, top, bottom = 60, 10, 10, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    top_value = _nice_max(max((d.total_tokens for d in rep.days), default=0))
    slot = plot_w / max(len(rep.days), 1)
    bar = max(slot * 0.7, 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="tokens per day">']
    for k in range(5):  # grid lines and y labels
        value = top_value * k / 4
        y = top + plot_h - plot_h * k / 4
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e4e7eb"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{value:,.0f}</text>')
    for i, d in enumerate(rep.days):
        x = left + i * slot + (slot - bar) / 2
        h_in = plot_h * d.input_tokens / top_value
        h_out = plot_h * d.output_tokens / top_value
        y_in = top + plot_h - h_in
        title = escape(f"{d.day}: {d.total_tokens:,} tokens (input {d.input_tokens:,}, output {d.output_tokens:,}), "
                       f"{d.messages} messages")
        parts.append(f'<g><title>{title}</title>'
                     f'<rect x="{x:.1f}" y="{y_in:.1f}" width="{bar:.1f}" height="{h_in:.1f}" fill="{_INPUT}"/>'
                     f'<rect x="{x:.1f}" y="{y_in - h_out:.1f}" width="{bar:.1f}" height="{h_out:.1f}" fill="{_OUTPUT}"/></g>')
        if d.day.day == 1 or d.day.day % 5 == 0:
            parts.append(f'<text x="{x + bar / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle">{d.day.day}</text>')
    parts.append(f'<line x1="{left}" x2="{width - right}" y1="{top + plot_h}" y2="{top + plot_h}" stroke="#9aa5b1"/>')
    parts.append("</svg>")
    return "".join(parts)


def funnel_chart(rep: Report, width: int = 940) -> str:
    """One centred bar per stage, as wide as its share of the month's new conversations."""
    row_h, label_w, detail_w = 34, 120, 300  # stage names left, figures right (up to ~45 characters)
    stages = rep.funnel
    if not stages or stages[0].conversations == 0:
        return '<p class="muted">No conversation was created this month.</p>'
    base = stages[0].conversations
    plot_w = width - label_w - detail_w
    height = row_h * len(stages) + 4
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
             f'aria-label="lead funnel">']
    for i, f in enumerate(stages):
        w = max(plot_w * f.conversations / base, 2)
        x = label_w + (plot_w - w) / 2
        y = 2 + i * row_h
        colour = _FUNNEL_COLOURS.get(f.stage, "#9fb3c8")
        detail = f"{f.conversations}" + (f" ({rate(f.rate_from_new)} of new)" if f.stage != "new" else "")
        if f.rate_from_previous is not None:
            detail += f", {rate(f.rate_from_previous)} from previous"
        parts.append(f'<g><title>{escape(f.stage)}: {escape(detail)}</title>'
                     f'<rect x="{x:.1f}" y="{y}" width="{w:.1f}" height="{row_h - 6}" rx="3" fill="{colour}"/></g>')
        parts.append(f'<text x="{label_w - 8}" y="{y + row_h / 2 + 1}" text-anchor="end">{escape(f.stage)}</text>')
        parts.append(f'<text x="{width - detail_w + 8}" y="{y + row_h / 2 + 1}">{escape(detail)}</text>')
    parts.append("</svg>")
    return "".join(parts)


def render_html(rep: Report) -> str:
    t = rep.totals
    won = next((f for f in rep.funnel if f.stage == "won"), None)
    overall = rep.response_month
    p50 = ", ".join(f"{escape(r.agent_type)} {seconds(r.p50_seconds)} s" for r in overall if r.p50_seconds is not None)
    p95 = ", ".join(f"{escape(r.agent_type)} {seconds(r.p95_seconds)} s" for r in overall if r.p95_seconds is not None)
    cards = [
        ("messages", f"{t.messages:,}"),
        ("tokens", f"{t.total_tokens:,}"),
        ("cost", escape(money(t.cost, t.unpriced_tokens) or "0")),
        ("response p50", p50 or "n/a"),
        ("response p95", p95 or "n/a"),
        ("won / new", rate(won.rate_from_new) if won and won.rate_from_new is not None else "n/a"),
    ]
    title = escape(f"{rep.tenant_name} — {rep.month:%Y-%m}")
    inbox_rows = [[r.inbox, r.agent_type, f"{r.messages:,}", f"{r.total_tokens:,}",
                   f"{r.cost:.4f} {r.currency}" if r.cost is not None else "unpriced"] for r in rep.by_inbox_agent]
    response_rows = [[r.day, r.agent_type, r.turns, r.answered, r.unanswered, seconds(r.p50_seconds), seconds(r.p95_seconds)]
                     for r in rep.response_by_day]
    response_rows += [["whole month", r.agent_type, r.turns, r.answered, r.unanswered, seconds(r.p50_seconds),
                       seconds(r.p95_seconds)] for r in rep.response_month]
    funnel_rows = [[f.stage, f.conversations, rate(f.rate_from_previous), rate(f.rate_from_new),
                    "" if f.median_hours_to_reach is None else f"{f.median_hours_to_reach:.1f}"] for f in rep.funnel]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style></head>
<body>
<h1>{title}</h1>
<div class="muted">tenant {escape(rep.slug)} · UTC days · generated by dom360db report</div>
<div class="cards">{"".join(f'<div class="card"><span class="muted">{k}</span><b>{v}</b></div>' for k, v in cards)}</div>
<h2>Tokens per day</h2>
<div class="legend muted"><span style="background:{_INPUT}"></span>input<span style="background:{_OUTPUT}"></span>output</div>
{usage_chart(rep)}
<h2>Lead funnel <span class="muted">(conversations created this month)</span></h2>
{funnel_chart(rep)}
{_table(["stage", "conversations", "from previous", "from new", "median hours to reach"], funnel_rows)}
<h2>Usage per inbox and agent type</h2>
{_table(["inbox", "agent", "messages", "total tokens", "cost"], inbox_rows)}
<h2>Agent response time <span class="muted">(seconds, first user message of a turn → next assistant message)</span></h2>
{_table(["day", "agent", "turns", "answered", "unanswered", "p50", "p95"], response_rows)}
</body></html>
"""


def write_html(rep: Report, path: Path) -> None:
    """The page of `rep` written to `path` (one line when it cannot be written)."""
    try:
        path.write_text(render_html(rep), encoding="utf-8")
    except OSError as exc:
        raise Dom360Error(f"cannot write {path}: {exc.strerror}") from exc
