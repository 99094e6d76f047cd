"""A real PgBouncer for the tests: started in a temporary directory, in front of one test database.

``running(upstream_dsn, logins, pool_size=...)`` starts ``/usr/sbin/pgbouncer`` (the Debian package
``pgbouncer``; ``DOM360_PGBOUNCER`` names another binary) in ``pool_mode = transaction``, listening on
127.0.0.1 on a free port, with a pool of ``pool_size`` server connections per user for the database
of ``upstream_dsn``. Clients authenticate to PgBouncer with SCRAM against a plain-text ``auth_file``;
PgBouncer uses the same password towards the server, so it works in front of SCRAM and trust servers.

PgBouncer refuses to run as root: as root it runs as the unprivileged ``dom360db`` user (``nobody``
when that user does not exist), in a directory created with tempfile.mkdtemp and owned by that user.

PgBouncer >= 1.21 can track protocol-level prepared statements (``max_prepared_statements``); older
ones cannot, so clients must not prepare statements server-side: ``connect()`` passes
``prepare_threshold=None`` to psycopg. No pytest fixtures here.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import conninfo

BINARY_ENV = "DOM360_PGBOUNCER"
DEFAULT_BINARY = "/usr/sbin/pgbouncer"
#: Unprivileged OS users to run PgBouncer as when the tests run as root, first existing one wins.
RUN_AS = ("dom360db", "nobody")
#: Bounded waits: PgBouncer listening, PgBouncer exiting.
START_TIMEOUT_S = 15.0
STOP_TIMEOUT_S = 10.0
#: A bound picked free port can be taken by someone else before PgBouncer binds it: retry that often.
PORT_ATTEMPTS = 5


class PgBouncerUnavailable(RuntimeError):
    """No PgBouncer binary: the caller skips (``apt-get install pgbouncer``)."""


def binary() -> str:
    path = os.environ.get(BINARY_ENV) or DEFAULT_BINARY
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        found = shutil.which("pgbouncer")
        if found is None or os.environ.get(BINARY_ENV):
            raise PgBouncerUnavailable(f"no PgBouncer binary at {path} (apt-get install pgbouncer)")
        path = found
    return path


def version(path: str | None = None) -> tuple[int, int, int]:
    """The version of the binary, e.g. (1, 18, 0)."""
    out = subprocess.run([path or binary(), "--version"], capture_output=True, text=True, timeout=10, check=True).stdout
    m = re.search(r"PgBouncer (\d+)\.(\d+)(?:\.(\d+))?", out)
    if not m:
        raise RuntimeError(f"cannot read the PgBouncer version from {out!r}")
    return int(m[1]), int(m[2]), int(m[3] or 0)


def _quote_ini(value: str) -> str:
    """A value inside a [databases] connection string: single-quoted, quotes and backslashes escaped."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _quote_auth(value: str) -> str:
    """A field of the auth_file: double-quoted, double quotes doubled."""
    return '"' + value.replace('"', '""') + '"'


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_as() -> pwd.struct_passwd | None:
    """The OS user to run PgBouncer as: None (ourselves) unless we are root."""
    if os.geteuid() != 0:
        return None
    for name in RUN_AS:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError(f"running as root and none of the users {RUN_AS} exists to run PgBouncer as")


@dataclass(frozen=True)
class Upstream:
    host: str
    port: int
    dbname: str


def upstream_of(dsn: str) -> Upstream:
    """Host, port and database that `dsn` really reaches (libpq's defaults resolved by connecting)."""
    with psycopg.connect(dsn, connect_timeout=10) as c:
        return Upstream(c.info.host, c.info.port, c.info.dbname)


@dataclass(frozen=True)
class PgBouncer:
    """A running PgBouncer; `dsn(user, password)` reaches the upstream database through it."""

    port: int
    dbname: str
    pool_size: int
    directory: Path
    process: subprocess.Popen[bytes]

    def dsn(self, user: str, password: str) -> str:
        return conninfo.make_conninfo(host="127.0.0.1", port=str(self.port), dbname=self.dbname, user=user,
                                      password=password, connect_timeout="10")

    def connect(self, user: str, password: str, **kw: object) -> psycopg.Connection:
        """A client connection through the pool; no server-side prepared statements (see the module doc)."""
        kw.setdefault("prepare_threshold", None)
        return psycopg.connect(self.dsn(user, password), **kw)  # type: ignore[arg-type]

    def log(self) -> str:
        try:
            return (self.directory / "pgbouncer.log").read_text(errors="replace")
        except OSError:
            return ""


