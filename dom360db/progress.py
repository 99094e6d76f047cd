"""The callbacks through which long operations report (the CLI passes its progress lines and bars)."""

from __future__ import annotations

from collections.abc import Callable

#: One line of progress or a warning.
Progress = Callable[[str], None]
#: One step done.
Step = Callable[[], None]
#: `n` more units (rows, bytes) done.
Advance = Callable[[int], None]
