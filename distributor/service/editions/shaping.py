"""Making and shaping editions: draft, one-off, update, approve, schedule, cancel
(each change versioned and logged)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

from distributor import pipeline
from distributor.config import ListConfig
from distributor.errors import EditionError, EditionStateError, NotFoundError
from distributor.models import (
    OPEN_PLAN_STATES,
    PlannedEdition,
    PlannedVariant,
    PlanState,
    Story,
)
from distributor.report import RunReport
from distributor.selection import language_chain, normalize_language
from distributor.service.context import Context
from distributor.service.editions.reading import next_slot, plan
from distributor.service.editions.values import Changes
from distributor.service.plans import (
    ONE_OFF,
    REGULAR,
    free_key,
    intro_html,
    list_config,
)
from distributor.store.editions import EditionStore, NewPlan
from distributor.store.social import translations_of


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
