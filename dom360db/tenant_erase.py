"""`dom360db tenant delete SLUG --confirm SLUG` and `dom360db tenant forget-customer SLUG EXTERNAL_ID`.

Delete: `dom360.erase_tenant_batch` is called in its own short transaction until it returns no row (the
first call closes the tenant, so the app can write no more), then `dom360.erase_tenant_finish` removes the
tenant row in one last transaction. Each transaction deletes at most --batch-size rows of one partition, so
no lock on messages is held for long, and a kill -9 at any moment leaves a state from which the same command
finishes (every batch starts from whatever is left; the slug still names the closed tenant until the end).
The audit log is kept (docs/lifecycle.md). Finally the monthly summary is refreshed, when the login may (its
owner is the analytics role), so that it holds no figure of the erased tenant.

Forget: `dom360.forget_customer` with the tenant set, in one transaction (the app calls the same function).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

from dom360db.connect import error_line, scalar
from dom360db.errors import Dom360Error
from dom360db.progress import Advance
from dom360db.queries import composed
from dom360db.tenant_export import Tenant, find_tenant, set_tenant, skip, tenant_tables


@dataclass
class Erasure:
    tenant: Tenant
    deleted: dict[str, int] = field(default_factory=dict)
    batches: int = 0
    summary_refreshed: str = ""

    @property
    def summary(self) -> str:
        rows = sum(self.deleted.values())
        return (f"erased tenant {self.tenant.slug} ({self.tenant.id}): {rows:,} row(s) in {self.batches} batch(es) "
                "and the tenant row; its audit log is kept" + (f"; {self.summary_refreshed}" if self.summary_refreshed else ""))


def delete_tenant(conn: psycopg.Connection, slug: str, confirm: str, *, batch_size: int = 5000,
                  start: Callable[[int], None] = lambda n: None, advance: Advance = lambda n: None) -> Erasure:
    """Erase the tenant `slug` (`confirm` must repeat it). `conn` is in autocommit mode."""
    if confirm != slug:
        raise Dom360Error(f"--confirm {confirm!r} does not match the slug {slug!r}: nothing erased")
    tenant = find_tenant(conn, slug)
    out = Erasure(tenant)
    with conn.transaction():
        set_tenant(conn, tenant.id)
        start(sum(scalar(conn, composed("lifecycle.count_rows", table=sql.Identifier(t.name),
                                        tenant_column=sql.Identifier(t.tenant_column), skip=skip(t)),
                         {"tenant_id": tenant.id})
                  for t in tenant_tables(conn) if t.name not in ("tenants", "account_vars", "audit_log")))
    try:
        while True:
            with conn.transaction():
                args = {"tenant_id": tenant.id, "batch_size": batch_size}
                row = conn.execute(composed("lifecycle.erase_batch"), args).fetchone()
            if row is None:
                break
            out.deleted[row[0]] = out.deleted.get(row[0], 0) + row[1]
            out.batches += 1
            advance(row[1])
        with conn.transaction():
            conn.execute(composed("lifecycle.erase_finish"), {"tenant_id": tenant.id})
    except psycopg.Error as exc:
        raise Dom360Error(f"erase of tenant {slug} interrupted: {error_line(exc)}; the tenant is closed and partly "
                          "erased: run the same command again to finish") from exc
    try:
        conn.execute(composed("lifecycle.refresh_summary"))
        out.summary_refreshed = "monthly summary refreshed"
    except psycopg.errors.InsufficientPrivilege:
        out.summary_refreshed = ("the monthly summary still shows it until the next `dom360db refresh` "
                                 "(which this login may not run)")
    return out


def forget_customer(conn: psycopg.Connection, slug: str, external_id: str) -> tuple[Tenant, int, int]:
    """Erase one customer of tenant `slug`; (tenant, conversations, messages) erased."""
    if not external_id:
        raise Dom360Error("the customer's external id must not be empty")
    tenant = find_tenant(conn, slug)
    try:
        with conn.transaction():
            set_tenant(conn, tenant.id)
            conversations, messages = conn.execute(composed("client.forget_customer"), {"external_id": external_id}).fetchone()  # type: ignore[misc]
    except psycopg.Error as exc:
        raise Dom360Error(f"forget-customer refused, nothing erased: {error_line(exc)}") from exc
    return tenant, conversations, messages

