"""Throwaway PostgreSQL servers in containers, through testcontainers and a Docker API.

The API is a real Docker engine (image ``postgres:17`` by default) or, on machines without one,
podman serving the Docker API with the locally built image ``localhost/dom360-postgres:15``::

    eval "$(bash .ci/podman/setup.sh)"    # exports DOCKER_HOST, DOM360_TEST_IMAGE, ...

``docker_server()`` raises :class:`BackendUnavailable` within a couple of seconds when no Docker
API answers, so the test suite can skip this backend with the reason. No pytest fixtures here.
"""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Iterator
from typing import Any

DEFAULT_IMAGE = "postgres:17"
IMAGE_ENV = "DOM360_TEST_IMAGE"
ADMIN_USER = "dom360_admin"
DBNAME = "dom360_test"
# How long the probe waits for the Docker API before giving up on the backend.
PROBE_TIMEOUT_S = 2.0
# Pulling an image can be slow; only used when the image is not present locally.
PULL_TIMEOUT_S = 600
_DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
_SETUP_HINT = 'without Docker, run: eval "$(bash .ci/podman/setup.sh)"'


class BackendUnavailable(Exception):
    """The container backend cannot run here; the message is the reason (suitable for pytest.skip)."""


def _docker_host() -> str:
    """Where testcontainers will look for the Docker API (DOCKER_HOST, tc.host, docker context)."""
    try:
        from testcontainers.core.docker_client import get_docker_host
    except ImportError:
        return os.environ.get("DOCKER_HOST") or _DEFAULT_DOCKER_HOST
    return get_docker_host() or _DEFAULT_DOCKER_HOST


def _client(where: str, timeout: float) -> Any:
    """A docker-py client for ``where``; connecting (API version negotiation) happens here."""
    import docker

    environment = {**os.environ, "DOCKER_HOST": where}
    return docker.from_env(
        timeout=timeout,
        environment=environment,
        use_ssh_client=where.startswith("ssh://"),
    )


def _probe(where: str) -> Any:
    """Return a connected client, or raise BackendUnavailable quickly if nothing answers."""
    try:
        import docker.errors
        import requests.exceptions
    except ImportError as exc:  # pragma: no cover - depends on the installed extras
        raise BackendUnavailable(f"docker/testcontainers are not installed: {exc}") from exc
    try:
        client = _client(where, PROBE_TIMEOUT_S)
        client.ping()
    except (docker.errors.DockerException, requests.exceptions.RequestException, OSError, ValueError) as exc:
        raise BackendUnavailable(f"no Docker API answers at {where}: {exc} ({_SETUP_HINT})") from exc
    return client


def _is_podman(client: Any) -> bool:
    try:
        version = client.version()
    except Exception:
        return False
    names = [str((version.get("Platform") or {}).get("Name", ""))]
    names += [str(c.get("Name", "")) for c in version.get("Components") or []]
    return any("podman" in name.lower() for name in names)


def _apply_podman_defaults(where: str) -> None:
    """Settings podman needs (see .ci/podman/setup.sh), for those the environment does not give.

    testcontainers reads its environment once, at import; the values the user did set win.
    """
    from testcontainers.core.config import ConnectionMode, testcontainers_config

    if "TESTCONTAINERS_RYUK_DISABLED" not in os.environ:
        # ryuk's image cannot be pulled without a registry; docker_server() removes its container
        testcontainers_config.ryuk_disabled = True
    if where.startswith("unix://"):
        if "TESTCONTAINERS_CONNECTION_MODE" not in os.environ:
            # otherwise a gateway IP podman does not report is looked up (KeyError: 'HostConfig')
            testcontainers_config.connection_mode_override = ConnectionMode.docker_host
        if not (os.environ.get("TC_HOST") or os.environ.get("TESTCONTAINERS_HOST_OVERRIDE")):
            testcontainers_config.tc_host_override = "127.0.0.1"


def _ensure_image(where: str, client: Any, image: str) -> None:
    """Pull ``image`` if missing; a failed pull makes the backend unavailable (e.g. no registry)."""
    import docker.errors

    try:
        client.images.get(image)
        return
    except docker.errors.ImageNotFound:
        pass
    except docker.errors.DockerException as exc:
        raise BackendUnavailable(f"the Docker API at {where} fails to inspect image {image}: {exc}") from exc
    try:
        _client(where, PULL_TIMEOUT_S).images.pull(image)
    except docker.errors.DockerException as exc:
        raise BackendUnavailable(
            f"image {image} is not present at {where} and cannot be pulled: {exc}"
            f" (set {IMAGE_ENV} to a local image; {_SETUP_HINT})"
        ) from exc


@contextlib.contextmanager
def docker_server() -> Iterator[str]:
    """Run a PostgreSQL container and yield a superuser libpq DSN for it.

    The image is ``$DOM360_TEST_IMAGE`` (default ``postgres:17``). The DSN looks like
    ``postgresql://dom360_admin:<pw>@127.0.0.1:<port>/dom360_test`` and works with psycopg 3.
    The container is stopped and removed on exit, whether the body raised or not.

    Raises BackendUnavailable (quickly) when no Docker API answers, or when the image is neither
    present nor pullable.
    """
    where = _docker_host()
    client = _probe(where)
    try:
        image = os.environ.get(IMAGE_ENV) or DEFAULT_IMAGE
        if _is_podman(client):
            _apply_podman_defaults(where)
        _ensure_image(where, client, image)
    finally:
        client.close()

    try:
        from testcontainers.community.postgres import PostgresContainer
    except ImportError:  # testcontainers < 4.14 keeps it here (now a deprecated alias)
        from testcontainers.postgres import PostgresContainer

    container = PostgresContainer(
        image,
        username=ADMIN_USER,
        password=secrets.token_hex(16),
        dbname=DBNAME,
        driver=None,
    )
    try:
        container.start()
        yield container.get_connection_url(driver=None)
    finally:
        _remove(container)


def _remove(container: Any) -> None:
    """Force-remove the container (and its anonymous volumes); a container already gone is fine."""
    import docker.errors

    with contextlib.suppress(docker.errors.NotFound):
        container.stop(force=True, delete_volume=True)
