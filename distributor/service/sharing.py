"""Stories on the social networks: share cards, share links, posts (``distributor cards``,
``links``, ``post``, and the dashboard's posts page)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distributor import pipeline
from distributor.errors import DistributorError
from distributor.models import ShareLink, Story
from distributor.render.digest import DigestRenderer
from distributor.report import RunReport
from distributor.service.context import Context
from distributor.share.cards import CardSet
from distributor.share.posts import ComposedPost, composed_view
from distributor.store.web import WebStore


def story(ctx: Context, story_id: str) -> Story:
    """The story with ``story_id``, fetching the sources first if the store lacks it."""
    found = ctx.store.stories_by_id([story_id]).get(story_id)
    if found is None:
        pipeline.fetch_sources(ctx, RunReport(started_at=ctx.clock().isoformat(), dry_run=False))
        found = ctx.store.stories_by_id([story_id]).get(story_id)
    if found is None:
        raise DistributorError(f"no story with id {story_id!r} in the store or the sources")
    return found


def cards(ctx: Context, story_id: str, out_dir: Path | None = None) -> tuple[Story, CardSet]:
    """The share cards of one story (Open Graph, square, Bluesky thumbnail), in ``out_dir``
    (default: ``data_dir/cards``)."""
    found = story(ctx, story_id)
    maker = pipeline.card_maker(ctx)
    if out_dir is not None:
        maker.directory = out_dir
    return found, maker.card_set(found)


def links(ctx: Context, story_id: str, campaign: str) -> tuple[ShareLink, ...]:
    """The share links of one story, per network, with ``campaign`` as ``utm_campaign``."""
    found = story(ctx, story_id)
    return pipeline.make_links([found], campaign, ctx.settings.share)[found.id]


def publish(
    ctx: Context,
    *,
    story_id: str | None = None,
    channel: str | None = None,
    dry_run: bool = False,
) -> tuple[RunReport, list[tuple[str, Story, ComposedPost]]]:
    """Post the stories (one, or every published one in a list's window) to the channels
    (each once per story, channel and language); ``dry_run`` composes for every defined
    channel and sends nothing.  The report, and the composed posts of a dry run."""
    report = RunReport(started_at=ctx.clock().isoformat(), dry_run=dry_run)
    pipeline.fetch_sources(ctx, report)
    stories = pipeline.social_stories(ctx, story_id)
    if story_id and not stories:
        raise DistributorError(f"no story with id {story_id!r}")
    shown = pipeline.publish_social(
        ctx, stories, report, dry_run=dry_run, only_channels=None if channel is None else [channel]
    )
    return report, shown


def resolve_unknown(ctx: Context, channel: str, *, decision: str, story_id: str | None) -> int:
    """An editor's decision on a channel's posts whose outcome is unknown: ``sent`` (found
    on the network) or ``repost``; how many posts it settled."""
    return ctx.store.resolve_unknown_posts(
        channel, decision=decision, story_id=story_id, now=ctx.clock()
    )


@dataclass(frozen=True)
class RecentPost:
    """A recorded post, composed and counted exactly as the pipeline posts it."""

    row: dict[str, Any]
    text: str
    length: int
    max: int
    card: str | None  # the file name of its Open Graph card, if one could be made


def recent(ctx: Context, limit: int = 60) -> dict[str, list[RecentPost]]:
    """The recent posts per channel (the dashboard's posts page)."""
    rows: Sequence[dict[str, Any]] = WebStore(ctx.store).posts(limit=limit)
    env = DigestRenderer(ctx.settings).env
    stories = ctx.store.stories_by_id([r["story_id"] for r in rows])
    by_channel: dict[str, list[RecentPost]] = {}
    channels = ctx.all_channels()
    maker = pipeline.card_maker(ctx)
    for row in rows:
        found = stories.get(row["story_id"])
        channel = channels.get(row["channel"])
        if found is None or channel is None:
            continue
        made: dict[str, CardSet] = {}
        card_name: str | None = None
        try:
            made[found.id] = maker.card_set(found)
            card_name = Path(made[found.id].og.path).name
        except DistributorError:
            pass
        post = pipeline.compose_for(ctx, found, channel, made, env)
        view = composed_view(post.text, channel.rules())
        by_channel.setdefault(row["channel"], []).append(
            RecentPost(row, post.text, view.length, view.limit, card_name)
        )
    return by_channel
