"""Editions an editor can see, shape and schedule (issue 14): the use cases.

An edition (:class:`~distributor.models.PlannedEdition`) is one list and one key with
its variants (reader language x segment) and their stories, stored before it is
sent::

    draft ──approve──> approved (send_at = its slot) ──┐
      │  └─schedule──> scheduled (send_at = chosen)  ──┴──> sending ──> sent
      └──────────────── cancel ──> cancelled   (from draft, approved or scheduled)

Every door (CLI, dashboard, JSON API, scheduler) calls these functions; the preview,
the test send and the real send all render from the same stored variants, so what an
editor saw is what readers get (only the personal parts differ).  Editing an approved
or scheduled edition puts it back to ``draft``: what was approved is what goes.
Each change names the version it was made on (optimistic versioning) and is logged
with who made it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from secrets import token_hex
from typing import Any
from zoneinfo import ZoneInfo

from distributor import pipeline
from distributor.config import ListConfig
from distributor.cron import next_after, parse_cron
from distributor.errors import EditionError, EditionStateError, NotFoundError
from distributor.models import (
    OPEN_PLAN_STATES,
    DeliveryResult,
    EditionChange,
    Message,
    PlannedEdition,
    PlannedVariant,
    PlanState,
    Story,
    Subscriber,
)
from distributor.render.digest import Variant
from distributor.render.i18n import direction
from distributor.report import RunReport
from distributor.selection import language_chain, normalize_language
from distributor.service import daily
from distributor.service.context import Context
from distributor.service.plans import (
    ONE_OFF,
    REGULAR,
    free_key,
    intro_html,
    ledger_variants,
    list_config,
    render_variant,
    settle,
    stories_of,
)
from distributor.store.editions import EditionStore, NewPlan
from distributor.store.repository import delivery_key
from distributor.store.schedule import ScheduleStore
from distributor.store.social import translations_of
from distributor.store.web import WebStore


# ------------------------------------------------------------------- values
@dataclass(frozen=True, slots=True)
class Changes:
    """What an editor changes in one save; ``None`` / empty = unchanged."""

    order: Sequence[str] | None = None  # story ids (any translation) in the wanted order
    add: Sequence[str] = ()  # story ids: added to every variant in its language
    remove: Sequence[str] = ()  # story ids: removed with every translation
    pin: Sequence[str] = ()  # story ids: to the top of every variant (added if missing)
    intros: Mapping[str, str] | None = None  # language -> Markdown ("" removes it)
    subjects: Mapping[str, str] | None = None  # language -> subject ("" removes it)
    intro_fallback: bool | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("order", "add", "remove", "pin"):
            value = getattr(self, name)
            if value:
                out[name] = list(value)
        if self.intros is not None:
            out["intros"] = sorted(self.intros)
        if self.subjects is not None:
            out["subjects"] = dict(self.subjects)
        if self.intro_fallback is not None:
            out["intro_fallback"] = self.intro_fallback
        return out


@dataclass(frozen=True)
class Preview:
    """One variant of an edition rendered for one reader (or a sample reader)."""

    edition: PlannedEdition
    variant: PlannedVariant
    stories: list[Story]
    rendered: Variant
    message: Message
    recipient: Subscriber


@dataclass
class SendOutcome:
    """What a send did: the edition after it, and the run report of the delivery."""

    edition: PlannedEdition
    report: RunReport


@dataclass(frozen=True)
class TestSendOutcome:
    edition: PlannedEdition
    language: str
    addresses: list[str] = field(default_factory=list)
    results: list[DeliveryResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.state == "sent" for r in self.results)


# ------------------------------------------------------------------ reading
def get(ctx: Context, edition_id: int) -> PlannedEdition:
    """One edition (``NotFoundError`` when there is none)."""
    settle(ctx)
    return EditionStore(ctx.store).get(edition_id)


def listing(
    ctx: Context,
    *,
    list_name: str | None = None,
    states: Sequence[PlanState] | None = None,
    limit: int = 50,
) -> list[PlannedEdition]:
    """Editions, newest first."""
    if list_name is not None:
        list_config(ctx, list_name)
    settle(ctx)
    return EditionStore(ctx.store).listing(list_name=list_name, states=states, limit=limit)


def changes(ctx: Context, edition_id: int) -> list[EditionChange]:
    """Every recorded change of an edition: who, when, what."""
    store = EditionStore(ctx.store)
    store.get(edition_id)
    return store.changes(edition_id)


def candidates(ctx: Context, list_name: str, limit: int = 200) -> list[Story]:
    """The published stories an editor can add to an edition of the list (its window)."""
    cfg = list_config(ctx, list_name)
    now = ctx.clock()
    found = ctx.store.published_stories(now=now, since=now - timedelta(hours=cfg.max_age_hours))
    return found[:limit]


def paused_lists(ctx: Context) -> set[str]:
    """The lists an editor paused (``schedule pause``): their slots send nothing."""
    return ScheduleStore(ctx.store).paused()


def next_slot(ctx: Context, list_name: str, after: datetime | None = None) -> datetime | None:
    """The next time the list's schedule fires (UTC), or None for local-time lists."""
    cfg = list_config(ctx, list_name)
    if cfg.local_time:
        return None
    trigger = parse_cron(cfg.schedule, cfg.timezone)
    t = next_after(trigger, after or ctx.clock())
    return t.astimezone(ZoneInfo("UTC")) if t is not None else None


