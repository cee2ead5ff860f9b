"""``distributor posts``: the social queue (issue 18): list, show, edit, approve,
schedule, move, post now, cancel; and the calendar.

Every command calls one function of :mod:`distributor.service.posts`; ``--json``
prints what the JSON API answers (:func:`distributor.service.posts.describe`).  A
change takes ``--if-version N`` to refuse it when someone changed the post since you
looked; without it the current version is used.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import click
import regex

from distributor.cli.common import (
    EXIT_PARTIAL,
    CliState,
    change_options,
    errors_as_one_line,
    print_json,
)
from distributor.errors import ConfigError
from distributor.models import PostState, QueuedPost
from distributor.service import Context
from distributor.service import calendar as calendar_service
from distributor.service import posts as service

#: control characters (but the newline) and bidi controls are shown escaped, never obeyed
_UNSAFE = regex.compile(r"[\p{Cc}\u200e\u200f\u202a-\u202e\u2066-\u2069](?<!\n)")


def shown(text: str) -> str:
    """``text`` safe for a terminal: control characters as ``\\xNN`` escapes."""
    return str(_UNSAFE.sub(lambda m: m.group(0).encode("unicode_escape").decode(), text))


def _who() -> str:
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return "cli"


@contextmanager
def _context(state: CliState) -> Iterator[Context]:
    with errors_as_one_line(state), Context.open(state.settings(), clock=state.clock) as ctx:
        yield ctx


def _version(ctx: Context, post_id: int, given: int | None) -> int:
    return given if given is not None else service.get(ctx, post_id).version


def _echo(ctx: Context, post: QueuedPost, as_json: bool, verb: str = "") -> None:
    data = service.describe(ctx, post)
    if as_json:
        print_json(data)
        return
    if verb:
        click.echo(f"post {post.id} ({post.channel}, {post.language}) {verb}")
    click.echo(
        f"id {data['id']}  {data['channel']} ({data['network']})  {data['language']}  "
        f"{data['state']}  v{data['version']}  text v{data['text_version']}"
    )
    click.echo(f"  story: {shown(data['title'] or '')}  ({shown(data['story'])})")
    click.echo(f"  at: {data['at_local'] or 'no time set'} ({data['timezone']})")
    for key in ("reason", "error"):
        if data[key]:
            click.echo(f"  {key}: {shown(data[key])}")
    if data["counts"]:
        c = data["counts"]
        click.echo(
            f"  counts: {c['likes']} likes, {c['reposts']} reposts, {c['replies']} replies "
            f"(read {c['fetched_at']})"
        )
    click.echo("\n".join("  │ " + shown(line) for line in post.text.split("\n")))


@click.group()
def posts() -> None:
    """The social queue: review, edit, schedule every post before it goes."""


@posts.command("list")
@click.option("--channel", metavar="NAME", help="Only this channel.")
@click.option(
    "--state",
    "states",
    multiple=True,
    type=click.Choice([str(s) for s in PostState]),
    help="Only posts in this state (repeatable).",
)
@click.option("--limit", default=200, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def posts_list(
    state: CliState, channel: str | None, states: tuple[str, ...], limit: int, as_json: bool
) -> None:
    """Posts by time: state, channel, language, when, the story."""
    with _context(state) as ctx:
        found = service.listing(
            ctx, channel=channel, states=[PostState(s) for s in states] or None, limit=limit
        )
        rows = [service.describe(ctx, p) for p in found]
    if as_json:
        print_json(rows)
        return
    if not rows:
        click.echo("no posts")
    for r in rows:
        when = (r["at_local"] or "-")[:16]
        click.echo(
            f"{r['id']:>5}  {r['state']:9}  {r['channel']:12}  {r['language']:5}  {when:16}  "
            f"{shown(r['title'] or r['story'])[:60]}"
        )


@posts.command("show")
@click.argument("post_id", type=int)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def posts_show(state: CliState, post_id: int, as_json: bool) -> None:
    """One post: its text as the network gets it, its time, its versions."""
    with _context(state) as ctx:
        post = service.get(ctx, post_id)
        check = service.check_text(ctx, post.channel, post.text)
        history = service.changes(ctx, post_id)
        if as_json:
            data = service.describe(ctx, post)
            data["count"] = check.to_dict()
            data["changes"] = [
                {
                    "at": c.at.isoformat(),
                    "who": c.who,
                    "action": c.action,
                    "text_version": c.text_version,
                    "text": c.text,
                }
                for c in history
            ]
            print_json(data)
            return
        _echo(ctx, post, as_json=False)
    v = check.view
    click.echo(f"  counted: {v.length}/{v.limit} {v.unit}" + ("" if check.ok else " · REFUSED"))
    for c in history:
        text = f": {shown(c.text)[:60]}" if c.text else ""
        click.echo(
            f"  {c.at.isoformat()}  {shown(c.who)}  {c.action} (text v{c.text_version}){text}"
        )


@posts.command("edit")
@click.argument("post_id", type=int)
@click.option("--text", help="The new text ('-' reads it from stdin).", required=True)
@change_options(thing="post")
@click.pass_obj
def posts_edit(
    state: CliState, post_id: int, text: str, version: int | None, as_json: bool
) -> None:
    """A new text for a post (a new version), refused over the network's limit."""
    if text == "-":
        text = sys.stdin.read().rstrip("\n")
    with _context(state) as ctx:
        post = service.edit(
            ctx, post_id, text=text, version=_version(ctx, post_id, version), by=_who()
        )
        _echo(ctx, post, as_json, "edited")


