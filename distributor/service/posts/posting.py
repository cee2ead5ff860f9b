"""Posts made by a run and posted when their time comes (issue 18): queue, cancel what
must not go, claim what is due, post it through the ledger, copy the outcome back."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

from jinja2 import Environment

from distributor import pipeline
from distributor.dispatch import publish_posts
from distributor.errors import (
    DistributorError,
)
from distributor.models import (
    OPEN_POST_STATES,
    DeliveryState,
    Post,
    PostState,
    QueuedPost,
    Story,
    StoryStatus,
)
from distributor.render.digest import DigestRenderer
from distributor.report import RunReport
from distributor.service.context import Context
from distributor.service.posts.slots import channel_config, next_free_slot
from distributor.share.cards import CardSet
from distributor.social.base import SocialChannel
from distributor.store import ClaimedPost
from distributor.store.posts import NewPost, PostStore

_LEDGER_TO_STATE = {
    DeliveryState.PENDING.value: PostState.POSTING,
    DeliveryState.SENDING.value: PostState.POSTING,
    DeliveryState.SENT.value: PostState.POSTED,
    DeliveryState.FAILED.value: PostState.FAILED,
    DeliveryState.UNKNOWN.value: PostState.UNKNOWN,
}


# ---------------------------------------------------------- made by the run
def queue_stories(
    ctx: Context,
    stories: Sequence[Story],
    channels: dict[str, SocialChannel],
    env: Environment | None = None,
) -> list[QueuedPost]:
    """The posts of newly published stories, one per (story, channel, language) not
    queued (or posted) before: approved into the next free slots on ``approval =
    "auto"`` channels, drafts on ``"editor"`` ones.  Returns the posts made."""
    store = PostStore(ctx.store)
    env = env or DigestRenderer(ctx.settings).env
    made: list[QueuedPost] = []
    excluded = pipeline.excluded_stories(ctx)
    for story in stories:
        if excluded(story) or story.status != StoryStatus.PUBLISHED:
            continue
        for name, channel in channels.items():
            if not channel.wants(story.language):
                continue
            if store.find(story.id, name, story.language) is not None:
                continue
            if store.ledger_row(story.id, name, story.language) is not None:
                continue  # posted (or posting) before the queue existed
            cfg = channel_config(ctx, name)
            text = pipeline.compose_for(ctx, story, channel, {}, env).text
            now = ctx.clock()
            auto = cfg.approval == "auto"
            new = store.create(
                NewPost(
                    story_id=story.id,
                    channel=name,
                    language=story.language,
                    state=PostState.APPROVED if auto else PostState.DRAFT,
                    text=text,
                    at=next_free_slot(ctx, name, story, after=now) if auto else None,
                    created_by="run",
                    approved_by="auto" if auto else None,
                ),
                now,
            )
            if new is not None:
                made.append(new)
    return made


def cancel_gone(ctx: Context, by: str = "run") -> list[QueuedPost]:
    """Cancel every open post whose story was excluded by an editor, unpublished, or
    removed since it was queued; the reason is kept on the post."""
    store = PostStore(ctx.store)
    open_posts = store.listing(states=OPEN_POST_STATES, limit=100_000)
    if not open_posts:
        return []
    stories = ctx.store.stories_by_id(list({p.story_id for p in open_posts}))
    excluded = pipeline.excluded_stories(ctx)
    out = []
    for p in open_posts:
        story = stories.get(p.story_id)
        if story is None:
            reason = "its story is gone from the store"
        elif excluded(story):
            reason = "its story was excluded by an editor"
        elif story.status != StoryStatus.PUBLISHED:
            reason = f"its story was unpublished (now {story.status})"
        else:
            continue
        done = store.claim(
            p.id,
            from_states=OPEN_POST_STATES,
            to_state=PostState.CANCELLED,
            who=by,
            action="cancel",
            now=ctx.clock(),
            reason=reason,
        )
        if done is not None:
            out.append(done)
    return out


def publish_stories(
    ctx: Context,
    stories: list[Story],
    report: RunReport,
    channels: dict[str, SocialChannel],
    cache: pipeline.RunCache,
) -> None:
    """What a run does for social: queue the posts of its stories, then post every post
    whose time has come (those of ``"auto"`` channels without slots: at once)."""
    env = DigestRenderer(ctx.settings).env
    wanted = [s for s in stories if any(ch.wants(s.language) for ch in channels.values())]
    if wanted:  # the archive page each post links to, written as the story is queued
        pipeline.make_cards(ctx, wanted, report, cache.cards)
        try:
            pipeline.write_story_pages(ctx, wanted, report, cache)
        except (OSError, DistributorError) as err:  # pages never stop the posts
            report.error("archive", "story pages", str(err))
    made: list[QueuedPost] = []
    try:
        made = queue_stories(ctx, wanted, channels, env)
    except DistributorError as err:
        report.error("social", "queue", str(err))
    now = ctx.clock()
    for name in sorted({p.channel for p in made}):
        drafts = [p for p in made if p.channel == name and p.state == PostState.DRAFT]
        later = [p for p in made if p.channel == name and p.at is not None and p.at > now]
        if drafts:
            report.notes.append(
                f"channel {name}: {len(drafts)} posts drafted for an editor "
                f"(distributor posts list --channel {name})"
            )
        if later:
            first = min(p.at for p in later if p.at is not None)
            report.notes.append(
                f"channel {name}: {len(later)} posts queued for their slots "
                f"(the first at {first.isoformat()})"
            )
    post_due(ctx, report, channels=channels, cache=cache, write_pages=False)


# --------------------------------------------------------------- posting
def post_due(
    ctx: Context,
    report: RunReport,
    *,
    channels: dict[str, SocialChannel] | None = None,
    ids: Iterable[int] | None = None,
    cache: pipeline.RunCache | None = None,
    by: str = "run",
    write_pages: bool = True,
) -> list[QueuedPost]:
    """Post every approved or scheduled post whose time has come (only ``ids`` when
    given), through the ledger; returns the posts claimed, as they ended."""
    for gone in cancel_gone(ctx, by=by):
        report.notes.append(f"post {gone.id} ({gone.channel}) cancelled: {gone.reason}")
    if channels is None:
        try:
            channels = ctx.enabled_channels()
        except DistributorError as err:
            report.error("social", "channels", str(err))
            return []
    store = PostStore(ctx.store)
    wanted = set(ids) if ids is not None else None
    now = ctx.clock()
    claimed: dict[str, list[tuple[QueuedPost, QueuedPost]]] = {}
    for p in store.due(now):
        if p.channel not in channels or (wanted is not None and p.id not in wanted):
            continue
        c = store.claim(
            p.id,
            from_states=(PostState.APPROVED, PostState.SCHEDULED),
            to_state=PostState.POSTING,
            who=by,
            action="post",
            now=now,
        )
        if c is None:  # someone else claimed it first: never twice
            continue
        ctx.store.ensure_posts([(c.story_id, c.channel, c.language)], now)
        claimed.setdefault(c.channel, []).append((p, c))
    posting = [c for pairs in claimed.values() for _p, c in pairs]
    stories = ctx.store.stories_by_id(list({c.story_id for c in posting}))
    cache = cache if cache is not None else pipeline.RunCache()
    cards: dict[str, CardSet] = {}
    if stories:
        cards = pipeline.make_cards(ctx, list(stories.values()), report, cache.cards)
    if stories and write_pages:
        try:
            pipeline.write_story_pages(ctx, list(stories.values()), report, cache)
        except (OSError, DistributorError) as err:  # pages never stop the posts
            report.error("archive", "story pages", str(err))
    env = DigestRenderer(ctx.settings).env
    ctx.progress.start("posts", len(posting))
    for name, channel in channels.items():
        _post_channel(ctx, name, channel, claimed.get(name, []), cards, env, report, cache)
    out = [store.get(c.id) for c in posting]
    return out


def _post_channel(
    ctx: Context,
    name: str,
    channel: SocialChannel,
    claimed: list[tuple[QueuedPost, QueuedPost]],
    cards: dict[str, CardSet],
    env: Environment,
    report: RunReport,
    cache: pipeline.RunCache,
) -> None:
    store = PostStore(ctx.store)

    def compose(row: ClaimedPost) -> Post | None:
        story = ctx.store.stories_by_id([row.story_id]).get(row.story_id)
        if story is None:
            return None
        if story.id not in cards:  # a retry of an earlier run's post: its cards too
            cards.update(pipeline.make_cards(ctx, [story], report, cache.cards))
        post = pipeline.compose_for(ctx, story, channel, cards, env)
        queued = store.find(row.story_id, row.channel, row.language)
        if queued is None:  # a ledger row from before the queue
            return post
        if queued.state in OPEN_POST_STATES or queued.state == PostState.CANCELLED:
            return None
        return dataclasses.replace(post, text=queued.text)  # the claimed version

    try:
        out = publish_posts(
            store=ctx.store,
            channel=channel,
            compose=compose,
            clock=ctx.clock,
            progress=lambda n: ctx.progress.advance("posts", n),
        )
    except DistributorError as err:  # one failing network never stops the others
        report.error("social", name, str(err))
        out = None
    if out is not None:
        report.posts.sent += out.sent
        report.posts.failed += out.failed
        report.posts.unknown += out.unknown
        if out.recovered:
            state = "reposted" if channel.idempotent else "marked unknown"
            report.notes.append(
                f"channel {name}: {out.recovered} posts interrupted by an earlier crash "
                f"were {state}"
            )
        # one clear alert: a refusal already on every waiting post is a note, not again
        # an error at every poll
        alerted = bool(claimed) and all(
            (before.error or "").startswith(f"waiting: channel {name}:") for before, _c in claimed
        )
        for line in out.errors:
            if out.stopped is not None and alerted and line.startswith(f"channel {name} "):
                report.notes.append(f"{line} (still; {len(claimed)} posts wait)")
                continue
            report.error("social", name, line)
        if out.stopped is not None:
            # refused credentials or configuration: what did not go waits in the queue
            ledger = store.ledger([c for _p, c in claimed])
            for before, c in claimed:
                row = ledger.get(c.id)
                if row is not None and row.state == DeliveryState.PENDING.value:
                    store.put_back(
                        c, before.state, f"waiting: channel {name}: {out.stopped}", ctx.clock()
                    )
    settle(ctx, name)
    waiting = ctx.store.post_counts(name).unknown
    if waiting:
        report.warn(
            "social",
            name,
            f"{waiting} posts with an unknown outcome are not posted again until an "
            f"editor decides: check the network, then `distributor post --channel {name} "
            "--resolve-unknown sent` (they are there) or `--resolve-unknown repost`",
        )


def settle(ctx: Context, channel: str | None = None) -> None:
    """Copy the ledger's outcomes onto posts that are posting or have an outcome (an
    editor's decision on an unknown post, a retry that went through)."""
    store = PostStore(ctx.store)
    rows = store.listing(
        channel=channel,
        states=(PostState.POSTING, PostState.FAILED, PostState.UNKNOWN),
        limit=100_000,
    )
    for p, row in store.ledger(rows).items():
        state = _LEDGER_TO_STATE.get(row.state)
        current = next(r for r in rows if r.id == p)
        if state is not None and state != current.state:
            store.settle(p, row, state, ctx.clock())
