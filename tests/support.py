"""Helpers shared by the tests: servers under test, databases cloned from a migrated template, logins."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo, sql

from dom360db import citus, config, migrate, sqlfiles
from dom360db.connect import scalar
from dom360db.logins import ensure_login

#: Test login roles (cluster-wide), members of the product's group roles.
APP_LOGIN = "dom360_test_app"
ANALYTICS_LOGIN = "dom360_test_analytics"
LOGIN_PASSWORD = "dom360-test-only"


def backends() -> list[str]:
    """Backends named by DOM360_TEST_BACKEND (comma-separated): docker, embedded, dsn, citus."""
    names = [b.strip() for b in os.environ.get("DOM360_TEST_BACKEND", "docker,embedded").split(",") if b.strip()]
    unknown = set(names) - {"docker", "embedded", "dsn", "citus"}
    if unknown:
        raise RuntimeError(f"DOM360_TEST_BACKEND: unknown backend(s) {sorted(unknown)}; use docker, embedded, dsn, citus")
    return names


def required_backends() -> set[str]:
    """Backends that must run (DOM360_REQUIRE_BACKENDS, set by CI): their absence fails instead of skipping."""
    return {b.strip() for b in os.environ.get("DOM360_REQUIRE_BACKENDS", "").split(",") if b.strip()}


def with_db(dsn: str, dbname: str, **overrides: str) -> str:
    params = conninfo.conninfo_to_dict(dsn)
    params["dbname"] = dbname
    params.update(overrides)
    return conninfo.make_conninfo(**params)


@dataclass(frozen=True)
class Server:
    """A PostgreSQL server under test, reached as a superuser through `admin_dsn`."""

    backend: str
    admin_dsn: str

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.admin_dsn, autocommit=True)

    @property
    def version(self) -> int:
        with psycopg.connect(self.admin_dsn) as c:
            return int(scalar(c, "SHOW server_version_num")) // 10000

    def create_database(self, name: str, template: str | None = None) -> None:
        with self.admin() as c:
            if template:
                c.execute(sql.SQL("CREATE DATABASE {} TEMPLATE {}").format(sql.Identifier(name), sql.Identifier(template)))
            else:
                c.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))

    def drop_database(self, name: str) -> None:
        with self.admin() as c:
            c.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    @contextmanager
    def scratch_database(self, prefix: str = "t", template: str | None = None) -> Iterator[str]:
        """A new database (empty, or cloned from `template`) dropped afterwards; yields its DSN."""
        name = f"{prefix}_{uuid.uuid4().hex[:12]}"
        self.create_database(name, template)
        try:
            yield with_db(self.admin_dsn, name)
        finally:
            self.drop_database(name)

    def ensure_logins(self) -> None:
        """Login roles for the tests, granted the product's group roles (idempotent)."""
        with self.admin() as c:
            for login, group in ((APP_LOGIN, "dom360_app"), (ANALYTICS_LOGIN, "dom360_analytics")):
                ensure_login(c, login, group, LOGIN_PASSWORD)


@dataclass(frozen=True)
class CitusServer(Server):
    """A Citus coordinator (`admin_dsn`, a superuser) whose database `postgres` lists the workers.

    Citus metadata is per database and CREATE DATABASE is not propagated, so a database is created (or cloned
    from a template, metadata and shards alike) on every node under the same name; a new empty one gets the
    extension on every node and the workers added, the precondition of `dom360db migrate` on Citus. A clone
    does not inherit `ALTER DATABASE … SET`: the `db` fixture migrates it (nothing to apply) to restore them."""

    def nodes(self) -> list[str]:
        """Superuser DSNs (database postgres) of the coordinator, then of every worker."""
        with self.admin() as c:
            rows = c.execute("SELECT nodename, nodeport FROM pg_dist_node WHERE groupid <> 0 AND noderole = 'primary' "
                             "ORDER BY nodeid").fetchall()
        return [self.admin_dsn] + [conninfo.make_conninfo(self.admin_dsn, host=h, port=str(p)) for h, p in rows]

    def create_database(self, name: str, template: str | None = None) -> None:
        nodes = self.nodes()
        for dsn in nodes:
            if template:  # Citus' maintenance daemon and cached connections hold the template: close it first
                with psycopg.connect(dsn, autocommit=True) as c:
                    c.execute("SET citus.enable_ddl_propagation = off")
                    c.execute(sql.SQL("ALTER DATABASE {} ALLOW_CONNECTIONS false").format(sql.Identifier(template)))
                    c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                              "WHERE datname = %s AND pid <> pg_backend_pid()", [template])
            for attempt in range(20):
                try:
                    Server("citus", dsn).create_database(name, template)
                    break
                except psycopg.errors.ObjectInUse:
                    if attempt == 19:
                        raise
                    time.sleep(0.25)
        if template:
            return
        for dsn in nodes:
            with psycopg.connect(with_db(dsn, name), autocommit=True) as c:
                c.execute("CREATE EXTENSION citus")
        coordinator = conninfo.conninfo_to_dict(self.admin_dsn)
        with psycopg.connect(with_db(self.admin_dsn, name), autocommit=True) as c:
            c.execute("SELECT citus_set_coordinator_host(%s, %s)",
                      [coordinator.get("host", "localhost"), int(coordinator.get("port", 5432))])
            for dsn in nodes[1:]:
                node = conninfo.conninfo_to_dict(dsn)
                c.execute("SELECT citus_add_node(%s, %s)", [node["host"], int(node["port"])])

    def drop_database(self, name: str) -> None:
        for dsn in self.nodes():
            Server("citus", dsn).drop_database(name)


