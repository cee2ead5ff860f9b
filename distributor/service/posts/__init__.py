"""A social queue editors trust (issue 18): the use cases of queued posts.

A post (:class:`~distributor.models.QueuedPost`) is one story on one channel in one
language, stored before it goes::

    draft ──approve──> approved (at = the next free slot of the queue) ──┐
      │  └─schedule──> scheduled (at = a time an editor pinned)   ───────┴──> posting
      └──────── cancel ──> cancelled  (from draft, approved or scheduled)      │
                                                    posted | failed | unknown <┘

A run makes the posts of every story it publishes: per channel, ``approval = "auto"``
approves them into the next free slots at once, ``"editor"`` leaves them as drafts.
The slots (``slots = ["08:00", "12:30"]`` in the channel's ``timezone``, per language)
are filled in order, and two posts of one story (its translations) on one channel stay
``min_gap_minutes`` apart.  Posts whose time has come are claimed (``posting``, the
text version that goes is recorded) and handed to the ledger, which posts each
(story, channel, language) at most once: editing a post makes a new text version,
and only the version claimed ever goes.  Before posting, a post whose story was
excluded or unpublished is cancelled with the reason.  A channel that refuses its
credentials leaves its posts queued, with the alert on each.

Every door (CLI, dashboard, JSON API, scheduler) calls these functions; each change
names the version it was made on (``--if-version``) and is logged with who made it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from distributor import pipeline
from distributor.errors import (
    ConfigError,
    DistributorError,
    PostError,
    PostStateError,
    PostTextError,
)
from distributor.models import (
    PostChange,
    PostState,
    QueuedPost,
    Story,
)
from distributor.render.digest import DigestRenderer
from distributor.report import RunReport
from distributor.service.context import Context
from distributor.service.posts.posting import (
    cancel_gone,
    post_due,
    publish_stories,
    queue_stories,
    settle,
)
from distributor.service.posts.slots import (
    HORIZON_DAYS,
    channel_config,
    channel_zone,
    check_gap,
    next_free_slot,
    parse_time,
    slot_times,
    story_of,
)
from distributor.share.cards import CardSet
from distributor.share.counting import HASHTAG
from distributor.share.posts import ComposedPost, composed_view
from distributor.social.base import SocialChannel
from distributor.store.posts import PostStore

__all__ = [
    "HORIZON_DAYS",
    "QueuedPost",
    "TextCheck",
    "approve",
    "cancel",
    "cancel_gone",
    "changes",
    "channel_config",
    "channel_zone",
    "check_gap",
    "check_text",
    "describe",
    "edit",
    "get",
    "listing",
    "move",
    "next_free_slot",
    "parse_time",
    "post_due",
    "post_now",
    "preview",
    "publish_stories",
    "queue_stories",
    "schedule",
    "settle",
    "slot_times",
    "story_of",
]


# ------------------------------------------------------------------- values
@dataclass(frozen=True)
class TextCheck:
    """A text as the channel's network counts it, and why it would refuse it."""

    channel: str
    view: ComposedPost
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"channel": self.channel, "ok": self.ok, "problems": list(self.problems)} | (
            self.view.to_dict()
        )


# ------------------------------------------------------------------ reading
def get(ctx: Context, post_id: int) -> QueuedPost:
    """One post (``NotFoundError`` when there is none)."""
    return PostStore(ctx.store).get(post_id)


def listing(
    ctx: Context,
    *,
    channel: str | None = None,
    states: Sequence[PostState] | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
) -> list[QueuedPost]:
    """Posts by time (those without one last)."""
    if channel is not None:
        channel_config(ctx, channel)
    return PostStore(ctx.store).listing(
        channel=channel, states=states, since=since, until=until, limit=limit
    )


def changes(ctx: Context, post_id: int) -> list[PostChange]:
    PostStore(ctx.store).get(post_id)
    return PostStore(ctx.store).changes(post_id)


