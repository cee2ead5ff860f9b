"""``distributor scheduler`` and ``distributor schedule list|pause|resume``."""

from __future__ import annotations

import logging
import sys

import click

from distributor.cli.common import (
    CliState,
    errors_as_one_line,
    fail,
    open_context,
    print_json,
    print_table,
)
from distributor.cli.tables import console as table_console
from distributor.leader import current_holder
from distributor.scheduler import JobView, SchedulerProcess, job_views, set_paused


@click.command()
@click.option(
    "--owner", metavar="NAME", help="Name of this scheduler in the lease (default: host:pid)."
)
@click.pass_obj
def scheduler(state: CliState, owner: str | None) -> None:
    """Run the scheduler: every list on its schedule, sources polled, until SIGTERM/SIGINT.

    Only one scheduler fires jobs per database; a second one stands by and
    takes over if the first stops or dies.
    """
    logging.basicConfig(
        level=logging.INFO,
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    with errors_as_one_line(state):
        settings = state.settings()
        with open_context(settings, clock=state.clock) as ctx:  # the scheduler's store
            process = SchedulerProcess(settings, ctx.store, owner=owner, clock=state.clock)
            process.install_signal_handlers()
            process.serve()


@click.group()
def schedule() -> None:
    """See and steer the schedule."""


def _job_row(v: JobView) -> tuple[str, ...]:
    """A job's row of ``schedule list``."""
    schedule_text = v.schedule + (" (reader's local time)" if v.local_time else "")
    last = "-"
    if v.last_slot:
        last = f"{v.last_slot.slot_at:%Y-%m-%d %H:%M} {v.last_slot.state}"
        if v.last_slot.edition_key:
            last += f" ({v.last_slot.edition_key})"
    return (
        v.id,
        schedule_text,
        v.timezone,
        "paused" if v.paused else (f"{v.next_run_utc:%Y-%m-%d %H:%M}" if v.next_run_utc else "-"),
        "paused"
        if v.paused
        else (f"{v.next_run_local:%Y-%m-%d %H:%M %Z}" if v.next_run_local else "-"),
        last,
    )


@schedule.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print the jobs as JSON.")
@click.pass_obj
def schedule_list(state: CliState, as_json: bool) -> None:
    """Each job with its next run (UTC and the list's zone), last slot and skipped slots."""
    with errors_as_one_line(state):
        settings = state.settings()
        with open_context(settings, clock=state.clock) as ctx:
            views = job_views(settings, ctx.store, state.clock())
            holder = current_holder(ctx.store)
    if as_json:
        data = {
            "jobs": [v.to_dict() for v in views],
            "lease": {
                "owner": holder.owner,
                "mechanism": holder.mechanism,
                "expires_at": holder.expires_at.isoformat() if holder.expires_at else None,
            }
            if holder
            else None,
        }
        print_json(data)
        return
    console = table_console()
    print_table(
        ("job", "schedule", "zone", "next run (UTC)", "next run (local)", "last slot"),
        (_job_row(v) for v in views),
        title="schedule",
        console=console,
    )
    for v in views:
        for slot in v.skipped:
            console.print(
                f"skipped: {v.list_name} {slot.slot_at:%Y-%m-%d %H:%M} UTC: {slot.reason}",
                markup=False,
                style="yellow",
            )
    if not any(v.synced for v in views):
        console.print("note: the scheduler has not run with this configuration yet", markup=False)
    if holder and holder.expires_at:
        console.print(
            f"lease: {holder.owner} until {holder.expires_at:%Y-%m-%d %H:%M:%S} UTC", markup=False
        )
    elif holder:
        console.print(f"leader: {holder.owner} (PostgreSQL {holder.mechanism})", markup=False)


def _pause_or_resume(state: CliState, list_name: str, paused: bool) -> None:
    with errors_as_one_line(state):
        settings = state.settings()
        if list_name not in settings.lists:
            fail(f"no list named {list_name!r} (known: {', '.join(sorted(settings.lists))})")
        with open_context(settings, clock=state.clock) as ctx:
            set_paused(settings, ctx.store, list_name, paused, state.clock())
    click.echo(f"list {list_name}: {'paused' if paused else 'resumed'}")


@schedule.command("pause")
@click.argument("list_name", metavar="LIST")
@click.pass_obj
def schedule_pause(state: CliState, list_name: str) -> None:
    """Stop a list's scheduled editions until `schedule resume`."""
    _pause_or_resume(state, list_name, True)


@schedule.command("resume")
@click.argument("list_name", metavar="LIST")
@click.pass_obj
def schedule_resume(state: CliState, list_name: str) -> None:
    """Resume a paused list from its next slot (missed slots are not sent)."""
    _pause_or_resume(state, list_name, False)
