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
}

_ROLE_PARAMS = ("owner_role", "app_role", "analytics_role", "backup_role")
_ROLE_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def _coerce(raw: str) -> Any:
    if re.fullmatch(r"-?\d+", raw):
        return int(raw)
    if raw.lower() in ("true", "false"):
        return raw.lower() == "true"
    return raw


def _check(params: Mapping[str, Any]) -> None:
    for key in _ROLE_PARAMS:
        if not isinstance(params[key], str) or not _ROLE_NAME.match(params[key]):
            raise Dom360Error(f"parameter {key}={params[key]!r}: a role name is lowercase letters, digits, _")
    for key, value in params.items():
        if isinstance(DEFAULTS[key], int) and not isinstance(value, bool) and (not isinstance(value, int) or value < 0):
            raise Dom360Error(f"parameter {key}={value!r}: expected a non-negative whole number")
    if params["consumption_stripes"] < 1:
        raise Dom360Error("parameter consumption_stripes must be at least 1")


def load_params(config: Path | None = None, overrides: Iterable[str] = ()) -> dict[str, Any]:
    """The parameters in force: defaults < the config file < `-D key=value` overrides."""
    params = dict(DEFAULTS)
    path = config if config is not None else Path.cwd() / CONFIG_FILE
    if path.is_file():
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, OSError) as exc:
            raise Dom360Error(f"{path}: cannot read: {exc}") from exc
        section = data.get("params", {})
        if not isinstance(section, dict):
            raise Dom360Error(f"{path}: [params] must be a table")
        for key, value in section.items():
            if key not in DEFAULTS:
                raise Dom360Error(f"{path}: unknown parameter {key!r} (known: {', '.join(sorted(DEFAULTS))})")
            params[key] = value
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
