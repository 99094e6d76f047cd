"""Named queries from `queries.sql` (a `-- name --` header before each): no SQL is built in Python."""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_HEADER = re.compile(r"^-- ([a-z_]+) --$", re.MULTILINE)


@cache
def _all() -> dict[str, str]:
    text = resources.files("dom360db").joinpath("queries.sql").read_text(encoding="utf-8")
    parts = _HEADER.split(text)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def query(name: str) -> str:
    """The text of the named query (KeyError names a typo at once)."""
    return _all()[name]
