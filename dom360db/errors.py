"""The one exception type the CLI turns into a single line and a non-zero exit."""

from __future__ import annotations


class Dom360Error(Exception):
    """An expected failure: bad input, unreachable server, refused migration.

    The message is shown to a person as one line; keep it actionable.
    """

    exit_code: int = 1
