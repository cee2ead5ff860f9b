"""``distributor editions``: see, shape, approve, schedule, cancel and send editions.

Every command calls one function of :mod:`distributor.service.editions`; ``--json``
prints what the JSON API answers (:func:`distributor.service.editions.describe`).
A change takes ``--if-version N`` to refuse it when someone changed the edition since
you looked (optimistic versioning); without it the current version is used.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from distributor.cli import tables
from distributor.cli.common import (
    EXIT_ERROR,
    EXIT_PARTIAL,
    CliState,
    change_options,
    errors_as_one_line,
    json_option,
    print_json,
    print_listing,
    print_table,
    write_message,
)
from distributor.cli.terminal import SafeConsole
from distributor.errors import EditionError
from distributor.models import PlannedEdition, PlanState
from distributor.service import Context
from distributor.service import editions as service
from distributor.text_safety import terminal_json, visible


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def _context(state: CliState) -> Iterator[Context]:
    with errors_as_one_line(state), Context.open(state.settings(), clock=state.clock) as ctx:
        yield ctx


def _version(ctx: Context, edition_id: int, given: int | None) -> int:
    return given if given is not None else service.get(ctx, edition_id).version


def _echo_edition(ctx: Context, edition: PlannedEdition, as_json: bool, verb: str = "") -> None:
    data = service.describe(ctx, edition)
    if as_json:
        print_json(data)
        return
    if verb:
        click.echo(f"edition {edition.id} ({edition.list_name}/{edition.key}) {verb}")
    click.echo(
        f"id {data['id']}  {data['list']}/{data['key']}  {data['kind']}  {data['state']}  "
        f"v{data['version']}"
    )
    when = data["send_at_local"] or "no time set"
    click.echo(f"  send at: {when} ({data['timezone']}); approval: {data['approval']}")
    click.echo(f"  recipients: {data['recipients']}")
    if data["reason"]:
        click.echo(f"  note: {data['reason']}")
    for v in data["variants"]:
        seg = f" [{v['segment']}]" if v["segment"] else ""
        click.echo(f"  {v['language']}{seg}: {v['readers']} readers")
        for n, s in enumerate(v["stories"], 1):
            click.echo(f"    {n}. {visible(s['title'])}  ({s['id']})")
    for lang, text in data["intros"].items():
        click.echo(f"  intro ({lang}): {text.splitlines()[0] if text else ''}")
    for lang, subject in data["subjects"].items():
        click.echo(f"  subject ({lang}): {visible(subject)}")


def _console() -> Console:
    return tables.console()  # piped output is not cut


@click.group()
def editions() -> None:
    """Editions: draft, shape, approve, schedule, cancel, send; their history."""


@editions.command("list")
@click.option("--list", "list_name", metavar="NAME", help="Only this list.")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice([str(s) for s in PlanState]),
    help="Only editions in this state (repeatable).",
)
@click.option("--limit", default=50, show_default=True)
@json_option()
@click.pass_obj
def editions_list(
    state: CliState, list_name: str | None, states: tuple[str, ...], limit: int, as_json: bool
) -> None:
    """Editions, newest first: state, time, recipients; and each list's next slot."""
    with _context(state) as ctx:
        found = service.listing(
            ctx,
            list_name=list_name,
            states=[PlanState(s) for s in states] or None,
            limit=limit,
        )
        rows = [service.describe(ctx, e) for e in found]
        slots = {
            name: service.next_slot(ctx, name)
            for name in ctx.settings.lists
            if list_name in (None, name)
        }
    if as_json:
        next_slots = {n: t.isoformat() if t else None for n, t in slots.items()}
        print_json({"editions": rows, "next_slots": next_slots})
        return
    console = _console()
    print_table(
        ("id", "list", "key", "kind", "state", "send at (list zone)", "to", "v"),
        (
            (
                str(r["id"]),
                r["list"],
                r["key"],
                r["kind"],
                r["state"],
                r["send_at_local"] or "",
                str(r["recipients"]),
                str(r["version"]),
            )
            for r in rows
        ),
        title="editions",
        console=console,
    )
    for name, t in slots.items():
        console.print(f"next slot of {name}: {t.isoformat() if t else 'local time'}", markup=False)


