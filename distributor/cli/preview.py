"""``distributor preview``: write or open exactly the message a subscriber would get.

The preview goes through the same stages as a run (fetch, subscribers file,
selection, render, personalization) but records and delivers nothing.  When
the list has nothing new to send, it shows the list's latest edition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import click

from distributor.cli.common import CliState, errors_as_one_line, open_context, write_message
from distributor.errors import ConfigError, DistributorError
from distributor.models import Edition, Message, Story, Subscriber
from distributor.pipeline import (
    edition_date_key,
    fetch_sources,
    make_links,
    select,
    sync_subscribers,
)
from distributor.render.compat import check_email_html
from distributor.render.digest import DigestRenderer, Variant
from distributor.render.i18n import base_language
from distributor.report import RunReport
from distributor.service import Context
from distributor.store.digests import latest_edition, latest_edition_of_subscriber
from distributor.store.repository import delivery_key


@dataclass(frozen=True)
class Preview:
    """One list's next (or latest) edition, rendered for one subscriber."""

    edition: Edition
    stories: list[Story]
    subscriber: Subscriber
    variant: Variant
    message: Message
    origin: str  # "next edition" or "latest edition (nothing new to send)"


def build_preview(
    ctx: Context,
    list_name: str,
    *,
    language: str | None = None,
    email: str | None = None,
    test_to: str | None = None,
) -> Preview:
    """The message ``email`` (or a sample reader, or ``test_to``) would get from ``list_name``."""
    settings = ctx.settings
    if list_name not in settings.lists:
        known = ", ".join(sorted(settings.lists))
        raise ConfigError(f"no list named {list_name!r} (known: {known})")
    cfg = settings.lists[list_name]
    now = ctx.clock()
    scratch = RunReport(started_at=now.isoformat(), dry_run=True)
    fetch_sources(ctx, scratch)
    sync_subscribers(ctx, list_name, cfg, scratch)

    reader: Subscriber | None = None
    if email:
        wanted = email.strip().lower()
        reader = next(
            (r for r in ctx.store.recipients(list_name) if r.email.lower() == wanted), None
        )
        if reader is None:
            raise DistributorError(f"{email} is not a subscriber of list {list_name!r}")
        language = language or reader.language

    plans = select(ctx, list_name, cfg)
    plan = None
    if reader is not None:
        plan = next((p for p in plans if any(r.id == reader.id for r in p.recipients)), None)
    elif language:
        plan = next((p for p in plans if p.language == language), None) or next(
            (p for p in plans if any(r.language == language for r in p.recipients)), None
        )
    else:
        default = settings.newsroom.default_language
        plan = next((p for p in plans if p.language == default), plans[0] if plans else None)

    if plan is not None:
        key = ctx.store.next_edition_key(list_name, edition_date_key(now, cfg))
        stories = list(plan.stories)
        edition = Edition(0, list_name, key, plan.language, tuple(s.id for s in stories), now)
        candidates = list(plan.recipients)
        origin = "next edition"
    else:
        if reader is not None:  # the reader's edition may be in a fallback language
            found = latest_edition_of_subscriber(ctx.store, list_name, reader.id)
        else:
            wanted = language or settings.newsroom.default_language
            found = latest_edition(ctx.store, list_name, wanted) or latest_edition(
                ctx.store, list_name, base_language(wanted)
            )
        if found is None:
            where = f" in {language}" if language else ""
            raise DistributorError(f"list {list_name!r} has no stories to preview{where}")
        edition = found
        by_id = ctx.store.stories_by_id(edition.story_ids)
        stories = [by_id[i] for i in edition.story_ids if i in by_id]
        candidates = [r for r in ctx.store.recipients(list_name) if r.language == found.language]
        origin = f"latest edition {found.key} (nothing new to send)"

    if test_to:
        subscriber = Subscriber(id=0, email=test_to, name="", language=edition.language)
    elif reader is not None:
        subscriber = reader
    else:
        same = [r for r in candidates if language is None or r.language == language]
        pool = same or candidates
        subscriber = (
            pool[0]
            if pool
            else Subscriber(id=0, email="reader@example.com", name="", language=edition.language)
        )

    renderer = DigestRenderer(settings)
    # the run's own share settings (UTM tags, networks): a preview is what is sent
    links = make_links(stories, f"{list_name}-{edition.key}", settings.share)
    variant = renderer.render(edition, stories, links, cfg)
    key = delivery_key(list_name, edition.key, edition.language, subscriber.id)
    message = renderer.personalize(variant, subscriber, key, cfg, now)
    return Preview(edition, stories, subscriber, variant, message, origin)


def describe(preview: Preview, path: Path | None) -> dict[str, object]:
    """The preview as JSON-ready data."""
    variant = preview.variant
    return {
        "path": str(path) if path else None,
        "list": preview.edition.list_name,
        "edition": preview.edition.key,
        "language": preview.edition.language,
        "origin": preview.origin,
        "recipient": preview.message.recipient,
        "subject": preview.message.subject,
        "stories": len(variant.story_ids),
        "html_bytes": len(preview.message.html.encode("utf-8")),
        "message_bytes": len(preview.message.raw),
        "shortened": variant.shortening.describe() if variant.shortening else None,
        "view_url": variant.view_url,
        "unsupported": [str(f) for f in check_email_html(preview.message.html)],
    }


@click.command()
@click.option("--list", "list_name", required=True, metavar="NAME", help="The list to preview.")
@click.option(
    "--lang", "language", metavar="xx", help="The edition language (default: newsroom's)."
)
@click.option("--subscriber", "email", metavar="EMAIL", help="Render for this subscriber.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.html|FILE.eml",
    help="Write the HTML part or the whole message here (default: under data_dir/previews).",
)
@click.option("--open", "open_it", is_flag=True, help="Open the file with the default program.")
@click.option("--json", "as_json", is_flag=True, help="Describe the preview as JSON on stdout.")
@click.pass_obj
def preview(
    state: CliState,
    list_name: str,
    language: str | None,
    email: str | None,
    out: Path | None,
    open_it: bool,
    as_json: bool,
) -> None:
    """Write (and open) exactly the digest a subscriber would get; nothing is sent or recorded."""
    if out is not None and out.suffix.lower() not in (".html", ".htm", ".eml"):
        raise click.UsageError("--out must end in .html or .eml")
    with errors_as_one_line(state):
        settings = state.settings()
        with open_context(settings, clock=state.clock) as ctx:
            result = build_preview(ctx, list_name, language=language, email=email)
        if out is None:
            stamp = state.clock().strftime("%Y%m%dT%H%M%S")
            out = settings.data_path("previews") / (
                f"{list_name}-{result.edition.key}-{result.edition.language}-{stamp}.html"
            )
        write_message(result.message, out)
    info = describe(result, out)
    if as_json:
        click.echo(json.dumps(info, ensure_ascii=False, indent=2))
    else:
        click.echo(f"{out}")
        click.echo(
            f"  {info['list']} {info['edition']} [{info['language']}] {info['origin']}; "
            f"to {info['recipient']}; {info['stories']} stories; "
            f"HTML {int(info['html_bytes']) // 1000} KB"  # type: ignore[call-overload]
        )
        click.echo(f"  subject: {info['subject']}")
        if info["shortened"]:
            click.echo(f"  shortened: {info['shortened']}")
        for finding in info["unsupported"]:  # type: ignore[attr-defined]
            click.echo(f"  warning: not shown by every mail client: {finding}")
    if open_it:
        click.launch(str(out))
