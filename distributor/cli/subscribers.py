"""``distributor subscribers|editions|editors|tokens``: the CLI side of the web app."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from email_validator import EmailNotValidError, validate_email
from werkzeug.security import generate_password_hash

from distributor.cli.common import (
    CliState,
    errors_as_one_line,
    fail,
    open_context,
    print_json,
    print_json_line,
    print_listing,
)
from distributor.config import Settings
from distributor.errors import ConfigError
from distributor.models import Subscriber
from distributor.service import Context, readers
from distributor.service.languages import normalize_language
from distributor.service.readers import FREQUENCIES, ROLES, SUPPRESSED
from distributor.subscribers import read_subscribers_csv

STATUSES = ("pending", "subscribed", "unsubscribed", SUPPRESSED)


@contextmanager
def _open(state: CliState) -> Iterator[tuple[Settings, Context]]:
    with errors_as_one_line(state):
        settings = state.settings()
        with open_context(settings, clock=state.clock) as ctx:
            yield settings, ctx


def _list_name(settings: Settings, name: str | None) -> str:
    if name is None:
        return next(iter(settings.lists))
    if name not in settings.lists:
        raise ConfigError(f"no list named {name!r} (known: {', '.join(sorted(settings.lists))})")
    return name


def _email(value: str) -> str:
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as err:
        raise click.BadParameter(str(err), param_hint="EMAIL") from err


# ----------------------------------------------------------------- subscribers
@click.group()
def subscribers() -> None:
    """Add, remove, list, import, export and forget subscribers."""


@subscribers.command("add")
@click.argument("email")
@click.option("--list", "list_name", metavar="NAME", help="The list (default: the first one).")
@click.option("--name", default="", help="The reader's name.")
@click.option("--language", default=None, help="Language tag (default: the newsroom's).")
@click.option("--timezone", default=None, help="IANA time zone, e.g. Europe/Paris.")
@click.option("--topic", "topics", multiple=True, help="A topic (repeatable).")
@click.option("--frequency", type=click.Choice(FREQUENCIES), default="daily", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def add(
    state: CliState,
    email: str,
    list_name: str | None,
    name: str,
    language: str | None,
    timezone: str | None,
    topics: tuple[str, ...],
    frequency: str,
    as_json: bool,
) -> None:
    """Add EMAIL as subscribed (you vouch for consent). Never re-adds a suppressed or
    unsubscribed address."""
    address = _email(email)
    with _open(state) as (settings, ctx):
        lst = _list_name(settings, list_name)
        if timezone:
            from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

            try:
                ZoneInfo(timezone)
            except (ZoneInfoNotFoundError, ValueError) as err:
                raise ConfigError(f"unknown time zone {timezone!r}") from err
        lang = normalize_language(language or settings.newsroom.default_language)
        outcome, sid = readers.add(
            ctx,
            lst,
            Subscriber(0, address, " ".join(name.split()), lang, timezone, topics),
            frequency,
        )
    if as_json:
        print_json_line({"email": address, "list": lst, "outcome": outcome, "id": sid})
    else:
        click.echo(f"{address}: {outcome} ({lst})")
    if outcome in ("suppressed", "unsubscribed"):
        sys.exit(1)


@subscribers.command("remove")
@click.argument("email")
@click.option("--list", "list_name", metavar="NAME", help="Only this list (default: every list).")
@click.pass_obj
def remove(state: CliState, email: str, list_name: str | None) -> None:
    """Unsubscribe EMAIL (the data stays; see ``forget`` to erase it)."""
    address = _email(email)
    with _open(state) as (settings, ctx):
        sub = readers.subscriber_by_email(ctx, address)
        if sub is None:
            fail(f"no subscriber {address}")
            return
        lists = [_list_name(settings, list_name)] if list_name else list(settings.lists)
        for name in lists:
            readers.unsubscribe(ctx, sub.id, name)
    click.echo(f"{address}: unsubscribed from {', '.join(lists)}")


@subscribers.command("list")
@click.option("--list", "list_name", metavar="NAME", help="Only this list.")
@click.option("--status", type=click.Choice(STATUSES), help="Only this status.")
@click.option("--search", "query", help="Part of the email or name.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def list_(
    state: CliState, list_name: str | None, status: str | None, query: str | None, as_json: bool
) -> None:
    """List subscribers with their status per list."""
    with _open(state) as (settings, ctx):
        if list_name:
            _list_name(settings, list_name)
        rows = readers.entries(ctx, list_name=list_name, status=status, query=query)
    print_listing(
        as_json,
        [r.to_dict() for r in rows],
        ["email", "name", "list", "status", "language", "frequency", "topics"],
        (
            [r.email, r.name, r.list_name, r.status, r.language, r.frequency, ";".join(r.topics)]
            for r in rows
        ),
        title=f"subscribers ({len(rows)})",
    )


@subscribers.command("import")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--list", "list_name", metavar="NAME", help="The list (default: the first one).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.pass_obj
def import_(state: CliState, path: Path, list_name: str | None, as_json: bool) -> None:
    """Import a CSV (email,name,language,timezone,topics). Every rejected row is reported
    with its reason; suppressed and unsubscribed addresses are never reactivated."""
    with _open(state) as (settings, ctx):
        lst = _list_name(settings, list_name)
        good, rejected = read_subscribers_csv(
            path, default_language=settings.newsroom.default_language
        )
        result = readers.import_rows(ctx, lst, good)
    refused: list[dict[str, Any]] = [
        {"line": r.line, "value": r.value, "reason": r.reason} for r in rejected
    ] + [{"line": None, "value": e, "reason": why} for e, why in result.refused]
    report = {"list": lst, "added": result.added, "kept": result.kept, "rejected": refused}
    if as_json:
        print_json(report)
    else:
        click.echo(
            f"{lst}: {result.added} added, {result.kept} already there, {len(refused)} rejected"
        )
        for r in refused:
            where = f"line {r['line']}: " if r["line"] else ""
            click.echo(f"  rejected {where}{r['value']!r}: {r['reason']}")


@subscribers.command("export")
@click.option("--list", "list_name", metavar="NAME", help="Only this list.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), help="File.")
@click.pass_obj
def export(state: CliState, list_name: str | None, output: Path | None) -> None:
    """Export subscribers as CSV (the import columns plus frequency, list and status)."""
    from distributor.web.editors import write_csv

    with _open(state) as (settings, ctx):
        if list_name:
            _list_name(settings, list_name)
        rows = readers.entries(ctx, list_name=list_name)
    if output:
        with output.open("w", newline="", encoding="utf-8") as fh:
            write_csv(fh, rows)
        click.echo(f"{len(rows)} rows written to {output}", err=True)
    else:
        write_csv(sys.stdout, rows)


@subscribers.command("forget")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_obj
def forget(state: CliState, email: str, yes: bool) -> None:
    """Erase EMAIL's personal data; keep only a hashed suppression entry."""
    address = _email(email)
    if not yes:
        click.confirm(f"Erase every personal data of {address}?", abort=True)
    with _open(state) as (_settings, ctx):
        known = readers.forget(ctx, address)
    click.echo(
        f"{address}: "
        + ("personal data erased" if known else "not a subscriber")
        + "; a hashed suppression entry is kept"
    )