def describe(ctx: Context, post: QueuedPost, *, story: Story | None = None) -> dict[str, Any]:
    """A post as JSON-ready data: what the CLI's ``--json`` and the API print."""
    from distributor.service.post_metrics import counts_of  # a sibling use case

    cfg = ctx.settings.social.get(post.channel)
    zone = ZoneInfo(cfg.timezone) if cfg is not None else ZoneInfo("UTC")
    if story is None:
        story = ctx.store.stories_by_id([post.story_id]).get(post.story_id)
    counts = counts_of(ctx, [post.id]).get(post.id)
    return {
        "id": post.id,
        "story": post.story_id,
        "title": story.title if story else None,
        "channel": post.channel,
        "network": cfg.provider if cfg is not None else None,
        "language": post.language,
        "state": str(post.state),
        "text": post.text,
        "text_version": post.text_version,
        "version": post.version,
        "at": post.at.isoformat() if post.at else None,
        "at_local": post.at.astimezone(zone).isoformat() if post.at else None,
        "timezone": str(zone),
        "approval": cfg.approval if cfg is not None else None,
        "reason": post.reason,
        "error": post.error,
        "created_by": post.created_by,
        "approved_by": post.approved_by,
        "approved_at": post.approved_at.isoformat() if post.approved_at else None,
        "posted_version": post.posted_version,
        "provider_id": post.provider_id,
        "created_at": post.created_at.isoformat(),
        "updated_at": post.updated_at.isoformat(),
        "counts": counts,
    }


# ------------------------------------------------------------ the live count
def check_text(ctx: Context, channel: str, text: str) -> TextCheck:
    """``text`` counted by the same rules the composer uses for ``channel``'s network
    (server-side: what the page shows is what the post gets), and why the network
    would refuse it (empty, over its limit, over its byte limit)."""
    channel_config(ctx, channel)
    rules = _channel(ctx, channel).rules()
    view = composed_view(text, rules)
    problems = []
    if not text.strip():
        problems.append("the text is empty")
    if view.length > view.limit:
        problems.append(
            f"{view.length} {view.unit} is over {rules.network}'s limit of {view.limit}"
        )
    if view.byte_limit is not None and view.byte_length > view.byte_limit:
        problems.append(f"{view.byte_length} bytes is over the limit of {view.byte_limit}")
    return TextCheck(channel, view, tuple(problems))


# ---------------------------------------------------------- an editor's work
def edit(ctx: Context, post_id: int, *, text: str, version: int, by: str) -> QueuedPost:
    """A new text for an open post: a new text version, checked as its network counts
    (``PostTextError`` when the network would refuse it).  The post keeps its state
    and time; an approved or scheduled post is approved again by the editor who edits."""
    store = PostStore(ctx.store)
    post = store.get(post_id)
    _must_be_open(post, "edit")
    check = check_text(ctx, post.channel, text)
    if not check.ok:
        raise PostTextError(f"post {post_id}: " + "; ".join(check.problems))
    if text == post.text:
        return post
    approved = post.state != PostState.DRAFT
    changed = dataclasses.replace(
        post,
        text=text,
        text_version=post.text_version + 1,
        approved_by=by if approved else post.approved_by,
        approved_at=ctx.clock() if approved else post.approved_at,
    )
    return store.save(
        changed,
        version=version,
        who=by,
        action="edit",
        detail={"length": check.view.length},
        now=ctx.clock(),
        new_text=True,
    )


def approve(ctx: Context, post_id: int, *, version: int, by: str) -> QueuedPost:
    """A draft approved into the next free slot of its channel's queue (its own time if
    it was moved to a free one already)."""
    store = PostStore(ctx.store)
    post = store.get(post_id)
    if post.state != PostState.DRAFT:
        raise PostStateError(f"post {post_id} is {post.state}; only a draft can be approved")
    now = ctx.clock()
    story = story_of(ctx, post)
    at = post.at
    if (
        at is None
        or at < now
        or next_free_slot(ctx, post.channel, story, after=at, exclude=post.id) != at
    ):
        at = next_free_slot(ctx, post.channel, story, after=now, exclude=post.id)
    return _save(ctx, post, version, by, "approve", PostState.APPROVED, at)


def schedule(ctx: Context, post_id: int, *, at: datetime, version: int, by: str) -> QueuedPost:
    """Pin an open post to a time an editor chose (approving it): ``scheduled``."""
    store = PostStore(ctx.store)
    post = store.get(post_id)
    _must_be_open(post, "schedule")
    if at.tzinfo is None:
        raise PostError(f"{at.isoformat()} has no zone offset")
    now = ctx.clock()
    if at < now - timedelta(minutes=1):
        raise PostError(f"{at.isoformat()} is in the past")
    check_gap(ctx, post, at)
    return _save(ctx, post, version, by, "schedule", PostState.SCHEDULED, at)