def desk_zone(ctx: Context, list_name: str) -> ZoneInfo:
    """The zone an editor reads and types a list's edition times in: the newsroom's
    (``[newsroom] timezone``), else the list's own."""
    if ctx.settings.newsroom.timezone:
        return ZoneInfo(ctx.settings.newsroom.timezone)
    cfg = ctx.settings.lists.get(list_name)
    return ZoneInfo(cfg.timezone) if cfg else ZoneInfo("UTC")


def desk_time(ctx: Context, list_name: str, text: str) -> datetime:
    """A time an editor typed: with its offset as given, else in :func:`desk_zone`."""
    try:
        when = datetime.fromisoformat(text)
    except ValueError as err:
        raise EditionError("give a date and time") from err
    return when if when.tzinfo is not None else when.replace(tzinfo=desk_zone(ctx, list_name))


def describe(ctx: Context, edition: PlannedEdition) -> dict[str, Any]:
    """An edition as JSON-ready data: what the CLI's ``--json`` and the API print."""
    cfg = ctx.settings.lists.get(edition.list_name)
    stories = stories_of(ctx, edition)
    zone = ZoneInfo(cfg.timezone) if cfg else ZoneInfo("UTC")
    desk = desk_zone(ctx, edition.list_name)
    return {
        "id": edition.id,
        "list": edition.list_name,
        "key": edition.key,
        "kind": edition.kind,
        "state": str(edition.state),
        "send_at": edition.send_at.isoformat() if edition.send_at else None,
        "send_at_local": edition.send_at.astimezone(zone).isoformat() if edition.send_at else None,
        "timezone": str(zone),
        "send_at_desk": edition.send_at.astimezone(desk).isoformat() if edition.send_at else None,
        "desk_timezone": str(desk),
        "approval": cfg.approval if cfg else None,
        "version": edition.version,
        "recipients": edition.recipients,
        "social": edition.social,
        "intro_fallback": edition.intro_fallback,
        "intros": dict(edition.intros),
        "subjects": dict(edition.subjects),
        "created_by": edition.created_by,
        "approved_by": edition.approved_by,
        "approved_at": edition.approved_at.isoformat() if edition.approved_at else None,
        "reason": edition.reason,
        "created_at": edition.created_at.isoformat(),
        "updated_at": edition.updated_at.isoformat(),
        "variants": [
            {
                "language": v.language,
                "segment": v.segment,
                "readers": v.readers,
                "stories": [
                    {
                        "id": i,
                        "title": stories[i].title if i in stories else None,
                        "language": stories[i].language if i in stories else None,
                    }
                    for i in v.story_ids
                ],
            }
            for v in edition.variants
        ],
    }


