"""Fixtures: a server per backend (session), a migrated template (session), a clone per test.

DOM360_TEST_BACKEND (comma-separated, default "docker,embedded") chooses the servers; every test that
uses a database runs once per server, in one pytest run:
- docker:   testcontainers' PostgresContainer (image DOM360_TEST_IMAGE, default postgres:17); skipped
            with the reason when no Docker API answers.
- embedded: the pip-installed PostgreSQL 17, in a temporary directory.
- dsn:      an existing server at DOM360_TEST_DSN (a superuser; databases are created and dropped).
- citus:    a Citus coordinator at DOM360_TEST_DSN (a superuser; its database postgres lists the workers):
            the template is created on every node (extension, workers added) and migrated, and each test's
            database is cloned from it on every node (tests/support.py CitusServer), then migrated again (nothing
            to apply: it restores the per-database settings a clone does not inherit). Skipped, with the reason,
            without DOM360_TEST_DSN. Tests that cannot hold on Citus are marked `single_server`.

DOM360_MUTATION=table.policy weakens that policy of the template to `USING (true) WITH CHECK (true)`
(for the analytics policy: `TO PUBLIC`); tests/mutation.py uses it to show the suite fails every time.
"""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator

import pytest

from support import (
    CitusServer,
    Database,
    Server,
    apply_mutation,
    backends,
    migrate_database,
    required_backends,
    with_db,
)
from support import acme as acme  # noqa: F401 (the shared seeded-tenant fixture: defined in support.py)


@pytest.fixture(scope="session", params=backends())
def server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    backend = request.param
    if backend == "docker":
        from server_docker import BackendUnavailable, docker_server

        try:
            with docker_server() as dsn:
                yield Server("docker", dsn)
        except BackendUnavailable as exc:
            if "docker" in required_backends():
                pytest.fail(f"docker backend required by DOM360_REQUIRE_BACKENDS but unavailable: {exc}")
            pytest.skip(f"docker backend: {exc}")
    elif backend == "embedded":
        from dom360db.embedded import EmbeddedServer

        emb = EmbeddedServer(tmp_path_factory.mktemp("embedded"))
        info = emb.up(dbname="postgres")
        try:
            yield Server("embedded", info.dsn)
        finally:
            emb.down()
    elif backend == "citus":
        dsn = os.environ.get("DOM360_TEST_DSN")
        if not dsn:
            pytest.skip("citus backend: set DOM360_TEST_DSN to a Citus coordinator (superuser, workers added)")
        yield CitusServer("citus", dsn)
    else:
        dsn = os.environ.get("DOM360_TEST_DSN")
        if not dsn:
            pytest.skip("dsn backend: set DOM360_TEST_DSN to a superuser connection string")
        yield Server("dsn", dsn)


@pytest.fixture(scope="session")
def template(server: Server) -> Iterator[str]:
    """Name of a database migrated once per session; tests clone it."""
    name = f"dom360_tpl_{uuid.uuid4().hex[:8]}"
    server.create_database(name)
    try:
        migrate_database(with_db(server.admin_dsn, name))
        server.ensure_logins()
        mutation = os.environ.get("DOM360_MUTATION")
        if mutation:  # `make mutation`: weaken one policy in the template; the suite must notice
            apply_mutation(with_db(server.admin_dsn, name), mutation)
        yield name
    finally:
        server.drop_database(name)


@pytest.fixture(autouse=True)
def _single_server(request: pytest.FixtureRequest) -> None:
    """Tests marked `single_server("why")` are skipped on the citus backend, with their reason."""
    marker = request.node.get_closest_marker("single_server")
    if marker is None or "server" not in request.fixturenames:
        return
    if request.getfixturevalue("server").backend == "citus":
        pytest.skip(f"single server only: {marker.args[0] if marker.args else marker.kwargs['reason']}")


@contextlib.contextmanager
def _clone(server: Server, template: str) -> Iterator[Database]:
    """A fresh database cloned from the migrated template, dropped at the end."""
    name = f"dom360_t_{uuid.uuid4().hex[:12]}"
    server.create_database(name, template)
    try:
        database = Database(server, name)
        if server.backend == "citus":  # per-database settings and privileges: what `migrate` re-applies
            migrate_database(database.admin_dsn)
        with database.admin() as c:  # a clone does not inherit database privileges: what `migrate` re-applies
            c.execute("SELECT dom360.secure_database()")
        yield database
    finally:
        server.drop_database(name)


@pytest.fixture
def db(server: Server, template: str) -> Iterator[Database]:
    """A fresh database cloned from the migrated template, dropped after the test."""
    with _clone(server, template) as database:
        yield database


@pytest.fixture
def new_db(server: Server, template: str) -> Iterator[Callable[[], Database]]:
    """Makes more databases like `db` (a test that moves a tenant between databases), all dropped after the test."""
    with contextlib.ExitStack() as stack:
        yield lambda: stack.enter_context(_clone(server, template))
