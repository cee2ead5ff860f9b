"""``distributor send --list NAME --now``: an edition now, outside the schedule.

The digest area (issue 4) adds ``send --list NAME --test-to ADDRESS``; the two
are to be folded into one ``send`` command.
"""

from __future__ import annotations

import json
import sys

import click
from rich.console import Console

from distributor.cli.app import print_report
from distributor.cli.common import (
    EXIT_PARTIAL,
    CliState,
    RichProgress,
    errors_as_one_line,
    fail,
    open_context,
)
from distributor.scheduler import send_now


@click.command()
@click.option("--list", "list_name", required=True, metavar="NAME", help="The list to send.")
@click.option("--now", is_flag=True, help="Make and send the list's edition now.")
@click.option("--json", "as_json", is_flag=True, help="Print the run report as JSON on stdout.")
@click.pass_obj
def send(state: CliState, list_name: str, now: bool, as_json: bool) -> None:
    """Send a list's edition now, outside its schedule (recorded like a slot)."""
    if not now:
        fail("say when: --now", 2)
    err_console = Console(stderr=True)
    with errors_as_one_line(state.debug):
        settings = state.settings()
        progress = RichProgress(err_console)
        with progress.bars, open_context(settings, progress) as ctx:
            slot, report = send_now(ctx, list_name)
    if as_json:
        data = report.to_dict()
        data["edition_key"] = slot.edition_key
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        print_report(report, Console())
        click.echo(f"edition {list_name}/{slot.edition_key}")
    if not report.ok:
        sys.exit(EXIT_PARTIAL)
