"""Previews, test sends and the send: each renders from the stored variants, so
what an editor saw is what readers get."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import timedelta
from secrets import token_hex

from distributor import pipeline
from distributor.errors import EditionError, NotFoundError
from distributor.models import (
    PlannedEdition,
    PlannedVariant,
    PlanState,
    Subscriber,
)
from distributor.report import RunReport
from distributor.selection import normalize_language
from distributor.service import daily
from distributor.service.context import Context
from distributor.service.editions.reading import _transient
from distributor.service.editions.shaping import _must_be_open, _refuse_empty
from distributor.service.editions.values import Preview, SendOutcome, TestSendOutcome
from distributor.service.plans import (
    ledger_variants,
    list_config,
    render_variant,
)
from distributor.store.editions import EditionStore
from distributor.store.repository import delivery_key
from distributor.store.web import WebStore


def preview_next(
    ctx: Context,
    list_name: str,
    *,
    language: str,
    segment: str = "",
    reader: Subscriber | None = None,
) -> Preview:
    """The list's next (unsaved) edition, one variant, rendered as a run would send it."""
    edition = _transient(ctx, list_name)
    variant = _next_variant(edition, list_name, language, segment)
    who = reader or Subscriber(0, "reader@example.com", "", variant.language)
    key = f"preview/{list_name}/{edition.key}/{variant.language}/0"
    return _render(ctx, edition, variant, who, key)


def test_send_next(
    ctx: Context,
    list_name: str,
    *,
    language: str,
    segment: str = "",
    addresses: Sequence[str],
    by: str,
) -> TestSendOutcome:
    """A [TEST] copy of the list's next (unsaved) edition to ``addresses`` (not in the
    ledger, rate-limited like every test send)."""
    edition = _transient(ctx, list_name)
    variant = _next_variant(edition, list_name, language, segment)
    return _send_test(ctx, edition, variant, addresses, by)


def _next_variant(
    edition: PlannedEdition, list_name: str, language: str, segment: str
) -> PlannedVariant:
    found = edition.variant(normalize_language(language), segment)
    if found is None:
        where = f" for readers of {segment}" if segment else ""
        raise NotFoundError(
            f"list {list_name!r} has no new stories in {language}{where}: the next run "
            "makes no such edition (the history shows what was sent)"
        )
    return found


# --------------------------------------------------------------- previewing
def preview(
    ctx: Context,
    edition_id: int,
    *,
    language: str | None = None,
    segment: str = "",
    email: str | None = None,
) -> Preview:
    """One variant rendered exactly as it will be sent, for a reader of it (``email``)
    or a sample reader; only the personal parts differ from a real message."""
    edition = EditionStore(ctx.store).get(edition_id)
    variant = _pick_variant(ctx, edition, language, segment)
    reader = Subscriber(0, "reader@example.com", "", variant.language)
    if email:
        wanted = email.strip().lower()
        found = next(
            (r for r in ctx.store.recipients(edition.list_name) if r.email.lower() == wanted),
            None,
        )
        if found is None:
            raise NotFoundError(f"{email} is not a subscriber of list {edition.list_name!r}")
        reader = found
    key = delivery_key(edition.list_name, edition.key, variant.language, reader.id)
    return _render(ctx, edition, variant, reader, key)


def test_send(
    ctx: Context,
    edition_id: int,
    *,
    addresses: Sequence[str] = (),
    language: str | None = None,
    segment: str = "",
    by: str,
) -> TestSendOutcome:
    """Send the edition's variant to the desk (``addresses`` or the list's
    ``test_recipients``), marked ``[TEST]``, through the list's own transport.

    Never in the ledger; at most ``test_send_limit`` messages per list and hour."""
    edition = EditionStore(ctx.store).get(edition_id)
    cfg = list_config(ctx, edition.list_name)
    to = [a.strip() for a in (addresses or cfg.test_recipients) if a.strip()]
    if not to:
        raise EditionError(
            f"no address to send the test to: give one, or set lists.{edition.list_name}"
            ".test_recipients"
        )
    variant = _pick_variant(ctx, edition, language, segment)
    return _send_test(ctx, edition, variant, to, by)


