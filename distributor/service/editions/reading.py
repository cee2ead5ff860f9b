"""Reading editions: one, a listing, the history, the slots, and the next (unsaved)
edition with what selection would put in it."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from distributor import pipeline
from distributor.cron import next_after, parse_cron
from distributor.errors import EditionError, NotFoundError
from distributor.models import (
    EditionChange,
    PlannedEdition,
    PlannedVariant,
    PlanState,
    Story,
)
from distributor.render.i18n import direction
from distributor.service.context import Context
from distributor.service.editions.values import Upcoming
from distributor.service.plans import (
    REGULAR,
    free_key,
    list_config,
    settle,
    stories_of,
)
from distributor.store.editions import EditionStore
from distributor.store.schedule import ScheduleStore
from distributor.store.web import WebStore


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
