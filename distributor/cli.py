"""The command line: a thin door onto the pipeline.

Every command that lists or reports takes ``--json``.  Errors go to stderr as
one line and a non-zero exit status (``--debug`` shows the traceback).

Exit status: 0 success; 1 an error stopped the command; 2 bad usage;
3 the run finished but something failed or is uncertain (see the report).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import click
import requests
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn
from rich.table import Table

from distributor import __version__
from distributor.config import Settings, load_settings
from distributor.errors import DistributorError
from distributor.pipeline import Context
from distributor.pipeline import Progress as PipelineProgress
from distributor.pipeline import run as run_pipeline
from distributor.report import RunReport
from distributor.sources.base import USER_AGENT
from distributor.store import Store

F = TypeVar("F", bound=Callable[..., Any])
EXIT_ERROR, EXIT_PARTIAL = 1, 3


@dataclass
class CliState:
    config: str | None
    debug: bool

    def settings(self) -> Settings:
        return load_settings(self.config)


class RichProgress(PipelineProgress):
    """Progress bars on stderr, only when stderr is a terminal."""

    def __init__(self, console: Console) -> None:
        self.bars = Progress(
            TextColumn("{task.description:>8}"), BarColumn(), MofNCompleteColumn(),
            console=console, transient=True, disable=not console.is_terminal,
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
    except Exception as err:  # noqa: BLE001 - the CLI contract: one line, no traceback
        if debug:
            raise
        fail(f"unexpected {type(err).__name__}: {err} (run with --debug for the traceback)")


@contextmanager
def open_context(settings: Settings, progress: PipelineProgress | None = None) -> Iterator[Context]:
    store = Store.open(settings.database_url)
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    ctx = Context(settings=settings, store=store, session=session,
                  progress=progress or PipelineProgress())
    try:
        yield ctx
    finally:
        ctx.close()
        session.close()
        store.close()


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config", metavar="PATH", envvar="DISTRIBUTOR_CONFIG",
              help="Configuration file (default: config/distributor.toml).")
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(__version__, prog_name="distributor")
@click.pass_context
def main(ctx: click.Context, config: str | None, debug: bool) -> None:
    """distributor: gets a newsroom's stories to its readers."""
    ctx.obj = CliState(config=config, debug=debug)


@main.command()
@click.option("--list", "list_names", multiple=True, metavar="NAME",
              help="Only this list (repeatable). Default: every list.")
@click.option("--dry-run", is_flag=True, help="Select and render, deliver and record nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON on stdout.")
@click.pass_obj
def run(state: CliState, list_names: tuple[str, ...], dry_run: bool, as_json: bool) -> None:
    """Run the daily job: fetch, select, render, share, deliver, record."""
    err_console = Console(stderr=True)
    with errors_as_one_line(state.debug):
        settings = state.settings()
        progress = RichProgress(err_console)
        with progress.bars, open_context(settings, progress) as ctx:
            report = run_pipeline(ctx, list_names=list_names or None, dry_run=dry_run)
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        print_report(report, Console())
    if not report.ok:
        sys.exit(EXIT_PARTIAL)


@main.group()
def config() -> None:
    """Inspect the configuration."""


@config.command("check")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def config_check(state: CliState, as_json: bool) -> None:
    """Validate the configuration and say which file was read."""
    with errors_as_one_line(state.debug):
        settings = state.settings()
    summary = {
        "config": str(settings.config_path),
        "data_dir": str(settings.data_dir),
        "database": settings.database_url.split("://")[0],
        "sources": sorted(settings.sources),
        "lists": sorted(settings.lists),
        "mail": {n: c.provider for n, c in settings.mail.items()},
        "social": {n: c.provider for n, c in settings.social.items() if c.enabled},
    }
    if as_json:
        click.echo(json.dumps(summary, indent=2))
    else:
        click.echo(f"configuration OK: {summary['config']}")
        for key in ("data_dir", "database", "sources", "lists", "mail", "social"):
            click.echo(f"  {key}: {summary[key]}")


def print_report(report: RunReport, console: Console) -> None:
    title = "distributor run" + (" (dry run)" if report.dry_run else "")
    table = Table(title=title, show_header=True, header_style="bold")
    table.add_column("what")
    table.add_column("count", justify="right")
    table.add_row("stories fetched", str(report.stories_fetched))
    table.add_row("stories selected", str(report.stories_selected))
    table.add_row("editions", str(len(report.editions)))
    table.add_row("subscribers added", str(report.subscribers_added))
    table.add_row("emails sent", str(report.emails.sent))
    table.add_row("emails failed", str(report.emails.failed))
    table.add_row("emails unknown", str(report.emails.unknown))
    table.add_row("emails skipped", str(report.emails.skipped))
    table.add_row("posts sent", str(report.posts.sent))
    table.add_row("posts failed", str(report.posts.failed))
    table.add_row("cards made", f"{report.cards_made} (+{report.cards_cached} cached)")
    console.print(table)
    if report.sources:
        src = Table(title="sources", header_style="bold")
        for col in ("source", "fetched", "new", "updated", "error"):
            src.add_column(col)
        for s in report.sources:
            src.add_row(s.name, str(s.fetched), str(s.new), str(s.updated), s.error or "")
        console.print(src)
    if report.editions:
        eds = Table(title="editions", header_style="bold")
        for col in ("list", "edition", "lang", "stories", "recipients", "sent", "failed",
                    "unknown", "pending"):
            eds.add_column(col)
        for e in report.editions:
            eds.add_row(e.list, e.key + (" (resumed)" if e.resumed else ""), e.language,
                        str(e.stories), str(e.recipients), str(e.sent), str(e.failed),
                        str(e.unknown), str(e.pending))
        console.print(eds)
    for note in report.notes:
        console.print(f"note: {note}", markup=False)
    for problem in report.warnings:
        console.print(f"warning: [{problem.stage}] {problem.subject}: {problem.cause}",
                      markup=False, style="yellow")
    for problem in report.errors:
        console.print(f"error: [{problem.stage}] {problem.subject}: {problem.cause}",
                      markup=False, style="red")


if __name__ == "__main__":  # pragma: no cover
    main()