@posts.command("approve")
@click.argument("post_id", type=int)
@change_options(thing="post")
@click.pass_obj
def posts_approve(state: CliState, post_id: int, version: int | None, as_json: bool) -> None:
    """Approve a draft into the next free slot of its channel."""
    with _context(state) as ctx:
        post = service.approve(ctx, post_id, version=_version(ctx, post_id, version), by=_who())
        _echo(ctx, post, as_json, "approved")


@posts.command("schedule")
@click.argument("post_id", type=int)
@click.option(
    "--at",
    "at",
    required=True,
    help="HH:MM (next), 'YYYY-MM-DD HH:MM' in the channel's zone, or ISO 8601 with an offset.",
)
@change_options(thing="post")
@click.pass_obj
def posts_schedule(
    state: CliState, post_id: int, at: str, version: int | None, as_json: bool
) -> None:
    """Pin a post to a time (approving it)."""
    with _context(state) as ctx:
        post = service.get(ctx, post_id)
        when = service.parse_time(ctx, post.channel, at)
        post = service.schedule(
            ctx, post_id, at=when, version=_version(ctx, post_id, version), by=_who()
        )
        _echo(ctx, post, as_json, "scheduled")


@posts.command("move")
@click.argument("post_id", type=int)
@click.option(
    "--to",
    "to",
    help="A slot of the channel (HH:MM or a date and time); "
    "default: the next free slot after the post's.",
)
@change_options(thing="post")
@click.pass_obj
def posts_move(
    state: CliState, post_id: int, to: str | None, version: int | None, as_json: bool
) -> None:
    """Move a post to another slot of its queue."""
    with _context(state) as ctx:
        post = service.get(ctx, post_id)
        when = service.parse_time(ctx, post.channel, to) if to else None
        post = service.move(
            ctx, post_id, to=when, version=_version(ctx, post_id, version), by=_who()
        )
        _echo(ctx, post, as_json, "moved")


@posts.command("post-now")
@click.argument("post_id", type=int)
@change_options(thing="post")
@click.pass_obj
def posts_post_now(state: CliState, post_id: int, version: int | None, as_json: bool) -> None:
    """Post one post at once (through the ledger: never twice)."""
    with _context(state) as ctx:
        post, report = service.post_now(
            ctx, post_id, version=_version(ctx, post_id, version), by=_who()
        )
        report.redact(state.redactor)
        if as_json:
            data = service.describe(ctx, post)
            data["report"] = report.to_dict()
            print_json(data)
        else:
            _echo(ctx, post, False, "posted now" if post.state == PostState.POSTED else "tried")
            for problem in report.errors:
                click.echo(f"error: {problem.subject}: {shown(problem.cause)}", err=True)
    if post.state != PostState.POSTED:
        sys.exit(EXIT_PARTIAL)


@posts.command("cancel")
@click.argument("post_id", type=int)
@click.option("--reason", default="", help="Why (shown with the post).")
@change_options(thing="post")
@click.pass_obj
def posts_cancel(
    state: CliState, post_id: int, reason: str, version: int | None, as_json: bool
) -> None:
    """Cancel a post: it never goes."""
    with _context(state) as ctx:
        post = service.cancel(
            ctx, post_id, version=_version(ctx, post_id, version), by=_who(), reason=reason
        )
        _echo(ctx, post, as_json, "cancelled")


@posts.command("calendar")
@click.option("--tz", "tz", default="UTC", show_default=True, help="Your time zone.")
@click.option("--from", "start", help="The first day (YYYY-MM-DD; default today).")
@click.option("--days", default=7, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def posts_calendar(state: CliState, tz: str, start: str | None, days: int, as_json: bool) -> None:
    """Upcoming mail editions and posts per day and channel, in your time zone."""
    with _context(state) as ctx:
        try:
            first = date.fromisoformat(start) if start else None
        except ValueError as err:
            raise ConfigError(f"--from {start!r} is not a date (YYYY-MM-DD)") from err
        found = calendar_service.calendar(ctx, start=first, days=days, tz=tz)
    if as_json:
        print_json([d.to_dict() for d in found])
        return
    for d in found:
        click.secho(d.day.isoformat(), bold=True)
        for e in d.editions:
            click.echo(f"  {e['time']}  mail {e['list']}  {e['state']}")
        for channel, items in sorted(d.posts.items()):
            for p in items:
                click.echo(
                    f"  {p['time']}  {channel} {p['language']}  {p['state']}  "
                    f"{shown(p['title'] or p['story'])[:60]}"
                )