@dataclass(frozen=True)
class Database:
    """One test's own database, cloned from the migrated template."""

    server: Server
    name: str

    @property
    def admin_dsn(self) -> str:
        return with_db(self.server.admin_dsn, self.name)

    @property
    def app_dsn(self) -> str:
        return with_db(self.server.admin_dsn, self.name, user=APP_LOGIN, password=LOGIN_PASSWORD)

    @property
    def analytics_dsn(self) -> str:
        return with_db(self.server.admin_dsn, self.name, user=ANALYTICS_LOGIN, password=LOGIN_PASSWORD)

    def admin(self) -> psycopg.Connection:
        return psycopg.connect(self.admin_dsn, autocommit=True)

    def app(self, **kw: object) -> psycopg.Connection:
        return psycopg.connect(self.app_dsn, **kw)  # type: ignore[arg-type]

    def analytics(self, **kw: object) -> psycopg.Connection:
        return psycopg.connect(self.analytics_dsn, **kw)  # type: ignore[arg-type]

    def create_tenant(self, slug: str, name: str | None = None) -> uuid.UUID:
        with self.admin() as c:
            return scalar(c, "SELECT dom360.create_tenant(%s, %s)", [name or slug.title(), slug])


def apply_mutation(dsn: str, mutation: str) -> None:
    """Weaken one policy (`table.policy`): the tenant policy to true, the analytics policy to every role; or undo one
    defence against a hostile app login (`defence.<name>`, tests/mutants.py)."""
    if mutation.startswith("defence."):
        import mutants

        mutants.apply(dsn, mutation)
        return
    table, _, policy = mutation.partition(".")
    stmt = (sql.SQL("ALTER POLICY {} ON dom360.{} TO PUBLIC") if policy == "analytics_read"
            else sql.SQL("ALTER POLICY {} ON dom360.{} USING (true) WITH CHECK (true)"))
    with psycopg.connect(dsn, autocommit=True) as c:
        c.execute(stmt.format(sql.Identifier(policy), sql.Identifier(table)))


def migrate_database(dsn: str, **params: object) -> migrate.Outcome:
    """Apply the package's SQL with the default parameters (plus `params`)."""
    merged = {**config.DEFAULTS, **params}
    merged = citus.with_citus(merged, dsn)
    return migrate.migrate(dsn, sqlfiles.load(merged), lock_timeout_s=60, months_ahead=merged["months_ahead"],
                           params=merged)


@dataclass(frozen=True)
class Tenant:
    id: uuid.UUID
    inbox: uuid.UUID
    user: uuid.UUID
    agent: uuid.UUID
    conversation: uuid.UUID


def seed(db: Database, slug: str) -> Tenant:
    tid = db.create_tenant(slug)
    with db.app() as c, c.transaction():
        c.execute("SELECT dom360.set_tenant(%s)", [tid])
        inbox = scalar(c, "INSERT INTO dom360.inboxes (name, channel) VALUES ('web', 'web') RETURNING id")
        user = scalar(c, "INSERT INTO dom360.users (email, name) VALUES ('ana@example.com', 'Ana') RETURNING id")
        agent = scalar(c, "INSERT INTO dom360.agents (agent_type, name) VALUES ('SDR', 'Sam') RETURNING id")
        conv = scalar(c, "INSERT INTO dom360.conversations (inbox_id, external_id) VALUES (%s, 'cust-1') RETURNING id",
                      [inbox])
    with db.admin() as c:  # an audit row per tenant (the app cannot write them: the owner's triggers do)
        c.execute("INSERT INTO dom360.audit_log (tenant_id, table_name, operation, row_key) VALUES (%s, 'users', 'INSERT', '{}')",
                  [tid])
    return Tenant(tid, inbox, user, agent, conv)


@pytest.fixture
def acme(db: Database) -> Tenant:
    """A seeded tenant (inbox, user, agent, conversation) in the test's database (a fixture: conftest imports it)."""
    return seed(db, "acme")


def month_start(months_from_now: int = 0) -> datetime:
    """The first instant (UTC) of the month `months_from_now` months from the current one."""
    today = datetime.now(UTC)
    y, m = divmod(today.year * 12 + today.month - 1 + months_from_now, 12)
    return datetime(y, m + 1, 1, tzinfo=UTC)


def cli(*args: str, cwd: Path | None = None, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m dom360db ARGS` in a subprocess: the real exit code, stdout and stderr."""
    return subprocess.run([sys.executable, "-m", "dom360db", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


@contextmanager
def owner_login(db: Database, prefix: str, *, read_meta: bool = False) -> Iterator[str]:
    """The DSN of a throwaway login that is a member of the owner role, not a superuser (an administrator:
    row-level security applies to it); `read_meta` lets it read the runner's bookkeeping. Dropped afterwards."""
    login = f"{prefix}_{uuid.uuid4().hex[:8]}"
    with db.admin() as c:
        c.execute(sql.SQL("CREATE ROLE {} LOGIN PASSWORD {} IN ROLE dom360_owner").format(
            sql.Identifier(login), sql.Literal(LOGIN_PASSWORD)))
        if read_meta:
            c.execute(sql.SQL("GRANT USAGE ON SCHEMA dom360db_meta TO {0}; GRANT SELECT ON dom360db_meta.applied_files TO {0}"
                              ).format(sql.Identifier(login)))
    try:
        yield with_db(db.server.admin_dsn, db.name, user=login, password=LOGIN_PASSWORD)
    finally:
        with db.admin() as c:
            c.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(login)))
            c.execute(sql.SQL("DROP ROLE {}").format(sql.Identifier(login)))
