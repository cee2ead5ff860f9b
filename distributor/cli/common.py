"""Shared pieces of the CLI: state, one-line errors, progress bars, the pipeline context."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import click
import requests
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

from distributor.clock import Clock, system_clock
from distributor.config import Settings, load_settings
from distributor.errors import DistributorError
from distributor.pipeline import Context
from distributor.pipeline import Progress as PipelineProgress
from distributor.sources.base import USER_AGENT
from distributor.store import Store

EXIT_ERROR, EXIT_PARTIAL = 1, 3


@dataclass
class CliState:
    config: str | None
    debug: bool
    clock: Clock = system_clock  # taken once by `main` from the environment (clock.process_clock)

    def settings(self) -> Settings:
        return load_settings(self.config)


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
    click.echo(f"distributor: error: {message}", err=True)
    sys.exit(code)


@contextmanager
def errors_as_one_line(debug: bool) -> Iterator[None]:
    try:
        yield
    except DistributorError as err:
        if debug:
            raise
        fail(str(err))
    except KeyboardInterrupt:
        fail("interrupted", 130)
    except Exception as err:
        if debug:
            raise
        fail(f"unexpected {type(err).__name__}: {err} (run with --debug for the traceback)")


@contextmanager
def open_context(
    settings: Settings, progress: PipelineProgress | None = None, *, clock: Clock = system_clock
) -> Iterator[Context]:
    store = Store.open(settings.database_url, upgrade=settings.database_auto_upgrade)
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    ctx = Context(
        settings=settings,
        store=store,
        session=session,
        clock=clock,
        progress=progress or PipelineProgress(),
    )
    try:
        yield ctx
    finally:
        ctx.close()
        session.close()
        store.close()
