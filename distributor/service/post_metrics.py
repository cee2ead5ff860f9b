"""What worked (issue 18): the counts each network exposes for posts that went out.

Mastodon (``favourites_count``, ``reblogs_count``, ``replies_count`` of
``GET /api/v1/statuses/:id``) and Bluesky (``likeCount``, ``repostCount``,
``replyCount``, ``quoteCount`` of ``app.bsky.feed.getPosts``) say how a post did
without extra permissions; the other networks need review-gated scopes and are not
read.  Politely: per channel, a post is read at most every ``metrics_minutes``, only
while it is younger than ``metrics_days``, and at most :data:`PER_TICK` posts a call.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from distributor.errors import DistributorError
from distributor.models import PostMetrics, PostState
from distributor.service.context import Context
from distributor.store.posts import PostStore

#: posts read per channel in one call of :func:`read_counts`
PER_TICK = 100


@dataclass
class CountsOutcome:
    """What one reading of the counts did, per channel."""

    read: dict[str, int] = field(default_factory=dict)
    gone: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"read": self.read, "gone": self.gone, "errors": self.errors}


def read_counts(ctx: Context, *, force: bool = False) -> CountsOutcome:
    """Read the counts of the posts that are due a reading (``force``: every post still
    young enough, however recently read)."""
    out = CountsOutcome()
    store = PostStore(ctx.store)
    try:
        channels = ctx.enabled_channels()
    except DistributorError as err:
        out.errors.append(f"channels: {err}")
        return out
    now = ctx.clock()
    for name, channel in channels.items():
        cfg = ctx.settings.social[name]
        if not channel.supports_counts or not cfg.metrics_minutes:
            continue
        due = store.metrics_due(
            name,
            posted_since=now - timedelta(days=cfg.metrics_days),
            read_before=now if force else now - timedelta(minutes=cfg.metrics_minutes),
            limit=PER_TICK,
        )
        if not due:
            continue
        try:
            found = channel.read_counts([p.provider_id for p in due if p.provider_id])
        except DistributorError as err:  # one network down never stops the others
            out.errors.append(f"{name}: {err}")
            continue
        for p in due:
            counts = found.get(p.provider_id or "")
            if counts is None:
                store.record_metrics(PostMetrics(p.id, now), error="not found on the network")
                out.gone[name] = out.gone.get(name, 0) + 1
                continue
            store.record_metrics(
                PostMetrics(p.id, now, counts.likes, counts.reposts, counts.replies, counts.quotes)
            )
            out.read[name] = out.read.get(name, 0) + 1
    return out


def counts_of(ctx: Context, post_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The stored counts of posts, JSON-ready, by post id."""
    return {
        pid: {
            "likes": m.likes,
            "reposts": m.reposts,
            "replies": m.replies,
            "quotes": m.quotes,
            "fetched_at": m.fetched_at.isoformat(),
        }
        for pid, m in PostStore(ctx.store).metrics(post_ids).items()
    }


def stats(
    ctx: Context,
    *,
    channel: str | None = None,
    since: datetime | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Posts that went out (newest first) with their counts: ``distributor stats posts``."""
    posts = PostStore(ctx.store).listing(
        channel=channel, states=[PostState.POSTED], since=since, limit=100_000
    )
    posts = sorted(posts, key=lambda p: (p.at is not None, p.at), reverse=True)[:limit]
    counts = counts_of(ctx, [p.id for p in posts])
    stories = ctx.store.stories_by_id(list({p.story_id for p in posts}))
    rows = []
    for p in posts:
        c = counts.get(p.id, {})
        story = stories.get(p.story_id)
        rows.append(
            {
                "id": p.id,
                "channel": p.channel,
                "language": p.language,
                "story": p.story_id,
                "title": story.title if story else None,
                "posted_at": p.at.isoformat() if p.at else None,
                "provider_id": p.provider_id,
                "likes": c.get("likes"),
                "reposts": c.get("reposts"),
                "replies": c.get("replies"),
                "quotes": c.get("quotes"),
                "fetched_at": c.get("fetched_at"),
            }
        )
    return rows
