"""Key rotation of the tenants' encrypted secrets (`dom360db rotate-key`).

The SQL does the work (`dom360.rotate_tenant_secrets`, `dom360.verify_tenant_secrets`); this module
visits the tenants and reports:

- The keys come from environment variables named on the command line, never from argv (which `ps` shows
  to every user of the machine). They reach the server only as bind parameters, and no message of this
  module contains one; when the login may, parameter logging is switched off for the session.
- Tenant ids are fetched in batches (keyset pagination over `dom360.tenant_ids`, which the owner role may
  call although row-level security is forced on it), then each tenant is rotated in its own short
  transaction with `app.tenant_id` set: a tenant is rotated completely or not at all, and its row is locked
  only for its own few milliseconds.
- Resumable: a secret that already decrypts with the new key is skipped, so after an interruption the same
  command finishes the job (and reports how many secrets it found already rotated).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg

from dom360db.connect import error_line, scalar, set_tenant_id
from dom360db.errors import Dom360Error
from dom360db.progress import Step
from dom360db.queries import query


@dataclass
class Rotation:
    tenants: int = 0  # tenants visited
    rotated: int = 0  # secrets re-encrypted with the new key
    already: int = 0  # secrets that already decrypted with the new key (left alone)

    @property
    def summary(self) -> str:
        return (f"rotated {self.rotated} secret(s) in {self.tenants} tenant(s); "
                f"{self.already} already decrypted with the new key")


@dataclass
class Verification:
    tenants: int = 0
    checked: int = 0
    failures: list[tuple[uuid.UUID, list[str]]] = field(default_factory=list)  # tenant, secret names

    @property
    def failed(self) -> int:
        return sum(len(names) for _, names in self.failures)

    @property
    def summary(self) -> str:
        if not self.failures:
            return f"verified: all {self.checked} secret(s) of {self.tenants} tenant(s) decrypt with the new key"
        shown = "; ".join(f"{t}: {', '.join(names)}" for t, names in self.failures[:5])
        more = f" (and {len(self.failures) - 5} more tenant(s))" if len(self.failures) > 5 else ""
        return (f"{self.failed} of {self.checked} secret(s) do not decrypt with the new key, in "
                f"{len(self.failures)} tenant(s): {shown}{more}")


def key_from_env(variable: str, which: str) -> str:
    """The key held by environment variable `variable` (`which`: "old" or "new", for the message)."""
    value = os.environ.get(variable, "")
    if not value:
        raise Dom360Error(f"the {which} key: environment variable {variable} is not set or is empty")
    return value


def prepare_session(conn: psycopg.Connection, new_key: str) -> None:
    """Keep bind parameters out of the server log when allowed; refuse an unusable new key up front."""
    conn.execute(query("secrets.quiet_parameter_logging"))
    try:
        conn.execute(query("secrets.check_key"), {"key": new_key})
    except psycopg.Error as exc:
        raise Dom360Error(f"the new key is refused: {error_line(exc)}") from exc



def count_tenants(conn: psycopg.Connection) -> int:
    return scalar(conn, query("secrets.tenant_count"))


def tenant_ids(conn: psycopg.Connection, batch_size: int) -> Iterator[uuid.UUID]:
    """Every tenant id in order, fetched `batch_size` at a time."""
    after: uuid.UUID | None = None
    while True:
        page = [r[0] for r in conn.execute(query("secrets.tenant_page"), {"after": after, "limit": batch_size})]
        yield from page
        if len(page) < batch_size:
            return
        after = page[-1]


def rotate(conn: psycopg.Connection, old_key: str, new_key: str, *, batch_size: int = 500,
           advance: Step = lambda: None) -> Rotation:
    """Re-encrypt every tenant's secrets from `old_key` to `new_key`, one transaction per tenant.

    `conn` is in autocommit mode. `advance` is called after each tenant's commit.
    """
    if old_key == new_key:
        raise Dom360Error("the old and the new key are the same: nothing to rotate")
    out = Rotation()
    for tenant in tenant_ids(conn, batch_size):
        try:
            with conn.transaction():
                set_tenant_id(conn, tenant)
                rotated, already = conn.execute(query("secrets.rotate"), {"old_key": old_key, "new_key": new_key}).fetchone()  # type: ignore[misc]
        except psycopg.Error as exc:
            raise Dom360Error(
                f"tenant {tenant}: {error_line(exc)}; it is unchanged, and the {out.tenants} tenant(s) before it "
                "are rotated: fix the cause and run the same command again (it resumes)") from exc
        out.tenants += 1
        out.rotated += rotated
        out.already += already
        advance()
    return out


def verify(conn: psycopg.Connection, key: str, *, batch_size: int = 500,
           advance: Step = lambda: None) -> Verification:
    """Check that every secret of every tenant decrypts with `key`; writes nothing."""
    out = Verification()
    for tenant in tenant_ids(conn, batch_size):
        try:
            with conn.transaction():
                set_tenant_id(conn, tenant)
                checked, failed = conn.execute(query("secrets.verify"), {"key": key}).fetchone()  # type: ignore[misc]
        except psycopg.Error as exc:
            raise Dom360Error(f"tenant {tenant}: {error_line(exc)}") from exc
        out.tenants += 1
        out.checked += checked
        if failed:
            out.failures.append((tenant, list(failed)))
        advance()
    return out
