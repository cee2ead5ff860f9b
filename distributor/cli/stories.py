"""``distributor stories``: fetch, list, show and inspect stories."""

from __future__ import annotations

import sys
from typing import Any

import click

from distributor.cli import tables
from distributor.cli.common import (
    EXIT_PARTIAL,
    CliState,
    errors_as_one_line,
    fail,
    open_context,
    print_json,
    print_table,
)
from distributor.report import SourceReport
from distributor.service import stories as service
from distributor.service.stories import story_dict
from distributor.text_safety import visible


@click.group()
def stories() -> None:
    """Fetch, list, show and inspect stories."""


@stories.command("fetch")
@click.option("--source", "only", metavar="NAME", help="Only this source (even if disabled).")
@click.option("--json", "as_json", is_flag=True, help="Print the per-source report as JSON.")
@click.pass_obj
def fetch(state: CliState, only: str | None, as_json: bool) -> None:
    """Fetch every enabled source and store its stories; report per source."""
    with errors_as_one_line(state):
        settings = state.settings()
        with open_context(settings, clock=state.clock) as ctx:
            report = service.fetch(ctx, only)
    if as_json:
        data = report.to_dict()
        out = {k: data[k] for k in ("sources", "stories_fetched", "warnings", "errors", "ok")}
        print_json(out)
    else:
        console = tables.console()
        print_table(
            ("source", "kind", "fetched", "new", "updated", "result"),
            (
                (s.name, s.kind, str(s.fetched), str(s.new), str(s.updated), _fetch_result(s))
                for s in report.sources
            ),
            title="sources",
            console=console,
        )
        for p in report.warnings:
            console.print(f"warning: {p.subject}: {p.cause}", markup=False, style="yellow")
        for p in report.errors:
            console.print(f"error: {p.subject}: {p.cause}", markup=False, style="red")
    if not report.ok:
        sys.exit(EXIT_PARTIAL)


def _fetch_result(s: SourceReport) -> str:
    """A source's line of ``stories fetch``: its error, or ``ok``, and how many problems."""
    result = s.error or ("not modified (304)" if s.not_modified else "ok")
    if s.problems:
        result += f", {len(s.problems)} problems"
    return result


@stories.command("list")
@click.option("--lang", metavar="TAG", help="Only stories in this language (and its regions).")
@click.option("--source", metavar="NAME", help="Only stories of this source.")
@click.option("--limit", default=50, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True, help="Print the stories as JSON.")
@click.pass_obj
def list_(state: CliState, lang: str | None, source: str | None, limit: int, as_json: bool) -> None:
    """Stored stories, newest first."""
    now = state.clock()
    with errors_as_one_line(state):
        settings = state.settings()
        with open_context(settings, clock=state.clock) as ctx:
            rows = service.listing(ctx, language=lang, source=source, limit=limit)
            flags = service.editor_flags(ctx, [story.id for story, _seen in rows])
    if as_json:
        out = [
            {**story_dict(s, now), **flags.get(s.id, {}), "first_seen_at": seen.isoformat()}
            for s, seen in rows
        ]
        print_json(out)
        return
    print_table(
        ("published", "lang", "status", "source", "title", "id"),
        (
            (
                f"{s.published_at:%Y-%m-%d %H:%M}" if s.published_at else "",
                s.language,
                s.status.value,
                s.source,
                s.title,
                s.id,
            )
            for s, _seen in rows
        ),
    )
    if not rows:
        click.echo("no stories stored" + (f" in {lang}" if lang else ""))


@stories.command("show")
@click.argument("story_id")
@click.option("--json", "as_json", is_flag=True, help="Print the story as JSON.")
@click.pass_obj
def show(state: CliState, story_id: str, as_json: bool) -> None:
    """Everything stored about one story, and the editions that carried it."""
    with errors_as_one_line(state):
        settings = state.settings()
        with open_context(settings, clock=state.clock) as ctx:
            row = service.show(ctx, story_id)
    if row is None:
        fail(f"no story with id {story_id!r}")
        return
    data: dict[str, Any] = {
        k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in row.items()
    }
    if as_json:
        print_json(data)
        return
    for key in (
        "id",
        "title",
        "url",
        "source",
        "language",
        "status",
        "published_at",
        "updated_at",
        "author",
        "sections",
        "translation_group",
        "image_url",
        "pinned",
        "priority",
        "resend_updates",
        "first_seen_at",
        "last_seen_at",
        "editions",
        "summary_text",
    ):
        click.echo(f"{key:>17}: {data.get(key)}")


@stories.command("inspect")
@click.argument("location", metavar="URL_OR_PATH")
@click.option(
    "--kind",
    type=click.Choice(["feed", "jsonfeed", "api", "markdown"]),
    help="How to read it (default: guessed).",
)
@click.option("--source", "like", metavar="NAME", help="Read it like this configured source.")
@click.option("--json", "as_json", is_flag=True, help="Print stories and problems as JSON.")
@click.pass_obj
def inspect(
    state: CliState, location: str, kind: str | None, like: str | None, as_json: bool
) -> None:
    """Read one feed, API page or folder and show what distributor sees. Stores nothing."""
    now = state.clock()
    with errors_as_one_line(state):
        settings = state.settings()
        found = service.inspect(settings, location, now=now, kind=kind, like=like)
    if as_json:
        print_json(found.to_dict(now))
        return
    click.echo(f"{found.location} read as {found.kind}: {len(found.stories)} stories")
    for s in found.stories:
        data = story_dict(s, now)
        click.echo("")
        click.echo(f"  {visible(s.title)}")
        for key in ("id", "url", "language", "published_at", "translation_group", "verdict"):
            click.echo(f"    {key}: {data[key]}")
    click.echo("")
    if found.problems:
        click.echo(f"{len(found.problems)} problems:")
        for p in found.problems:
            click.echo(f"  - {p}")
    else:
        click.echo("no problems found")
