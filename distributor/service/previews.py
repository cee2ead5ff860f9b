"""The preview of a list's next (or latest) edition for one reader, and a real test
message of it (``distributor preview``, ``distributor send --test-to``).

The preview goes through the same stages as a run (fetch, subscribers file,
selection, render with the run's ``[share]`` settings, personalization) but records and
delivers nothing.  When the list has nothing new to send, it shows the list's latest
edition.  A test message is that preview addressed to one address, sent through the
list's transport, never in the ledger (its unsubscribe link is signed for no one).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from distributor.errors import ConfigError, DistributorError
from distributor.models import DeliveryResult, Edition, Message, Story, Subscriber
from distributor.pipeline import edition_date_key, fetch_sources, select, sync_subscribers
from distributor.render.compat import check_email_html
from distributor.render.digest import Variant
from distributor.render.i18n import base_language
from distributor.report import RunReport
from distributor.service.context import Context
from distributor.service.plans import render_variant
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

    # a preview is never the ledger's edition, even when it shows one already sent: its
    # links are preview links (the same shape, never counted; issue 17)
    shown = dataclasses.replace(edition, id=0) if edition.id > 0 else edition
    renderer, variant = render_variant(ctx, shown, stories, cfg)
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


def send_test_message(
    ctx: Context, list_name: str, address: str, *, language: str | None = None
) -> tuple[Preview, DeliveryResult]:
    """The preview addressed to ``address``, sent through the list's mail transport (no
    ledger row); the transport's one result."""
    shown = build_preview(ctx, list_name, language=language, test_to=address)
    backend = ctx.mail_backend(ctx.settings.lists[list_name].mail)
    return shown, backend.send_batch([shown.message])[0]
