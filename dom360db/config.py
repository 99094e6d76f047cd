"""Template parameters: defaults, then `dom360db.toml`, then `-D key=value`.

Parameters are rendered into the SQL files with Jinja. The migration checksum covers the rendered text,
so changing a parameter re-applies every repeatable file that uses it (and is refused for a versioned
file that was already applied with another value).
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from dom360db.errors import Dom360Error

CONFIG_FILE = "dom360db.toml"

#: Every parameter the SQL templates may use, with a default that just works.
DEFAULTS: dict[str, Any] = {
    # Roles (cluster-wide NOLOGIN group roles; login roles are granted them).
    "owner_role": "dom360_owner",
    "app_role": "dom360_app",
    "analytics_role": "dom360_analytics",
    "backup_role": "dom360_backup",  # created by `dom360db roles` (BYPASSRLS: a superuser), for pg_dump --role
    # Monthly partitions of time-partitioned tables kept ready ahead of and behind the current month.
    "months_ahead": 3,
    "months_behind": 1,
    # Largest message content accepted, in bytes (UTF-8).
    "message_max_bytes": 65536,
    # Counter stripes per inbox and day in the consumption table (spreads hot-inbox writers).
    "consumption_stripes": 16,
    # Set by the commands from the target's catalog (the citus extension present), not by hand: renders the
    # Citus variants of a few functions (docs/citus.md). False renders the single-server text.
    "citus": False,
}

_ROLE_PARAMS = ("owner_role", "app_role", "analytics_role", "backup_role")
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _coerce(raw: str) -> Any:
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return raw


#: Bounds of the whole-number parameters, the same wherever a value is given (dom360db.toml, -D, and the
#: command-line flags that override one, such as --months-ahead).
BOUNDS: dict[str, tuple[int, int]] = {
    "months_ahead": (0, 120),
    "months_behind": (0, 120),
    "message_max_bytes": (1, 1_073_741_823),  # the largest text value PostgreSQL stores
    "consumption_stripes": (1, 1024),  # stripe is a smallint; beyond a few dozen writers it buys nothing
}
SECTIONS = ("params",)


def _check(params: Mapping[str, Any], where: str = "parameter") -> None:
    for key in _ROLE_PARAMS:
        if not isinstance(params[key], str) or not _ROLE_NAME.match(params[key]):
            raise Dom360Error(f"{where} {key}={params[key]!r}: a role name is lowercase letters, digits, _")
    for key, (low, high) in BOUNDS.items():
        value = params[key]
        if isinstance(value, bool) or not isinstance(value, int):
            raise Dom360Error(f"{where} {key}={value!r}: expected a whole number from {low} to {high}")
        if not low <= value <= high:
            raise Dom360Error(f"{where} {key}={value}: out of range ({low} to {high})")


def _read(path: Path) -> dict[str, Any]:
    """The [params] of a config file; every problem one line naming the file."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise Dom360Error(f"{path}: cannot read: {exc.strerror}") from exc
    if raw.startswith(b"\xef\xbb\xbf"):
        raise Dom360Error(f"{path}: starts with a UTF-8 byte-order mark (BOM): save it as UTF-8 without BOM")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise Dom360Error(f"{path}:{line}: not UTF-8 (byte 0x{raw[exc.start]:02x}); save it as UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise Dom360Error(f"{path}: not valid TOML: {exc}") from None
    unknown = sorted(set(data) - set(SECTIONS))
    if unknown:
        raise Dom360Error(f"{path}: unknown section or key {unknown[0]!r} (known: [{'], ['.join(SECTIONS)}])")
    section = data.get("params", {})
    if not isinstance(section, dict):
        raise Dom360Error(f"{path}: [params] must be a table")
    for key in section:
        if key not in DEFAULTS:
            raise Dom360Error(f"{path}: unknown parameter {key!r} (known: {', '.join(sorted(DEFAULTS))})")
    return dict(section)


def load_params(config: Path | None = None, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """The parameters in force: defaults < the config file < `-D key=value` overrides."""
    params = dict(DEFAULTS)
    path = config if config is not None else Path.cwd() / CONFIG_FILE
    if path.is_file():
        params.update(_read(path))
        _check(params, f"{path}:")
    elif config is not None:
        raise Dom360Error(f"{config}: no such config file")
    for item in overrides:
        key, sep, raw = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise Dom360Error(f"-D {item!r}: expected key=value")
        if key not in DEFAULTS:
            raise Dom360Error(f"-D {key}: unknown parameter (known: {', '.join(sorted(DEFAULTS))})")
        params[key] = _coerce(raw.strip())
    _check(params)
    return params
