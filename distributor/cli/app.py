"""The main command group, ``distributor run`` and ``distributor config check``."""

from __future__ import annotations

import os
import sys

import click
from rich.console import Console
from rich.table import Table

from distributor import __version__
from distributor.cli.common import (
    EXIT_PARTIAL,
    CliState,
    RichProgress,
    errors_as_one_line,
    open_context,
    print_json,
)
from distributor.cli.tables import fit
from distributor.cli.terminal import SafeConsole
from distributor.clock import process_clock
from distributor.report import RunReport
from distributor.service.checks import check_catalogs
from distributor.service.daily import run as run_pipeline
from distributor.service.site import config_warnings
from distributor.service.workers import wait_for_workers


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    metavar="PATH",
    envvar="DISTRIBUTOR_CONFIG",
    help="Configuration file (default: config/distributor.toml).",
)
@click.option("--debug", is_flag=True, help="Show tracebacks instead of one-line errors.")
@click.version_option(__version__, prog_name="distributor")
@click.pass_context
def main(ctx: click.Context, config: str | None, debug: bool) -> None:
    """distributor: gets a newsroom's stories to its readers."""
    with errors_as_one_line(debug):
        clock = process_clock(os.environ)  # the system's, or pinned by a test
    ctx.obj = CliState(config=config, debug=debug, clock=clock)


@main.command()
@click.option(
    "--list",
    "list_names",
    multiple=True,
    metavar="NAME",
    help="Only this list (repeatable). Default: every list.",
)
@click.option("--dry-run", is_flag=True, help="Select and render, deliver and record nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON on stdout.")
@click.option(
    "--wait",
    is_flag=True,
    help="With [queue]: wait until the workers have sent the run's editions, then report "
    "from the ledger.",
)
@click.option(
    "--timeout", type=float, default=None, metavar="SECONDS", help="Give up waiting after this."
)
@click.pass_obj
def run(
    state: CliState,
    list_names: tuple[str, ...],
    dry_run: bool,
    as_json: bool,
    wait: bool,
    timeout: float | None,
) -> None:
    """Run the daily job: fetch, select, render, share, deliver, record."""
    err_console = SafeConsole(stderr=True)
    with errors_as_one_line(state):
        settings = state.settings()
        progress = RichProgress(err_console)
        with progress.bars, open_context(settings, progress, clock=state.clock) as ctx:
            report = run_pipeline(ctx, list_names=list_names or None, dry_run=dry_run)
            if wait and settings.queue is not None and not dry_run:
                wait_for_workers(ctx, report, timeout)
    report.redact(state.redactor)
    if as_json:
        print_json(report.to_dict())
    else:
        print_report(report, SafeConsole())
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
    with errors_as_one_line(state):
        settings = state.settings()
        check_catalogs()  # issue 15: a broken .po file is named with its line
    summary = {
        "config": str(settings.config_path),
        "data_dir": str(settings.data_dir),
        "database": settings.database_url.split("://")[0],
        "sources": sorted(settings.sources),
        "lists": sorted(settings.lists),
        "mail": {n: c.provider for n, c in settings.mail.items()},
        "social": {n: c.provider for n, c in settings.social.items() if c.enabled},
        "warnings": config_warnings(settings),
    }
    if as_json:
        print_json(summary)
    else:
        click.echo(f"configuration OK: {summary['config']}")
        for key in ("data_dir", "database", "sources", "lists", "mail", "social"):
            click.echo(f"  {key}: {summary[key]}")
        for warning in summary["warnings"]:
            click.echo(f"warning: {warning}", err=True)


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
    if report.tasks_enqueued:
        table.add_row("batch tasks enqueued", str(report.tasks_enqueued))
    table.add_row("posts sent", str(report.posts.sent))
    table.add_row("posts failed", str(report.posts.failed))
    table.add_row("cards made", f"{report.cards_made} (+{report.cards_cached} cached)")
    console.print(fit(table))
    if report.sources:
        src = Table(title="sources", header_style="bold")
        for col in ("source", "fetched", "new", "updated", "problems", "error"):
            src.add_column(col)
        for s in report.sources:
            status = s.error or ("not modified (304)" if s.not_modified else "")
            src.add_row(
                s.name, str(s.fetched), str(s.new), str(s.updated), str(len(s.problems)), status
            )
        console.print(fit(src))
    if report.editions:
        eds = Table(title="editions", header_style="bold")
        eds.add_column("list", no_wrap=True)
        eds.add_column("edition", no_wrap=True)
        eds.add_column("lang", no_wrap=True)
        for col in ("stories", "to", "sent", "failed", "unknown", "pending"):
            eds.add_column(col, justify="right")
        for e in report.editions:
            eds.add_row(
                e.list,
                e.key + (" (resumed)" if e.resumed else ""),
                e.language + (f" ({e.segment})" if e.segment else ""),
                str(e.stories),
                str(e.recipients),
                str(e.sent),
                str(e.failed),
                str(e.unknown),
                str(e.pending),
            )
        console.print(fit(eds))
    for note in report.notes:
        console.print(f"note: {note}", markup=False)
    for problem in report.warnings:
        console.print(
            f"warning: [{problem.stage}] {problem.subject}: {problem.cause}",
            markup=False,
            style="yellow",
        )
    for problem in report.errors:
        console.print(
            f"error: [{problem.stage}] {problem.subject}: {problem.cause}",
            markup=False,
            style="red",
        )
