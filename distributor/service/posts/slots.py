"""The queue's slots (issue 18): per channel and language, in the channel's zone; the
next free one, and the gap between the posts of one story."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from distributor.errors import (
    NotFoundError,
    PostError,
)
from distributor.models import (
    SLOT_POST_STATES,
    QueuedPost,
    Story,
)
from distributor.service.context import Context
from distributor.store.posts import PostStore
from distributor.store.social import translations_of

#: how far ahead the queue looks for a free slot
HORIZON_DAYS = 400


def channel_config(ctx: Context, name: str) -> Any:
    """The ``[social.NAME]`` settings (``NotFoundError`` for an unknown channel)."""
    cfg = ctx.settings.social.get(name)
    if cfg is None:
        known = ", ".join(sorted(ctx.settings.social)) or "none"
        raise NotFoundError(f"no social channel named {name!r} (known: {known})")
    return cfg


def channel_zone(ctx: Context, name: str) -> ZoneInfo:
    return ZoneInfo(channel_config(ctx, name).timezone)


def slot_times(cfg: Any, language: str) -> tuple[time, ...]:
    """The slots of ``language`` on a channel (its own list, its base language's, or
    the channel's), as times of day in the channel's zone, in order."""
    by_lang = cfg.language_slots
    chosen = by_lang.get(language) or by_lang.get(language.split("-")[0]) or cfg.slots
    return tuple(sorted(time(int(s[:2]), int(s[3:])) for s in chosen))


def next_free_slot(
    ctx: Context,
    channel: str,
    story: Story,
    *,
    after: datetime,
    exclude: int | None = None,
) -> datetime:
    """The first slot at or after ``after`` that no post of this channel and language
    holds and that keeps ``min_gap_minutes`` from the story's other posts on the
    channel.  A channel without slots: ``after`` itself (pushed past the gap)."""
    cfg = channel_config(ctx, channel)
    taken, group_times = _holders(ctx, channel, story, exclude, after)
    gap = timedelta(minutes=cfg.min_gap_minutes)
    times = slot_times(cfg, story.language)
    if not times:
        when = after
        while gap and (near := [g for g in group_times if abs(when - g) < gap]):
            when = max(near) + gap
        return when
    zone = ZoneInfo(cfg.timezone)
    first = after.astimezone(zone).date()
    for day in range(HORIZON_DAYS):
        d = first + timedelta(days=day)
        for t in times:
            when = datetime.combine(d, t, tzinfo=zone).astimezone(UTC)
            if when < after or when in taken:
                continue
            if gap and any(abs(when - g) < gap for g in group_times):
                continue
            return when
    raise PostError(f"channel {channel}: no free slot in the next {HORIZON_DAYS} days")


def _holders(
    ctx: Context, channel: str, story: Story, exclude: int | None, after: datetime
) -> tuple[set[datetime], list[datetime]]:
    """(times held by this language's posts, times of the story's other posts) on the
    channel, from a day before ``after``."""
    group = {t.id for t in translations_of(ctx.store, story)}
    held = [
        p
        for p in PostStore(ctx.store).listing(
            channel=channel,
            states=SLOT_POST_STATES,
            since=after - timedelta(days=1),
            limit=100_000,
        )
        if p.id != exclude and p.at is not None
    ]
    taken = {p.at for p in held if p.language == story.language and p.at is not None}
    return taken, [p.at for p in held if p.story_id in group and p.at is not None]


def parse_time(ctx: Context, channel: str, text: str) -> datetime:
    """``2026-12-01T14:00+01:00`` (ISO 8601 with offset), ``2026-12-01 14:00`` or
    ``14:00`` (today, tomorrow if past) in the channel's zone."""
    zone = channel_zone(ctx, channel)
    value = text.strip()
    now = ctx.clock().astimezone(zone)
    try:
        if len(value) <= 5 and ":" in value:
            hour, minute = (int(x) for x in value.split(":"))
            when = now.replace(hour=hour, minute=minute, second=0, microsecond=0)
            return (when if when > now else when + timedelta(days=1)).astimezone(UTC)
        parsed = datetime.fromisoformat(value)
    except ValueError as err:
        raise PostError(f"{text!r} is not a time (HH:MM, or ISO 8601)") from err
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    return parsed.astimezone(UTC)


def check_gap(ctx: Context, post: QueuedPost, at: datetime) -> None:
    cfg = channel_config(ctx, post.channel)
    if not cfg.min_gap_minutes:
        return
    _taken, group_times = _holders(ctx, post.channel, story_of(ctx, post), post.id, at)
    gap = timedelta(minutes=cfg.min_gap_minutes)
    near = [g for g in group_times if abs(at - g) < gap]
    if near:
        raise PostError(
            f"{at.isoformat()} is within {cfg.min_gap_minutes} minutes of this story's "
            f"post at {near[0].isoformat()} on {post.channel}"
        )


def story_of(ctx: Context, post: QueuedPost) -> Story:
    story = ctx.store.stories_by_id([post.story_id]).get(post.story_id)
    if story is None:
        raise NotFoundError(f"post {post.id}: story {post.story_id} is gone")
    return story
