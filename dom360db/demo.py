"""`dom360db demo`: two demo tenants, a conversation each, and what each tenant can see.

Runs as the connecting (admin) role, but every tenant-side step runs inside a transaction that
switches to the app role (the configured `app_role`) and sets the tenant, as a backend would.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import psycopg

from dom360db.connect import scalar
from dom360db.errors import Dom360Error
from dom360db.progress import Progress
from dom360db.queries import query
from dom360db.report import table


@dataclass(frozen=True)
class DemoTenant:
    slug: str
    name: str
    user_email: str
    customer: str
    chat: tuple[tuple[str, str, int, int], ...]  # (role, content, input tokens, output tokens)


TENANTS = (
    DemoTenant("acme", "Acme Imóveis", "ana@acme.example", "+55 11 90000-0001", (
        ("user", "Olá, quero saber sobre apartamentos de 2 quartos", 14, 0),
        ("assistant", "Claro! Em qual bairro você procura?", 220, 18),
        ("user", "Pinheiros, até 900 mil", 9, 0),
    )),
    DemoTenant("beta", "Beta Seguros", "bruno@beta.example", "+55 21 90000-0002", (
        ("user", "Quanto custa o seguro do meu carro?", 11, 0),
        ("assistant", "Posso cotar agora: qual o modelo e o ano?", 180, 21),
    )),
)


def _tenant(conn: psycopg.Connection, t: DemoTenant) -> tuple[uuid.UUID, bool]:
    row = conn.execute(query("demo.find_tenant"), {"slug": t.slug}).fetchone()
    if row:
        return row[0], False
    return scalar(conn, query("demo.create_tenant"), {"name": t.name, "slug": t.slug}), True


def _as_app(conn: psycopg.Connection, tenant_id: uuid.UUID, app_role: str) -> None:
    conn.execute(query("demo.act_as_app"), {"app_role": app_role})
    conn.execute(query("common.set_tenant"), {"tenant_id": tenant_id})


@dataclass(frozen=True)
class Seen:
    """What one tenant sees as the app role."""

    conversations: list[tuple[object, ...]]
    messages: list[tuple[object, ...]]
    usage: list[tuple[object, ...]]


def run(conn: psycopg.Connection, echo: Progress, app_role: str) -> dict[str, Seen]:
    """Seed the demo (idempotent) and return what each tenant sees, by slug."""
    ids: dict[str, uuid.UUID] = {}
    for t in TENANTS:
        with conn.transaction():
            tid, created = _tenant(conn, t)
        ids[t.slug] = tid
        if created:
            with conn.transaction():
                _as_app(conn, tid, app_role)
                inbox = scalar(conn, query("demo.inbox"))
                conn.execute(query("demo.user"), {"email": t.user_email, "name": t.user_email.split("@")[0].title()})
                conv = scalar(conn, query("demo.conversation"), {"inbox_id": inbox, "external_id": t.customer})
                for n, (role, content, tin, tout) in enumerate(t.chat):
                    conn.execute(query("demo.message"), {"conversation_id": conv, "role": role, "content": content,
                                                "input_tokens": tin, "output_tokens": tout,
                                                "request_id": f"demo-{t.slug}-{n}"})
            echo(f"seeded tenant {t.slug} ({tid})")
        else:
            echo(f"tenant {t.slug} already seeded ({tid})")
    seen: dict[str, Seen] = {}
    for slug, tid in ids.items():
        with conn.transaction(force_rollback=True):
            _as_app(conn, tid, app_role)
            seen[slug] = Seen(conn.execute(query("demo.visible_conversations")).fetchall(),
                              conn.execute(query("demo.visible_messages")).fetchall(),
                              conn.execute(query("demo.visible_usage")).fetchall())
    return seen


def render(seen: dict[str, Seen]) -> str:
    """What each tenant saw, as tables; refused (Dom360Error, after the tables) when one saw another's rows."""
    out: list[str] = []
    for slug, s in seen.items():
        out += [f"\n== As the app role with tenant {slug!r} set: {len(s.conversations)} conversation(s), "
                f"{len(s.messages)} message(s) visible",
                table(["tenant", "customer", "status", "agent", "messages"], s.conversations), "",
                table(["tenant", "customer", "#", "role", "content", "tokens"], s.messages), "",
                table(["day (UTC)", "messages", "input tokens", "output tokens", "total tokens"], s.usage)]
    return "\n".join(out)


def check(seen: dict[str, Seen]) -> str:
    """The closing line when each tenant saw only its own rows; Dom360Error naming the tenants that did not."""
    leaks = [slug for slug, s in seen.items() if any(r[0] != slug for r in s.conversations + s.messages)]
    if leaks:
        raise Dom360Error(f"isolation broken: tenant(s) {', '.join(leaks)} saw another tenant's rows")
    return "\neach tenant sees only its own rows"
