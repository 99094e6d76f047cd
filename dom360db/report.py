"""Plain-text tables for the terminal (what a DBA reads), nothing fancy; JSON for machines."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Protocol


class _AsDict(Protocol):
    def as_dict(self) -> dict[str, Any]: ...


def as_json(items: Sequence[_AsDict]) -> str:
    """The `--json` output of a listing: an indented JSON array of each item's `as_dict()`."""
    return json.dumps([item.as_dict() for item in items], indent=2)


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """Columns padded to their widest cell, a rule under the header; None prints as empty."""
    cells = [[("" if v is None else str(v)) for v in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    line = lambda vals: "  ".join(v.ljust(w) for v, w in zip(vals, widths, strict=True)).rstrip()  # noqa: E731
    out = [line(list(headers)), line(["-" * w for w in widths])]
    out += [line(r) for r in cells]
    return "\n".join(out)
