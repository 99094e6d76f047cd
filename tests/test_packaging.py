"""An installed wheel carries sql/: `pip install .` from a copy of the repo, then migrate from elsewhere."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import Server

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_pip_install_from_a_copy_then_migrate_from_another_directory(server: Server, tmp_path: Path) -> None:
    if server.backend == "docker":
        pytest.skip("packaging is independent of the server: checked once, on the other backends")
    copy = tmp_path / "copy"
    shutil.copytree(REPO, copy, ignore=shutil.ignore_patterns(".venv", ".git", ".dom360db", "*.egg-info",
                                                              "__pycache__", ".pytest_cache", ".hypothesis"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    pip = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                          "--disable-pip-version-check", str(copy)], capture_output=True, text=True, timeout=600)
    assert pip.returncode == 0, pip.stderr[-2000:]
    shutil.rmtree(copy)  # the installed package must not need the source tree
    # the typed client ships its marker and its queries (PEP 561: type checkers read the installed package)
    site = next(venv.glob("lib/python*/site-packages/dom360db"))
    assert (site / "client" / "py.typed").is_file() and (site / "sql" / "queries" / "client.sql").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    exe = str(venv / "bin" / "dom360db")
    with server.scratch_database("pkg") as dsn:
        first = subprocess.run([exe, "migrate", "--dsn", dsn], cwd=elsewhere, capture_output=True, text=True)
        assert first.returncode == 0, first.stderr
        assert first.stdout.startswith("applied ")
        second = subprocess.run([exe, "migrate", "--dsn", dsn], cwd=elsewhere, capture_output=True, text=True)
        assert second.stdout.strip() == "database is up to date: nothing to apply"
    mod = subprocess.run([str(venv / "bin" / "python"), "-m", "dom360db", "--version"], cwd=elsewhere,
                         capture_output=True, text=True)
    assert mod.returncode == 0 and "dom360db" in mod.stdout