def _send_test(
    ctx: Context,
    edition: PlannedEdition,
    variant: PlannedVariant,
    addresses: Sequence[str],
    by: str,
) -> TestSendOutcome:
    cfg = list_config(ctx, edition.list_name)
    checked = [_valid_address(a) for a in addresses]
    if not checked:
        raise EditionError("no address to send the test to")
    web = WebStore(ctx.store)
    now = ctx.clock()
    messages = []
    for address in checked:
        if not web.rate_limited_hit(
            f"test-send:{edition.list_name}",
            limit=cfg.test_send_limit,
            window=timedelta(hours=1),
            now=now,
        ):
            raise EditionError(
                f"test sends of list {edition.list_name!r} are limited to "
                f"{cfg.test_send_limit} an hour; try again later"
            )
        reader = Subscriber(0, address, "", variant.language)
        key = f"test/{edition.list_name}/{edition.key}/{variant.language}/{token_hex(6)}"
        messages.append(_render(ctx, edition, variant, reader, key, test=True).message)
    results = ctx.mail_backend(cfg.mail).send_batch(messages)  # no ledger row: a test
    del by  # recorded by the caller's log, not the ledger
    return TestSendOutcome(edition, variant.language, checked, list(results))


# ------------------------------------------------------------------ sending
def send_now(
    ctx: Context, edition_id: int, *, version: int, by: str, social: bool = False
) -> SendOutcome:
    """Approve an edition for now and deliver it at once; ``social`` also posts its
    stories (never the excluded ones)."""
    store = EditionStore(ctx.store)
    edition = store.get(edition_id)
    _must_be_open(edition, "sent")
    _refuse_empty(edition)
    now = ctx.clock()
    new = dataclasses.replace(
        edition,
        state=PlanState.APPROVED,
        send_at=now,
        approved_by=by,
        approved_at=now,
        social=social,
    )
    store.save(new, version=version, who=by, action="send_now", detail={"social": social}, now=now)
    report = RunReport(started_at=now.isoformat())
    sent = daily.deliver(ctx, edition_id, report=report, by=by)
    report.finished_at = ctx.clock().isoformat()
    return SendOutcome(sent or store.get(edition_id), report)


# ------------------------------------------------------------------ helpers
def _valid_address(address: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return str(validate_email(address, check_deliverability=False).normalized)
    except EmailNotValidError as err:
        raise EditionError(f"{address!r} is not an email address: {err}") from err


def _pick_variant(
    ctx: Context, edition: PlannedEdition, language: str | None, segment: str
) -> PlannedVariant:
    if not edition.variants:
        raise EditionError(f"edition {edition.id} has no variants: nothing to show")
    if language is None:
        default = normalize_language(ctx.settings.newsroom.default_language)
        return edition.variant(default, segment) or edition.variants[0]
    lang = normalize_language(language)
    found = edition.variant(lang, segment)
    if found is None:
        langs = ", ".join(sorted({v.language for v in edition.variants}))
        raise NotFoundError(f"edition {edition.id} has no {lang} variant (it has: {langs})")
    return found


def _render(
    ctx: Context,
    edition: PlannedEdition,
    variant: PlannedVariant,
    reader: Subscriber,
    key: str,
    *,
    test: bool = False,
) -> Preview:
    """Render a stored variant as the real send will (same links, intro and subject)."""
    cfg = list_config(ctx, edition.list_name)
    shaped = next(
        v
        for v in ledger_variants(ctx, edition)
        if (v.language, v.segment) == (variant.language, variant.segment)
    )
    stories = list(shaped.stories)
    ledger_edition = pipeline.edition_value(edition.list_name, edition.key, shaped, ctx.clock())
    renderer, rendered = render_variant(ctx, ledger_edition, stories, cfg)
    if test:
        rendered = dataclasses.replace(rendered, subject=f"[TEST] {rendered.subject}")
    message = renderer.personalize(rendered, reader, key, cfg, ctx.clock())
    return Preview(edition, variant, stories, rendered, message, reader)
