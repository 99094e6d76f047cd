"""What every `dom360db` command shares: the options --dsn, --home, --config and -D (declared once, here), the
`Context` they resolve to, progress lines and bars on stderr, and writing a result to a file or stdout."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
import psycopg

from dom360db import citus, config, sqlfiles
from dom360db.connect import connect, resolve_dsn
from dom360db.progress import Advance, Step

if TYPE_CHECKING:
    from dom360db.embedded import EmbeddedServer

_OPTIONS: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "dsn": click.option("--dsn", envvar="DATABASE_URL", show_envvar=True,
                        help="libpq connection string or URL (default: the running embedded server)."),
    "home": click.option("--home", type=click.Path(path_type=Path, file_okay=False), envvar="DOM360_HOME",
                         help="Embedded server directory (default: ./.dom360db)."),
    "config": click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
                           help="Parameter file (default: ./dom360db.toml when present)."),
    "defines": click.option("-D", "defines", multiple=True, metavar="KEY=VALUE",
                            help="Template parameter (overrides dom360db.toml). Repeatable."),
}
_NAMES = {"dsn": "dsn", "home": "home", "config": "config_path", "defines": "defines"}


def progress(msg: str) -> None:
    """One progress line or warning, on stderr (stdout carries the result)."""
    click.echo(msg, err=True)


class Context:
    """What the shared options resolve to: the target database, the embedded server's home, the parameters."""

    def __init__(self, dsn: str | None = None, home: Path | None = None, config_path: Path | None = None,
                 defines: tuple[str, ...] = (), *, load: bool = True) -> None:
        self.given_dsn, self.home = dsn, home
        self.params = config.load_params(config_path, defines) if load else dict(config.DEFAULTS)

    @property
    def dsn(self) -> str:
        """--dsn, else DATABASE_URL, else the running embedded server (one line when there is none)."""
        return resolve_dsn(self.given_dsn, self.home)

    def connect(self, application_name: str = "dom360db") -> psycopg.Connection:
        return connect(self.dsn, application_name=application_name)

    def files(self) -> list[sqlfiles.SqlFile]:
        return sqlfiles.load(self.params)

    def target_files(self) -> list[sqlfiles.SqlFile]:
        """The files rendered for the target database (`citus` from its catalog, dom360db/citus.py)."""
        self.params = citus.with_citus(self.params, self.dsn)
        return sqlfiles.load(self.params)

    def server(self) -> EmbeddedServer:
        from dom360db.embedded import EmbeddedServer  # imported late: only the embedded-server commands need it

        return EmbeddedServer(self.home, progress=progress)


def pass_context(*names: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Declare the shared options `names` (default: dsn, home, config, defines) on a command, and call it with
    one `Context` built from them as its first argument. The parameters are loaded (and checked) only when the
    command takes --config."""
    chosen = names or tuple(_OPTIONS)

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            shared = {_NAMES[n]: kwargs.pop(_NAMES[n]) for n in chosen}
            return fn(Context(**shared, load="config" in chosen), *args, **kwargs)

        command: Callable[..., Any] = run
        for name in reversed(chosen):
            command = _OPTIONS[name](command)
        return command

    return decorate


@dataclass(frozen=True)
class Bar:
    """The callbacks of a progress bar: `start(n)` sets its length, `advance(n)` and `step()` move it."""

    start: Callable[[int], None]
    advance: Advance
    step: Step


@contextmanager
def progress_bar(label: str, length: int = 0) -> Iterator[Bar]:
    """A progress bar on stderr (its length may be set later, once the work is counted)."""
    with click.progressbar(length=length, label=label, file=sys.stderr) as bar:
        yield Bar(start=lambda n: setattr(bar, "length", n), advance=bar.update, step=lambda: bar.update(1))


def write_or_echo(text: str, output: Path | None) -> None:
    """`text` to the file `output` (saying so on stderr), or to stdout as it is."""
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")
        progress(f"wrote {output}")
