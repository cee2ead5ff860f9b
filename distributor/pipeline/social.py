"""Social posts: compose a story's post for a channel, the stories to post, publish or
preview them.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import timedelta

from jinja2 import Environment

from distributor.errors import ConfigError, DistributorError
from distributor.models import Post, Story
from distributor.pipeline.cards import make_cards, utm_policy
from distributor.pipeline.runs import RunCache
from distributor.render.digest import DigestRenderer
from distributor.report import RunReport
from distributor.service.context import Context
from distributor.share.cards import CardSet
from distributor.share.posts import ComposedPost, compose_post, composed_view
from distributor.social.base import SocialChannel
from distributor.store.web import WebStore


def compose_for(
    ctx: Context,
    story: Story,
    channel: SocialChannel,
    cards: dict[str, CardSet],
    env: Environment,
) -> Post:
    """The post of ``story`` on ``channel``, with its cards and tagged link."""
    card = cards.get(story.id)
    # utm_source is the network; the file channel has none, so it is named by the channel
    source = channel.name if channel.network == "file" else channel.network
    url = utm_policy(ctx.settings.share).tag(story.url, source, "social")
    return compose_post(
        story,
        channel=channel.name,
        url=url,
        rules=channel.rules(),
        env=env,
        card_path=card.og.path if card else None,
        alt_text=card.og.alt_text if card else "",
        thumb_path=card.thumb.path if card else None,
    )


def social_stories(ctx: Context, story_id: str | None = None) -> list[Story]:
    """The stories to post: one story by id, or every published story in any list's window."""
    now = ctx.clock()
    if story_id is not None:
        found = ctx.store.stories_by_id([story_id]).get(story_id)
        return [found] if found else []
    out: dict[str, Story] = {}
    for cfg in ctx.settings.lists.values():
        since = now - timedelta(hours=cfg.max_age_hours)
        for story in ctx.store.published_stories(now=now, since=since):
            out.setdefault(story.id, story)
    return list(out.values())


def excluded_stories(ctx: Context) -> Callable[[Story], bool]:
    """Whether an editor excluded a story (or its translation group): never posted."""
    _, excluded = WebStore(ctx.store).story_flags()
    return lambda story: story.id in excluded or story.group in excluded


def publish_social(
    ctx: Context,
    stories: list[Story],
    report: RunReport,
    *,
    dry_run: bool,
    only_channels: Collection[str] | None = None,
    cache: RunCache | None = None,
) -> list[tuple[str, Story, ComposedPost]]:
    """Share cards and one post per (story, channel, language) not posted before, on
    every channel or on ``only_channels``.

    A dry run composes for every defined channel, enabled or not, records
    nothing, and returns what each network would get.  A real run also
    writes the archive page of every story it posts (:func:`write_story_pages`).
    """
    unknown = sorted(set(only_channels or ()) - set(ctx.settings.social))
    if unknown:
        known = ", ".join(sorted(ctx.settings.social)) or "none"
        raise ConfigError(f"no social channel named {unknown[0]!r} (known: {known})")
    try:
        channels = ctx.all_channels() if dry_run else ctx.enabled_channels()
    except DistributorError as err:
        report.error("social", "channels", str(err))
        return []
    if only_channels is not None:
        channels = {k: v for k, v in channels.items() if k in only_channels}
    cache = cache if cache is not None else RunCache()
    if not dry_run:
        # the social queue (issue 18): the posts are queued, and those whose time has come
        # (at once on "auto" channels without slots) go through the ledger
        from distributor.service.posts import publish_stories

        publish_stories(ctx, stories, report, channels, cache)
        return []
    wanted = [(s, name) for name, ch in channels.items() for s in stories if ch.wants(s.language)]
    if not wanted:
        return []
    cards = make_cards(ctx, list({s.id: s for s, _ in wanted}.values()), report, cache.cards)
    env = DigestRenderer(ctx.settings).env
    previews = []
    for story, name in wanted:
        channel = channels[name]
        post = compose_for(ctx, story, channel, cards, env)
        rules = channel.rules()
        previews.append((name, story, composed_view(post.text, rules)))
    report.posts.skipped += len(wanted)
    return previews
