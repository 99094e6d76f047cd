"""Named queries from the package's `.sql` files (a `-- name --` header before each).

No SQL is built in Python: `queries.sql` holds the runner's, `doctor.sql` the posture checks.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources

_HEADER = re.compile(r"^-- ([a-z_]+) --$", re.MULTILINE)


@cache
def named_queries(filename: str = "queries.sql") -> dict[str, str]:
    """Every query of one file, by name, in file order."""
    text = resources.files("dom360db").joinpath(filename).read_text(encoding="utf-8")
    parts = _HEADER.split(text)
    return {name: body.strip() for name, body in zip(parts[1::2], parts[2::2], strict=True)}


def query(name: str) -> str:
    """The text of the named query (KeyError names a typo at once)."""
    return named_queries()[name]