@editions.command("show")
@click.argument("edition_id", type=int)
@click.option("--changes", "with_changes", is_flag=True, help="Also every recorded change.")
@json_option()
@click.pass_obj
def editions_show(state: CliState, edition_id: int, with_changes: bool, as_json: bool) -> None:
    """One edition: its variants, stories, intro and subjects (and its change log)."""
    with _context(state) as ctx:
        edition = service.get(ctx, edition_id)
        log = service.changes(ctx, edition_id) if with_changes else []
        if as_json:
            data = service.describe(ctx, edition)
            if with_changes:
                data["changes"] = [
                    {"at": c.at.isoformat(), "who": c.who, "action": c.action, "detail": c.detail}
                    for c in log
                ]
            print_json(data)
            return
        _echo_edition(ctx, edition, False)
        for c in log:
            click.echo(
                f"  {c.at.isoformat()} {c.who} {c.action} {terminal_json(c.detail, indent=None)}"
            )


@editions.command("draft")
@click.option("--list", "list_name", required=True, metavar="NAME")
@click.option(
    "--story",
    "story_ids",
    multiple=True,
    metavar="ID",
    help="A one-off edition (breaking news) of these stories instead of the next regular one.",
)
@click.option("--fetch", is_flag=True, help="Read the sources first.")
@click.option("--social", is_flag=True, help="One-off: also post its stories when sent.")
@json_option()
@click.pass_obj
def editions_draft(
    state: CliState,
    list_name: str,
    story_ids: tuple[str, ...],
    fetch: bool,
    social: bool,
    as_json: bool,
) -> None:
    """Draft the list's next edition from what selection picks now (or a one-off)."""
    with _context(state) as ctx:
        if story_ids:
            made = service.one_off(ctx, list_name, story_ids, by=_who(), social=social)
        else:
            made = service.draft(ctx, list_name, by=_who(), fetch=fetch)
        _echo_edition(ctx, made, as_json, "drafted")


@editions.command("edit")
@click.argument("edition_id", type=int)
@click.option("--order", metavar="ID,ID,...", help="The stories in this order (any translation).")
@click.option("--add", "add", multiple=True, metavar="ID", help="Add a story (repeatable).")
@click.option("--remove", "remove", multiple=True, metavar="ID", help="Remove a story.")
@click.option("--pin", "pin", multiple=True, metavar="ID", help="Put a story first.")
@click.option(
    "--intro",
    "intros",
    multiple=True,
    metavar="LANG=MARKDOWN",
    help="The intro of a language ('LANG=' removes it).",
)
@click.option(
    "--intro-file",
    "intro_files",
    multiple=True,
    metavar="LANG=PATH",
    help="The intro of a language, from a Markdown file.",
)
@click.option("--subject", "subjects", multiple=True, metavar="LANG=TEXT", help="A subject.")
@click.option(
    "--intro-fallback/--no-intro-fallback",
    default=None,
    help="Languages without an intro get the list's default language's.",
)
@change_options()
@click.pass_obj
def editions_edit(
    state: CliState,
    edition_id: int,
    order: str | None,
    add: tuple[str, ...],
    remove: tuple[str, ...],
    pin: tuple[str, ...],
    intros: tuple[str, ...],
    intro_files: tuple[str, ...],
    subjects: tuple[str, ...],
    intro_fallback: bool | None,
    version: int | None,
    as_json: bool,
) -> None:
    """Shape an edition; an approved or scheduled one goes back to draft."""
    intro_map = _pairs(intros, "--intro")
    for lang, path in _pairs(intro_files, "--intro-file").items():
        try:
            intro_map[lang] = Path(path).read_text(encoding="utf-8")
        except OSError as err:
            raise click.BadParameter(f"{path}: {err.strerror}", param_hint="--intro-file") from err
    changes = service.Changes(
        order=[i.strip() for i in order.split(",") if i.strip()] if order else None,
        add=add,
        remove=remove,
        pin=pin,
        intros=intro_map or None,
        subjects=_pairs(subjects, "--subject") or None,
        intro_fallback=intro_fallback,
    )
    with _context(state) as ctx:
        edited = service.update(
            ctx,
            edition_id,
            version=_version(ctx, edition_id, version),
            changes=changes,
            by=_who(),
        )
        _echo_edition(ctx, edited, as_json, "saved")