def move(ctx: Context, post_id: int, *, to: datetime | None, version: int, by: str) -> QueuedPost:
    """Move an open post to another slot of its queue: ``to`` (one of the channel's
    slots for its language, free), or the next free slot after its time when ``None``.
    A scheduled post moved into the queue is ``approved`` again."""
    store = PostStore(ctx.store)
    post = store.get(post_id)
    _must_be_open(post, "move")
    cfg = channel_config(ctx, post.channel)
    story = story_of(ctx, post)
    now = ctx.clock()
    if to is None:
        start = max(post.at or now, now) + timedelta(minutes=1)
        at = next_free_slot(ctx, post.channel, story, after=start, exclude=post.id)
    else:
        times = slot_times(cfg, post.language)
        local = to.astimezone(ZoneInfo(cfg.timezone))
        if local.timetz().replace(tzinfo=None) not in times:
            shown = ", ".join(t.strftime("%H:%M") for t in times) or "none"
            raise PostError(
                f"{local.strftime('%H:%M')} is not a slot of {post.channel} for "
                f"{post.language} (slots: {shown}); pin the post to a time with schedule"
            )
        if to < now:
            raise PostError(f"{to.isoformat()} is in the past")
        if next_free_slot(ctx, post.channel, story, after=to, exclude=post.id) != to:
            raise PostError(
                f"the slot {local.isoformat()} is taken (or too near the story's other posts)"
            )
        at = to
    state = PostState.DRAFT if post.state == PostState.DRAFT else PostState.APPROVED
    return _save(ctx, post, version, by, "move", state, at)


def post_now(ctx: Context, post_id: int, *, version: int, by: str) -> tuple[QueuedPost, RunReport]:
    """Approve an open post for now and post it at once (through the ledger: once)."""
    post = schedule(ctx, post_id, at=ctx.clock(), version=version, by=by)
    report = RunReport(started_at=ctx.clock().isoformat(), dry_run=False)
    try:
        channels = {post.channel: ctx.enabled_channels()[post.channel]}
    except KeyError as err:
        raise ConfigError(f"channel {post.channel} is not enabled") from err
    post_due(ctx, report, channels=channels, ids=[post.id], by=by)
    return get(ctx, post.id), report


def cancel(ctx: Context, post_id: int, *, version: int, by: str, reason: str = "") -> QueuedPost:
    """Cancel an open post; it never goes."""
    post = PostStore(ctx.store).get(post_id)
    _must_be_open(post, "cancel")
    changed = dataclasses.replace(
        post, state=PostState.CANCELLED, reason=reason or f"cancelled by {by}"
    )
    return PostStore(ctx.store).save(
        changed,
        version=version,
        who=by,
        action="cancel",
        detail={"reason": reason},
        now=ctx.clock(),
    )


def _save(
    ctx: Context,
    post: QueuedPost,
    version: int,
    by: str,
    action: str,
    state: PostState,
    at: datetime,
) -> QueuedPost:
    approved = state in (PostState.APPROVED, PostState.SCHEDULED)
    now = ctx.clock()
    changed = dataclasses.replace(
        post,
        state=state,
        at=at,
        error=None,
        approved_by=by if approved and action != "move" else post.approved_by,
        approved_at=now if approved and action != "move" else post.approved_at,
    )
    return PostStore(ctx.store).save(
        changed,
        version=version,
        who=by,
        action=action,
        detail={"state": state, "at": at.isoformat()},
        now=now,
    )


def _must_be_open(post: QueuedPost, verb: str) -> None:
    if not post.is_open:
        raise PostStateError(f"post {post.id} is {post.state}: too late to {verb} it")


def _channel(ctx: Context, name: str) -> SocialChannel:
    channels = ctx.all_channels()
    return channels[name]


def preview(ctx: Context, post_id: int) -> dict[str, Any]:
    """A post as its network would show it: the text with its link and hashtags, the
    counted length and the limit, the card and its alt text (the card is made if the
    cache lacks it)."""
    post = get(ctx, post_id)
    story = story_of(ctx, post)
    channel = _channel(ctx, post.channel)
    check = check_text(ctx, post.channel, post.text)
    card_name: str | None = None
    alt_text = ""
    cards: dict[str, CardSet] = {}
    try:
        card = pipeline.card_maker(ctx).card_set(story)
        cards[story.id] = card
        card_name, alt_text = Path(card.og.path).name, card.og.alt_text
    except DistributorError:
        pass
    env = DigestRenderer(ctx.settings).env
    composed = pipeline.compose_for(ctx, story, channel, cards, env)
    return {
        "post": describe(ctx, post, story=story),
        "count": check.to_dict(),
        "url": composed.url,
        "link_in_text": channel.rules().link_in_text,
        "card": card_name,
        "alt_text": alt_text,
        "supports_alt_text": channel.supports_alt_text,
        "hashtags": HASHTAG.findall(post.text),
    }
