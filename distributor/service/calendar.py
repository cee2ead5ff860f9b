"""One page of what goes out (issue 18): upcoming mail editions and social posts, per
day and channel, in the editor's time zone.

Mail: the stored editions (drafts, approved, scheduled, sending, sent) with a time in
the range, and each list's next slots by its schedule where no stored edition holds
them yet ("expected").  Social: every post with a time in the range, cancelled ones
left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from distributor.errors import ConfigError
from distributor.models import PlanState, PostState
from distributor.service.context import Context
from distributor.service.editions import next_slot
from distributor.store.editions import EditionStore
from distributor.store.posts import PostStore

#: the longest range one page shows
MAX_DAYS = 62


@dataclass
class Day:
    """One day of the calendar in the editor's zone."""

    day: date
    editions: list[dict[str, Any]] = field(default_factory=list)
    posts: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # by channel

    def to_dict(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "editions": self.editions, "posts": self.posts}


def zone_of(name: str) -> ZoneInfo:
    """The editor's zone (``ConfigError`` for one that does not exist)."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ConfigError(f"unknown time zone {name!r}") from err


def calendar(ctx: Context, *, start: date | None, days: int, tz: str) -> list[Day]:
    """``days`` days from ``start`` (today in ``tz`` when ``None``)."""
    zone = zone_of(tz)
    if not 1 <= days <= MAX_DAYS:
        raise ConfigError(f"days must be between 1 and {MAX_DAYS}, not {days}")
    first = start or ctx.clock().astimezone(zone).date()
    begin = datetime.combine(first, datetime.min.time(), tzinfo=zone)
    end = begin + timedelta(days=days)
    out = {first + timedelta(days=i): Day(first + timedelta(days=i)) for i in range(days)}

    def day_of(when: datetime) -> Day | None:
        return out.get(when.astimezone(zone).date())

    held: set[tuple[str, datetime]] = set()
    for e in EditionStore(ctx.store).listing(limit=1000):
        if e.send_at is None or not begin <= e.send_at < end or e.state == PlanState.CANCELLED:
            continue
        held.add((e.list_name, e.send_at))
        d = day_of(e.send_at)
        if d is not None:
            d.editions.append(_edition(e.id, e.list_name, e.key, str(e.state), e.send_at, zone))
    for name in ctx.settings.lists:
        after = max(begin, ctx.clock())
        for _ in range(days * 24):  # at most one slot an hour is shown
            when = next_slot(ctx, name, after)
            if when is None or when >= end:
                break
            if (name, when) not in held and (d := day_of(when)) is not None:
                d.editions.append(_edition(None, name, None, "expected", when, zone))
            after = when + timedelta(seconds=1)
    stories: dict[str, str] = {}
    posts = PostStore(ctx.store).listing(since=begin, until=end, limit=100_000)
    known = ctx.store.stories_by_id(list({p.story_id for p in posts}))
    stories = {i: s.title for i, s in known.items()}
    for p in posts:
        if p.at is None or p.state == PostState.CANCELLED:
            continue
        d = day_of(p.at)
        if d is None:
            continue
        d.posts.setdefault(p.channel, []).append(
            {
                "id": p.id,
                "state": str(p.state),
                "language": p.language,
                "story": p.story_id,
                "title": stories.get(p.story_id),
                "at": p.at.isoformat(),
                "time": p.at.astimezone(zone).strftime("%H:%M"),
            }
        )
    for d in out.values():
        d.editions.sort(key=lambda e: e["at"])
    return list(out.values())


def _edition(
    pid: int | None, list_name: str, key: str | None, state: str, at: datetime, zone: ZoneInfo
) -> dict[str, Any]:
    return {
        "id": pid,
        "list": list_name,
        "key": key,
        "state": state,
        "at": at.isoformat(),
        "time": at.astimezone(zone).strftime("%H:%M"),
    }