# ---------------------------------------------------------------------- editors
@click.group()
def editors() -> None:
    """Dashboard accounts."""


@editors.command("add")
@click.argument("email")
@click.option("--role", type=click.Choice(ROLES), default="editor", show_default=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="DISTRIBUTOR_EDITOR_PASSWORD",
    help="Asked for when not given (or DISTRIBUTOR_EDITOR_PASSWORD).",
)
@click.pass_obj
def editors_add(state: CliState, email: str, role: str, password: str) -> None:
    """Create an editor, or reset an existing one's password and role."""
    address = _email(email)
    if len(password) < 10:
        raise click.BadParameter("use at least 10 characters", param_hint="--password")
    with _open(state) as (_settings, ctx):
        created = readers.add_editor(ctx, address, generate_password_hash(password), role)
    click.echo(f"{address}: {'created' if created else 'updated'} ({role})")


# ----------------------------------------------------------------------- tokens
@click.group()
def tokens() -> None:
    """Bearer tokens of the JSON API."""


@tokens.command("create")
@click.option(
    "--name", required=True, help="Who uses it, e.g. 'cms'. Replaces a token of that name."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def tokens_create(state: CliState, name: str, as_json: bool) -> None:
    """Create a token; it is shown once and stored hashed."""
    with _open(state) as (_settings, ctx):
        token = readers.create_api_token(ctx, name)
    if as_json:
        print_json_line({"name": name, "token": token})
    else:
        click.echo(token)
        click.echo(f"token {name!r} created; it is not shown again", err=True)