def history(ctx: Context, *, list_name: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Sent variants (the ledger's editions), newest first, with their delivery figures."""
    rows = WebStore(ctx.store).edition_figures(list_name=list_name, limit=limit)
    return [r.to_dict() for r in rows]


def figures(ctx: Context, variant_id: int) -> dict[str, Any]:
    """One sent variant: its figures and its stories in order."""
    rows = WebStore(ctx.store).edition_figures(edition_id=variant_id, limit=1)
    if not rows:
        raise NotFoundError(f"no edition {variant_id}")
    sent = ctx.store.edition(variant_id)
    stories = ctx.store.stories_by_id(sent.story_ids)
    out = rows[0].to_dict()
    out["stories_list"] = [
        {"id": i, "title": stories[i].title if i in stories else None} for i in sent.story_ids
    ]
    return out


def parse_time(ctx: Context, list_name: str, text: str) -> datetime:
    """``2026-12-01T14:00+01:00`` (ISO 8601 with offset), or ``14:00`` today (tomorrow if
    past) in the list's zone."""
    cfg = list_config(ctx, list_name)
    value = text.strip()
    if len(value) <= 5 and ":" in value:
        try:
            hour, minute = (int(x) for x in value.split(":"))
            zone = ZoneInfo(cfg.timezone)
            now = ctx.clock().astimezone(zone)
            when = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
        except ValueError as err:
            raise EditionError(f"{text!r} is not a time (HH:MM)") from err
        return when if when > now else when + timedelta(days=1)
    try:
        when = datetime.fromisoformat(value)
    except ValueError as err:
        raise EditionError(f"{text!r} is not an ISO 8601 time") from err
    if when.tzinfo is None:
        raise EditionError(f"{text!r} has no zone offset (e.g. {value}+01:00)")
    return when


# ------------------------------------------------- the next edition, unsaved
@dataclass(frozen=True)
class Upcoming:
    """One variant of what a list's next run would send (not stored)."""

    list_name: str
    key: str
    language: str
    segment: str
    stories: tuple[Story, ...]
    readers: int

    @property
    def recipients(self) -> int:
        return self.readers


def upcoming(ctx: Context, list_name: str | None = None) -> list[Upcoming]:
    """Per list and variant: what the next run would send now, with its readers."""
    out = []
    for name, cfg in ctx.settings.lists.items():
        if list_name not in (None, name):
            continue
        edition = _transient(ctx, name)
        by_id = stories_of(ctx, edition)
        for v in edition.variants:
            stories = tuple(by_id[i] for i in v.story_ids if i in by_id)
            out.append(Upcoming(name, edition.key, v.language, v.segment, stories, v.readers))
        del cfg
    return out


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


def _transient(ctx: Context, list_name: str) -> PlannedEdition:
    """The next edition of a list as selection makes it now, not stored (id 0)."""
    cfg = list_config(ctx, list_name)
    now = ctx.clock()
    return PlannedEdition(
        id=0,
        list_name=list_name,
        key=free_key(ctx, list_name, pipeline.edition_date_key(now, cfg)),
        kind=REGULAR,
        state=PlanState.DRAFT,
        send_at=None,
        variants=tuple(plan(ctx, list_name)),
        intros={},
        subjects={},
        intro_fallback=False,
        social=False,
        version=0,
        created_by="",
        approved_by=None,
        approved_at=None,
        reason=None,
        created_at=now,
        updated_at=now,
    )


def text_direction(language: str) -> str:
    """``rtl`` or ``ltr``: for doors that lay out a language's text."""
    return direction(language)


# ------------------------------------------------------------------ making
def plan(ctx: Context, list_name: str) -> list[PlannedVariant]:
    """What selection would put in the list's next edition now (nothing is stored)."""
    cfg = list_config(ctx, list_name)
    selection = pipeline.plan_list(ctx, list_name, cfg)
    return [
        PlannedVariant(p.language, p.segment, tuple(s.id for s in p.stories), p.readers)
        for p in selection.plans
    ]


def draft(
    ctx: Context,
    list_name: str,
    *,
    by: str,
    send_at: datetime | None = None,
    key: str | None = None,
    fetch: bool = False,
) -> PlannedEdition:
    """The list's next regular edition as a draft, from what selection picks now.

    ``send_at`` defaults to the list's next slot.  The draft reserves its key; the
    stories are only marked sent when it is sent.  ``fetch`` reads the sources first.
    """
    cfg = list_config(ctx, list_name)
    if cfg.local_time:
        raise EditionError(
            f"list {list_name!r} sends at each reader's local time: the scheduler makes its "
            "editions as readers reach the slot, so none is drafted for approval; make a "
            "one-off edition instead"
        )
    if fetch:
        pipeline.fetch_sources(ctx, RunReport(started_at=ctx.clock().isoformat()))
    pipeline.sync_subscribers(ctx, list_name, cfg, RunReport(started_at=ctx.clock().isoformat()))
    open_ = EditionStore(ctx.store).listing(list_name=list_name, states=OPEN_PLAN_STATES)
    if any(e.kind == REGULAR for e in open_):
        found = next(e for e in open_ if e.kind == REGULAR)
        raise EditionError(
            f"list {list_name!r} already has an open edition {found.key} (id {found.id}, "
            f"{found.state}); edit or cancel it"
        )
    variants = plan(ctx, list_name)
    if not variants:
        raise EditionError(f"list {list_name!r} has no new stories: no edition to draft")
    when = send_at or next_slot(ctx, list_name)
    now = ctx.clock()
    made = EditionStore(ctx.store).create(
        NewPlan(
            list_name=list_name,
            key=key or free_key(ctx, list_name, pipeline.edition_date_key(when or now, cfg)),
            kind=REGULAR,
            state=PlanState.DRAFT,
            variants=variants,
            send_at=when,
            created_by=by,
        ),
        now,
    )
    return made


def draft_due(ctx: Context) -> list[PlannedEdition]:
    """For lists with ``approval = "editor"``: draft the next slot's edition once the slot
    is ``draft_lead`` hours away (the scheduler's poll calls this).  A list that already
    has an open regular edition, or nothing new, gets none."""
    made = []
    now = ctx.clock()
    for name, cfg in ctx.settings.lists.items():
        if cfg.approval != "editor" or cfg.local_time:
            continue
        slot = next_slot(ctx, name, now - timedelta(seconds=1))
        if slot is None or slot - now > timedelta(hours=cfg.draft_lead):
            continue
        store = EditionStore(ctx.store)
        if any(e.kind == REGULAR for e in store.listing(list_name=name, states=OPEN_PLAN_STATES)):
            continue
        if store.find(name, pipeline.edition_date_key(slot, cfg)) is not None:
            continue  # this slot's edition was made (and maybe sent or cancelled) already
        try:
            made.append(draft(ctx, name, by="schedule", send_at=slot))
        except EditionError:
            continue  # nothing new: the slot will say so
    return made


def one_off(
    ctx: Context,
    list_name: str,
    story_ids: Sequence[str],
    *,
    by: str,
    social: bool = False,
) -> PlannedEdition:
    """A one-off edition (breaking news) of chosen stories, as a draft for every reader
    variant of the list; each variant gets each story in its readers' language."""
    cfg = list_config(ctx, list_name)
    if not story_ids:
        raise EditionError("a one-off edition needs at least one story")
    pipeline.sync_subscribers(ctx, list_name, cfg, RunReport(started_at=ctx.clock().isoformat()))
    chosen = _stories(ctx, story_ids)
    variants = []
    for language, segment, readers in _reader_variants(ctx, list_name, cfg):
        ids = tuple(_in_language(ctx, chosen, language, cfg))
        if ids:
            variants.append(PlannedVariant(language, segment, ids, readers))
    if not variants:
        raise EditionError(f"list {list_name!r} has no readers for these stories")
    now = ctx.clock()
    base = pipeline.edition_date_key(now, cfg)
    return EditionStore(ctx.store).create(
        NewPlan(
            list_name=list_name,
            key=free_key(ctx, list_name, base),
            kind=ONE_OFF,
            state=PlanState.DRAFT,
            variants=variants,
            created_by=by,
            social=social,
        ),
        now,
    )


# ----------------------------------------------------------------- shaping
def update(
    ctx: Context, edition_id: int, *, version: int, changes: Changes, by: str
) -> PlannedEdition:
    """Apply an editor's changes; an approved or scheduled edition goes back to draft."""
    store = EditionStore(ctx.store)
    edition = store.get(edition_id)
    _must_be_open(edition, "edited")
    cfg = list_config(ctx, edition.list_name)
    variants = list(edition.variants)
    if changes.remove:
        groups = {s.group for s in _stories(ctx, changes.remove).values()}
        variants = [_without(ctx, v, groups) for v in variants]
    for sid in [*changes.add, *changes.pin]:
        story = _stories(ctx, [sid])[sid]
        variants = [_with(ctx, v, story, cfg) for v in variants]
    if changes.order is not None:
        order = [s.group for s in _stories(ctx, changes.order).values()]
        variants = [_ordered(ctx, v, order) for v in variants]
    if changes.pin:
        pinned = [_stories(ctx, [sid])[sid].group for sid in changes.pin]
        variants = [_pinned_first(ctx, v, pinned) for v in variants]
    intros = dict(edition.intros)
    for language, text in (changes.intros or {}).items():
        lang = normalize_language(language)
        if text.strip():
            intro_html(text, lang)  # refuses what cannot be sent, before anything is saved
            intros[lang] = text
        else:
            intros.pop(lang, None)
    subjects = dict(edition.subjects)
    for language, subject in (changes.subjects or {}).items():
        lang = normalize_language(language)
        if "\r" in subject or "\n" in subject:
            raise EditionError(f"subject ({lang}): a subject is one line")
        if len(subject) > 200:
            raise EditionError(f"subject ({lang}): at most 200 characters")
        if subject.strip():
            subjects[lang] = subject.strip()
        else:
            subjects.pop(lang, None)
    if any(not v.story_ids for v in variants):
        empty = [v.language for v in variants if not v.story_ids]
        raise EditionError(f"the change leaves no story in: {', '.join(empty)}")
    new = dataclasses.replace(
        edition,
        variants=tuple(variants),
        intros=intros,
        subjects=subjects,
        intro_fallback=(
            edition.intro_fallback if changes.intro_fallback is None else changes.intro_fallback
        ),
        state=PlanState.DRAFT,
        approved_by=None,
        approved_at=None,
    )
    return store.save(
        new, version=version, who=by, action="edit", detail=changes.describe(), now=ctx.clock()
    )


def approve(ctx: Context, edition_id: int, *, version: int, by: str) -> PlannedEdition:
    """Approve an edition for its slot (a regular edition) or for now (a one-off)."""
    store = EditionStore(ctx.store)
    edition = store.get(edition_id)
    _must_be_open(edition, "approved")
    now = ctx.clock()
    _refuse_empty(edition)
    return _approved(
        store, edition, PlanState.APPROVED, edition.send_at or now, version, by, "approve", now
    )


def schedule(
    ctx: Context, edition_id: int, *, version: int, send_at: datetime, by: str
) -> PlannedEdition:
    """Schedule (and so approve) an edition for ``send_at``.

    Refused in the past, and for a regular edition outside its slot's grace window
    (from now to ``grace_time`` after the slot): a daily edition is not moved to
    another day."""
    store = EditionStore(ctx.store)
    edition = store.get(edition_id)
    _must_be_open(edition, "scheduled")
    _refuse_empty(edition)
    now = ctx.clock()
    if send_at.tzinfo is None:
        raise EditionError("give the time with its zone offset (e.g. 2026-12-01T14:00+01:00)")
    if send_at < now - timedelta(minutes=1):
        raise EditionError(f"{send_at.isoformat()} is in the past")
    cfg = list_config(ctx, edition.list_name)
    if edition.kind == REGULAR and edition.send_at is not None:
        latest = edition.send_at + timedelta(seconds=cfg.grace_time)
        if send_at > latest:
            raise EditionError(
                f"{send_at.isoformat()} is past the slot's grace window (until "
                f"{latest.isoformat()}); draft a one-off edition for another time"
            )
    return _approved(store, edition, PlanState.SCHEDULED, send_at, version, by, "schedule", now)


def _approved(
    store: EditionStore,
    edition: PlannedEdition,
    state: PlanState,
    send_at: datetime,
    version: int,
    by: str,
    action: str,
    now: datetime,
) -> PlannedEdition:
    """Save ``edition`` approved by ``by`` for ``send_at`` (``approved`` or ``scheduled``)."""
    new = dataclasses.replace(
        edition, state=state, send_at=send_at, approved_by=by, approved_at=now
    )
    return store.save(
        new,
        version=version,
        who=by,
        action=action,
        detail={"send_at": send_at.isoformat()},
        now=now,
    )


def cancel(
    ctx: Context, edition_id: int, *, version: int, by: str, reason: str = ""
) -> PlannedEdition:
    """Cancel an edition before it starts; its stories stay free for the next one."""
    store = EditionStore(ctx.store)
    edition = store.get(edition_id)
    _must_be_open(edition, "cancelled")
    new = dataclasses.replace(edition, state=PlanState.CANCELLED, reason=reason or "cancelled")
    return store.save(
        new, version=version, who=by, action="cancel", detail={"reason": reason}, now=ctx.clock()
    )


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
def _must_be_open(edition: PlannedEdition, verb: str) -> None:
    if edition.state not in OPEN_PLAN_STATES:
        raise EditionStateError(f"edition {edition.id} is {edition.state}: it cannot be {verb}")


def _refuse_empty(edition: PlannedEdition) -> None:
    if edition.recipients == 0:
        raise EditionError(
            f"edition {edition.id} has no recipients: nothing would be sent (check the "
            "list's subscribers, then draft again)"
        )


def _valid_address(address: str) -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return str(validate_email(address, check_deliverability=False).normalized)
    except EmailNotValidError as err:
        raise EditionError(f"{address!r} is not an email address: {err}") from err


def _stories(ctx: Context, ids: Sequence[str]) -> dict[str, Story]:
    found = ctx.store.stories_by_id(list(ids))
    missing = [i for i in ids if i not in found]
    if missing:
        raise NotFoundError(f"no story with id {missing[0]!r}")
    return {i: found[i] for i in ids}


def _in_language(
    ctx: Context, chosen: Mapping[str, Story], language: str, cfg: ListConfig
) -> list[str]:
    """Each chosen story in ``language`` (or the next language of the reader's chain)."""
    out: list[str] = []
    for story in chosen.values():
        pick = _version_for(ctx, story, language, cfg)
        if pick is not None and pick.id not in out:
            out.append(pick.id)
    return out


def _version_for(ctx: Context, story: Story, language: str, cfg: ListConfig) -> Story | None:
    versions = {normalize_language(s.language): s for s in translations_of(ctx.store, story)}
    chain = language_chain(language, cfg.fallback_language, ctx.settings.newsroom.default_language)
    return next((versions[lang] for lang in chain if lang in versions), None)


def _reader_variants(ctx: Context, list_name: str, cfg: ListConfig) -> list[tuple[str, str, int]]:
    """(language, segment, readers) of the list's daily readers now."""
    selection = pipeline.Selection.of_list(ctx.settings, cfg)
    counts: dict[tuple[str, str], int] = {}
    for profile, n in ctx.store.reader_profiles(list_name).items():
        variant = selection.variant_of(profile)
        if variant is not None:
            counts[variant] = counts.get(variant, 0) + n
    return [(lang, seg, n) for (lang, seg), n in sorted(counts.items())]


def _group_of(ctx: Context, ids: Sequence[str]) -> dict[str, str]:
    return {i: s.group for i, s in ctx.store.stories_by_id(list(ids)).items()}


def _without(ctx: Context, v: PlannedVariant, groups: set[str]) -> PlannedVariant:
    of = _group_of(ctx, v.story_ids)
    return dataclasses.replace(
        v, story_ids=tuple(i for i in v.story_ids if of.get(i, i) not in groups)
    )


def _with(ctx: Context, v: PlannedVariant, story: Story, cfg: ListConfig) -> PlannedVariant:
    of = _group_of(ctx, v.story_ids)
    if story.group in of.values():
        return v
    pick = _version_for(ctx, story, v.language, cfg)
    if pick is None:
        return v
    return dataclasses.replace(v, story_ids=(*v.story_ids, pick.id))


def _ordered(ctx: Context, v: PlannedVariant, groups: list[str]) -> PlannedVariant:
    of = _group_of(ctx, v.story_ids)
    rank = {g: n for n, g in enumerate(groups)}

    def position(story_id: str) -> int:
        return rank.get(of.get(story_id, story_id), len(rank))

    ids = sorted(v.story_ids, key=position)
    return dataclasses.replace(v, story_ids=tuple(ids))


def _pinned_first(ctx: Context, v: PlannedVariant, groups: list[str]) -> PlannedVariant:
    of = _group_of(ctx, v.story_ids)
    first = [i for g in groups for i in v.story_ids if of.get(i, i) == g]
    rest = [i for i in v.story_ids if i not in first]
    return dataclasses.replace(v, story_ids=(*first, *rest))


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


__all__ = [
    "ONE_OFF",
    "REGULAR",
    "Changes",
    "Preview",
    "SendOutcome",
    "TestSendOutcome",
    "approve",
    "cancel",
    "changes",
    "describe",
    "draft",
    "get",
    "listing",
    "next_slot",
    "one_off",
    "plan",
    "preview",
    "schedule",
    "send_now",
    "test_send",
    "update",
]