def _pairs(values: tuple[str, ...], option: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for value in values:
        lang, sep, text = value.partition("=")
        if not sep or not lang.strip():
            raise click.BadParameter(f"{value!r}: expected LANG=VALUE", param_hint=option)
        out[lang.strip()] = text
    return out


@editions.command("approve")
@click.argument("edition_id", type=int)
@change_options()
@click.pass_obj
def editions_approve(state: CliState, edition_id: int, version: int | None, as_json: bool) -> None:
    """Approve an edition for its slot."""
    with _context(state) as ctx:
        done = service.approve(
            ctx, edition_id, version=_version(ctx, edition_id, version), by=_who()
        )
        _echo_edition(ctx, done, as_json, "approved")


@editions.command("schedule")
@click.argument("edition_id", type=int)
@click.option(
    "--at",
    "at",
    required=True,
    metavar="TIME",
    help="ISO 8601 with its offset (2026-12-01T14:00+01:00), or HH:MM today in the list's zone.",
)
@change_options()
@click.pass_obj
def editions_schedule(
    state: CliState, edition_id: int, at: str, version: int | None, as_json: bool
) -> None:
    """Schedule (and so approve) an edition for a time."""
    with _context(state) as ctx:
        edition = service.get(ctx, edition_id)
        when = service.parse_time(ctx, edition.list_name, at)
        done = service.schedule(
            ctx, edition_id, version=_version(ctx, edition_id, version), send_at=when, by=_who()
        )
        _echo_edition(ctx, done, as_json, "scheduled")


@editions.command("cancel")
@click.argument("edition_id", type=int)
@click.option("--reason", default="", help="Why (kept with the edition).")
@change_options()
@click.pass_obj
def editions_cancel(
    state: CliState, edition_id: int, reason: str, version: int | None, as_json: bool
) -> None:
    """Cancel an edition before it starts."""
    with _context(state) as ctx:
        done = service.cancel(
            ctx, edition_id, version=_version(ctx, edition_id, version), by=_who(), reason=reason
        )
        _echo_edition(ctx, done, as_json, "cancelled")


@editions.command("send")
@click.argument("edition_id", type=int)
@click.option("--social", is_flag=True, help="Also post its stories to the social channels.")
@click.option("--yes", is_flag=True, help="Do not ask; say what goes to how many and send.")
@change_options("Print the run report as JSON.")
@click.pass_obj
def editions_send(
    state: CliState,
    edition_id: int,
    social: bool,
    yes: bool,
    version: int | None,
    as_json: bool,
) -> None:
    """Send an edition now (approving it), after a confirm that says to how many."""
    from distributor.cli.app import print_report

    with _context(state) as ctx:
        edition = service.get(ctx, edition_id)
        if edition.recipients == 0:
            raise EditionError(f"edition {edition_id} has no recipients: nothing to send")
        if not yes:
            langs = ", ".join(f"{v.language} {v.readers}" for v in edition.variants)
            question = (
                f"send edition {edition.list_name}/{edition.key} to {edition.recipients} "
                f"readers ({langs}){' and post it' if social else ''}?"
            )
            if not sys.stdin.isatty() or not click.confirm(question, err=True):
                click.echo("distributor: error: not sent (confirm, or pass --yes)", err=True)
                sys.exit(EXIT_ERROR)
        outcome = service.send_now(
            ctx,
            edition_id,
            version=_version(ctx, edition_id, version),
            by=_who(),
            social=social,
        )
        if as_json:
            data: dict[str, Any] = service.describe(ctx, outcome.edition)
            data["report"] = outcome.report.to_dict()
            print_json(data)
        else:
            print_report(outcome.report, SafeConsole())
            click.echo(f"edition {edition_id}: {outcome.edition.state}")
    if not outcome.report.ok:
        sys.exit(EXIT_PARTIAL)


@editions.command("preview")
@click.argument("edition_id", type=int)
@click.option("--lang", "language", metavar="xx", help="The variant's language.")
@click.option("--segment", default="", help="The variant's reader segment.")
@click.option("--subscriber", "email", metavar="EMAIL", help="Render for this subscriber.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.html|FILE.eml",
    help="Write the HTML part or the whole message here.",
)
@json_option("Describe the preview as JSON.")
@click.pass_obj
def editions_preview(
    state: CliState,
    edition_id: int,
    language: str | None,
    segment: str,
    email: str | None,
    out: Path | None,
    as_json: bool,
) -> None:
    """Render a variant exactly as it will be sent (nothing is sent or recorded)."""
    with _context(state) as ctx:
        shown = service.preview(ctx, edition_id, language=language, segment=segment, email=email)
        if out is not None:
            write_message(shown.message, out)
    info = {
        "edition": edition_id,
        "language": shown.variant.language,
        "segment": shown.variant.segment,
        "recipient": shown.message.recipient,
        "subject": shown.message.subject,
        "stories": [s.id for s in shown.stories],
        "path": str(out) if out else None,
    }
    if as_json:
        print_json(info)
    else:
        click.echo(f"subject: {visible(str(info['subject']))}")
        for n, s in enumerate(shown.stories, 1):
            click.echo(f"  {n}. {visible(s.title)}")
        if out:
            click.echo(str(out))


@editions.command("test")
@click.argument("edition_id", type=int)
@click.option("--to", "addresses", multiple=True, metavar="ADDRESS", help="Default: the desk.")
@click.option("--lang", "language", metavar="xx", help="The variant's language.")
@click.option("--segment", default="", help="The variant's reader segment.")
@json_option()
@click.pass_obj
def editions_test(
    state: CliState,
    edition_id: int,
    addresses: tuple[str, ...],
    language: str | None,
    segment: str,
    as_json: bool,
) -> None:
    """Send a [TEST] copy to the desk (or --to); never in the ledger."""
    with _context(state) as ctx:
        outcome = service.test_send(
            ctx, edition_id, addresses=addresses, language=language, segment=segment, by=_who()
        )
    rows = [
        {"to": to, "state": str(r.state), "error": r.error, "provider_id": r.provider_id}
        for to, r in zip(outcome.addresses, outcome.results, strict=True)
    ]
    if as_json:
        print_json({"language": outcome.language, "results": rows})
    else:
        for row in rows:
            click.echo(
                f"{row['state']}: test of edition {edition_id} [{outcome.language}] to {row['to']}"
            )
            if row["error"]:
                click.echo(f"  {visible(row['error'])}")
    if not outcome.ok:
        sys.exit(EXIT_ERROR)


@editions.command("history")
@click.option("--list", "list_name", metavar="NAME", help="Only this list.")
@click.option("--limit", default=50, show_default=True)
@json_option()
@click.pass_obj
def editions_history(state: CliState, list_name: str | None, limit: int, as_json: bool) -> None:
    """Sent variants, newest first, with sent/failed/unknown/bounced/complained/unsubscribed."""
    with _context(state) as ctx:
        rows = service.history(ctx, list_name=list_name, limit=limit)
    cols = ["id", "list", "key", "language", "recipients", "sent", "failed", "unknown"]
    cols += ["pending", "bounced", "complained", "unsubscribed"]
    print_listing(
        as_json,
        rows,
        cols,
        ([str(r[c]) for c in cols] for r in rows),
        title="sent editions",
    )


@editions.command("figures")
@click.argument("variant_id", type=int)
@json_option()
@click.pass_obj
def editions_figures(state: CliState, variant_id: int, as_json: bool) -> None:
    """One sent variant (an id of `editions history`): its figures and its stories."""
    with _context(state) as ctx:
        out = service.figures(ctx, variant_id)
    if as_json:
        print_json(out)
        return
    for k, v in out.items():
        if k != "stories_list":
            click.echo(f"{k}: {v}")
    for i, s in enumerate(out["stories_list"], 1):
        click.echo(f"  {i}. {visible(s['title'])}")
