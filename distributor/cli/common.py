"""Shared pieces of the CLI: state, one-line errors, progress bars, the pipeline context,
listings (``--json`` or a table that fits the terminal)."""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
from rich.console import Console, RenderableType
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from distributor.cli import tables
from distributor.clock import Clock, system_clock
from distributor.config import Settings, load_settings
from distributor.errors import DistributorError
from distributor.models import Message
from distributor.redact import Redactor, settings_redactor
from distributor.service import Context
from distributor.service import Progress as PipelineProgress
from distributor.text_safety import terminal_json, visible

EXIT_ERROR, EXIT_PARTIAL = 1, 3


@dataclass
class CliState:
    config: str | None
    debug: bool
    clock: Clock = system_clock  # taken once by `main` from the environment (clock.process_clock)
    #: masks the configuration's secrets in everything the command prints or logs
    redactor: Redactor = field(default_factory=Redactor)

    def settings(self) -> Settings:
        settings = load_settings(self.config)
        self.redactor = settings_redactor(settings)
        _redact_logs(self.redactor)
        return settings


def _redact_logs(redactor: Redactor) -> None:
    """Every log record of this process (``--debug`` shows urllib3's request lines,
    which hold a webhook's path) is written with the secrets masked."""
    previous = logging.getLogRecordFactory()
    if getattr(previous, "redactor", None) is not None:
        previous = previous.wrapped  # type: ignore[attr-defined]

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if redactor:
            message = record.getMessage()
            clean = redactor(message)
            if clean != message:
                record.msg, record.args = clean, None
        return record

    factory.redactor = redactor  # type: ignore[attr-defined]
    factory.wrapped = previous  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


class RichProgress(PipelineProgress):
    """Progress bars on stderr, only when stderr is a terminal."""

    def __init__(self, console: Console) -> None:
        self.bars = Progress(
            TextColumn("{task.description:>8}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )
        self.tasks: dict[str, TaskID] = {}

    def start(self, label: str, total: int) -> None:
        if label in self.tasks:
            self.bars.update(self.tasks[label], total=total, completed=0)
        else:
            self.tasks[label] = self.bars.add_task(label, total=total)

    def advance(self, label: str, steps: int = 1) -> None:
        if label in self.tasks:
            self.bars.advance(self.tasks[label], steps)


def fail(message: str, code: int = EXIT_ERROR) -> None:
    """One line on stderr: control characters in ``message`` (a feed title's ESC) are
    written as escapes, so the line stays one line and the terminal interprets nothing."""
    click.echo(f"distributor: error: {visible(message)}", err=True)
    sys.exit(code)


@contextmanager
def errors_as_one_line(state: CliState | bool) -> Iterator[None]:
    """One-line errors (``--debug``: the traceback), with every secret masked."""
    debug = state if isinstance(state, bool) else state.debug

    def redact(text: str) -> str:  # the settings (and their secrets) load inside the block
        return text if isinstance(state, bool) else state.redactor(text)

    try:
        yield
    except DistributorError as err:
        if debug:
            _traceback(redact)
        fail(redact(str(err)))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as err:
        if debug:
            _traceback(redact)
        fail(
            redact(f"unexpected {type(err).__name__}: {err}")
            + " (run with --debug for the traceback)"
        )


def _traceback(redact: Callable[[str], str]) -> None:
    """The current exception's traceback on stderr, secrets masked (a requests error in
    the chain names the URL, which for a webhook is the credential); exit 1."""
    click.echo(redact(traceback.format_exc()), err=True, nl=False)
    sys.exit(EXIT_ERROR)


def open_context(
    settings: Settings, progress: PipelineProgress | None = None, *, clock: Clock = system_clock
) -> AbstractContextManager[Context]:
    """The service's context for one command (:meth:`Context.open`) on the command's clock."""
    return Context.open(settings, progress=progress, clock=clock)


def json_option(help: str = "Print JSON.") -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--json`` (as ``as_json``): every listing and report takes it."""
    return click.option("--json", "as_json", is_flag=True, help=help)


def print_json(data: Any) -> None:
    """``--json`` output: ``data`` indented by two (``text_safety.terminal_json``)."""
    click.echo(terminal_json(data))


def print_json_line(data: Any) -> None:
    """One JSON object on one line (``terminal_json``): a command's one-line report."""
    click.echo(terminal_json(data, indent=None))


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[RenderableType]],
    *,
    title: str | None = None,
    console: Console | None = None,
) -> None:
    """A table with bold headers that fits the terminal (:func:`tables.fit`), printed on
    ``console`` (default: a listing's console, :func:`tables.console`)."""
    table = Table(title=title, header_style="bold")
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*row)
    (console or tables.console()).print(tables.fit(table))


def print_listing(
    as_json: bool,
    data: Any,
    columns: Sequence[str],
    rows: Iterable[Sequence[RenderableType]],
    *,
    title: str | None = None,
) -> None:
    """A listing: ``data`` as JSON with ``--json`` (:func:`print_json`), else ``rows`` under
    ``columns`` as a table (:func:`print_table`)."""
    if as_json:
        print_json(data)
    else:
        print_table(columns, rows, title=title)


def change_options(
    json_help: str = "Print JSON.", *, thing: str = "edition"
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``--if-version N`` (as ``version``) and ``--json``: the options of a change (of an
    edition, or of the ``thing`` named)."""
    if_version = click.option(
        "--if-version", "version", type=int, help=f"Refuse if the {thing} changed since."
    )

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        return if_version(json_option(json_help)(command))

    return decorate


def write_message(message: Message, out: Path) -> None:
    """A rendered message to ``out``: the whole message (``.eml``) or its HTML part."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.suffix.lower() == ".eml":
        out.write_bytes(message.raw)
    else:
        out.write_text(message.html, encoding="utf-8")