def _config(up: Upstream, port: int, pool_size: int, max_client_conn: int) -> str:
    database = " ".join(f"{k}={_quote_ini(v)}" for k, v in
                        (("host", up.host), ("port", str(up.port)), ("dbname", up.dbname)))
    return "\n".join([
        "[databases]",
        f"{up.dbname} = {database}",
        "",
        "[pgbouncer]",
        "listen_addr = 127.0.0.1",
        f"listen_port = {port}",
        "unix_socket_dir =",  # TCP only: no socket file in /tmp that another run could collide with
        "auth_type = scram-sha-256",
        "auth_file = userlist.txt",
        "pool_mode = transaction",
        f"default_pool_size = {pool_size}",
        "min_pool_size = 0",
        "reserve_pool_size = 0",
        f"max_client_conn = {max_client_conn}",
        # Transaction pooling runs no reset between clients (that is what the leak test shows); explicit here.
        "server_reset_query_always = 0",
        "server_tls_sslmode = disable",  # loopback to a test server
        "ignore_startup_parameters = extra_float_digits",
        "query_wait_timeout = 20",  # a client waiting for a server connection fails instead of hanging
        "server_connect_timeout = 10",
        "server_login_retry = 1",
        "log_connections = 0",
        "log_disconnections = 0",
        "",
    ])


def _wait_listening(proc: subprocess.Popen[bytes], port: int, deadline: float) -> bool:
    """True once PgBouncer accepts TCP connections on `port`; False when it exited first."""
    while True:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except OSError:
            if time.monotonic() > deadline:
                raise TimeoutError(f"PgBouncer did not listen on 127.0.0.1:{port} within {START_TIMEOUT_S}s") from None
            time.sleep(0.02)  # polling interval of a bounded wait, not a guess at a duration
            continue
        # accepted: make sure it was PgBouncer (still alive) and not a process that took the port first
        return proc.poll() is None


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)  # immediate shutdown (SIGINT would wait for clients)
        try:
            proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=STOP_TIMEOUT_S)


@contextmanager
def running(upstream_dsn: str, logins: dict[str, str], *, pool_size: int = 2,
            max_client_conn: int = 100) -> Iterator[PgBouncer]:
    """A PgBouncer in transaction mode in front of the database of `upstream_dsn`, stopped on exit.

    `logins` maps user names to their passwords (they must be able to log in to the upstream server
    with that password, unless it trusts them).
    """
    exe = binary()
    up = upstream_of(upstream_dsn)
    user = _run_as()
    directory = Path(tempfile.mkdtemp(prefix="dom360-pgbouncer-"))
    proc: subprocess.Popen[bytes] | None = None
    try:
        auth = "".join(f"{_quote_auth(u)} {_quote_auth(p)}\n" for u, p in logins.items())
        (directory / "userlist.txt").write_text(auth)
        (directory / "userlist.txt").chmod(0o600)
        log = directory / "pgbouncer.log"
        if user is not None:
            os.chown(directory, user.pw_uid, user.pw_gid)
            os.chown(directory / "userlist.txt", user.pw_uid, user.pw_gid)
        failures: list[str] = []
        for _ in range(PORT_ATTEMPTS):
            port = _free_port()
            ini = directory / "pgbouncer.ini"
            ini.write_text(_config(up, port, pool_size, max_client_conn))
            if user is not None:
                os.chown(ini, user.pw_uid, user.pw_gid)
            with open(log, "ab") as out:
                kw: dict[str, object] = {}
                if user is not None:
                    kw = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
                proc = subprocess.Popen([exe, str(ini)], cwd=directory, stdin=subprocess.DEVNULL, stdout=out,
                                        stderr=subprocess.STDOUT, env={"PATH": "/usr/sbin:/usr/bin:/bin"},
                                        **kw)  # type: ignore[call-overload]
            if _wait_listening(proc, port, time.monotonic() + START_TIMEOUT_S):
                break
            _stop(proc)
            failures.append(f"port {port}: exit code {proc.returncode}")
            proc = None
        if proc is None:
            text = log.read_text(errors="replace") if log.exists() else ""
            raise RuntimeError(f"PgBouncer did not start ({'; '.join(failures)}); log:\n{text[-4000:]}")
        yield PgBouncer(port, up.dbname, pool_size, directory, proc)
    finally:
        if proc is not None:
            _stop(proc)
        shutil.rmtree(directory, ignore_errors=True)
