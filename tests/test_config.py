"""Every bad dom360db.toml is one line and exit 1; a parameter has the same bounds wherever it is given
(issue 10). Run through the real command line (`python -m dom360db`), as a user would: no server needed,
`render` reads the parameters first."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import click
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dom360db import cli, config
from dom360db.errors import Dom360Error

BAD_FILES: dict[str, tuple[bytes, str]] = {
    "not UTF-8": (b"[params]\nowner_role = \"d\xe9mo\"\n", "not UTF-8"),
    "UTF-8 BOM": (b"\xef\xbb\xbf[params]\nmonths_ahead = 2\n", "byte-order mark"),
    "misspelt section": (b"[parms]\nmonths_ahead = 2\n", "unknown section or key 'parms'"),
    "top-level key": (b"months_ahead = 2\n", "unknown section or key 'months_ahead'"),
    "unknown key": (b"[params]\nmonth_ahead = 2\n", "unknown parameter 'month_ahead'"),
    "out of range": (b"[params]\nmonths_ahead = 200\n", "months_ahead=200: out of range (0 to 120)"),
    "negative": (b"[params]\nconsumption_stripes = -1\n", "consumption_stripes=-1: out of range"),
    "wrong type": (b"[params]\nmonths_ahead = \"3\"\n", "expected a whole number"),
    "boolean for a number": (b"[params]\nmessage_max_bytes = true\n", "expected a whole number"),
    "bad role name": (b"[params]\napp_role = \"App Role\"\n", "a role name is lowercase"),
    "not TOML": (b"[params\n", "not valid TOML"),
    "params not a table": (b"params = 3\n", "[params] must be a table"),
}


def dom360db(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "dom360db", *args], cwd=cwd, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_a_bad_config_file_is_one_line_and_exit_1(tmp_path: Path, case: str) -> None:
    content, message = BAD_FILES[case]
    (tmp_path / "dom360db.toml").write_bytes(content)
    r = dom360db(tmp_path, "render", "schema/0001_roles.sql")
    assert r.returncode == 1
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dom360db: error: ") and "dom360db.toml" in lines[0], r.stderr
    assert message in lines[0], lines[0]


def test_a_good_config_file_is_used(tmp_path: Path) -> None:
    (tmp_path / "dom360db.toml").write_text('[params]\napp_role = "api_role"\nmonths_ahead = 120\n', encoding="utf-8")
    r = dom360db(tmp_path, "render", "schema/0001_roles.sql")
    assert r.returncode == 0 and "api_role" in r.stdout, r.stderr


@settings(max_examples=60, deadline=None)
@given(value=st.integers(min_value=-1000, max_value=1000))
def test_months_ahead_has_the_same_bounds_in_the_file_in_d_and_as_a_flag(value: int) -> None:
    low, high = config.BOUNDS["months_ahead"]
    ok = low <= value <= high
    try:
        config.load_params(None, [f"months_ahead={value}"])
        by_define = True
    except Dom360Error:
        by_define = False
    with tempfile.TemporaryDirectory() as tmp:
        cfg = Path(tmp) / "x.toml"
        cfg.write_text(f"[params]\nmonths_ahead = {value}\n", encoding="utf-8")
        try:
            config.load_params(cfg)
            by_file = True
        except Dom360Error:
            by_file = False
    flag = next(p for p in cli.cli.commands["maintain"].params if p.name == "months_ahead")
    try:
        flag.type.convert(value, flag, None)  # type: ignore[union-attr]
        by_flag = True
    except click.BadParameter:
        by_flag = False
    assert by_define == by_file == by_flag == ok
