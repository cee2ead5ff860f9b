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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment

from distributor import pipeline
from distributor.dispatch import publish_posts
from distributor.errors import (
    ConfigError,
    DistributorError,
    NotFoundError,
    PostError,
    PostStateError,
    PostTextError,
)
from distributor.models import (
    OPEN_POST_STATES,
    SLOT_POST_STATES,
    DeliveryState,
    Post,
    PostChange,
    PostState,
    QueuedPost,
    Story,
    StoryStatus,
)
from distributor.render.digest import DigestRenderer
from distributor.report import RunReport
from distributor.service.context import Context
from distributor.share.cards import CardSet
from distributor.share.counting import HASHTAG
from distributor.share.posts import ComposedPost, composed_view
from distributor.social.base import SocialChannel
from distributor.store import ClaimedPost
from distributor.store.posts import NewPost, PostStore
from distributor.store.social import translations_of

#: how far ahead the queue looks for a free slot
HORIZON_DAYS = 400
_LEDGER_TO_STATE = {
    DeliveryState.PENDING.value: PostState.POSTING,
    DeliveryState.SENDING.value: PostState.POSTING,
    DeliveryState.SENT.value: PostState.POSTED,
    DeliveryState.FAILED.value: PostState.FAILED,
    DeliveryState.UNKNOWN.value: PostState.UNKNOWN,
}


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


@dataclass
class PostOutcome:
    """What posting due posts did: the posts claimed, and the run report."""

    posted: list[QueuedPost] = field(default_factory=list)
    report: RunReport | None = None


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


def channel_config(ctx: Context, name: str) -> Any:
    """The ``[social.NAME]`` settings (``NotFoundError`` for an unknown channel)."""
    cfg = ctx.settings.social.get(name)
    if cfg is None:
        known = ", ".join(sorted(ctx.settings.social)) or "none"
        raise NotFoundError(f"no social channel named {name!r} (known: {known})")
    return cfg


def channel_zone(ctx: Context, name: str) -> ZoneInfo:
    return ZoneInfo(channel_config(ctx, name).timezone)


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


# ------------------------------------------------------------------- slots
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
    try:
        queue_stories(ctx, wanted, channels, env)
    except DistributorError as err:
        report.error("social", "queue", str(err))
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
        for line in out.errors:
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
    story = _story(ctx, post)
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
    _check_gap(ctx, post, at)
    return _save(ctx, post, version, by, "schedule", PostState.SCHEDULED, at)


def move(ctx: Context, post_id: int, *, to: datetime | None, version: int, by: str) -> QueuedPost:
    """Move an open post to another slot of its queue: ``to`` (one of the channel's
    slots for its language, free), or the next free slot after its time when ``None``.
    A scheduled post moved into the queue is ``approved`` again."""
    store = PostStore(ctx.store)
    post = store.get(post_id)
    _must_be_open(post, "move")
    cfg = channel_config(ctx, post.channel)
    story = _story(ctx, post)
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


def _check_gap(ctx: Context, post: QueuedPost, at: datetime) -> None:
    cfg = channel_config(ctx, post.channel)
    if not cfg.min_gap_minutes:
        return
    _taken, group_times = _holders(ctx, post.channel, _story(ctx, post), post.id, at)
    gap = timedelta(minutes=cfg.min_gap_minutes)
    near = [g for g in group_times if abs(at - g) < gap]
    if near:
        raise PostError(
            f"{at.isoformat()} is within {cfg.min_gap_minutes} minutes of this story's "
            f"post at {near[0].isoformat()} on {post.channel}"
        )


def _must_be_open(post: QueuedPost, verb: str) -> None:
    if not post.is_open:
        raise PostStateError(f"post {post.id} is {post.state}: too late to {verb} it")


def _story(ctx: Context, post: QueuedPost) -> Story:
    story = ctx.store.stories_by_id([post.story_id]).get(post.story_id)
    if story is None:
        raise NotFoundError(f"post {post.id}: story {post.story_id} is gone")
    return story


def _channel(ctx: Context, name: str) -> SocialChannel:
    channels = ctx.all_channels()
    return channels[name]


def preview(ctx: Context, post_id: int) -> dict[str, Any]:
    """A post as its network would show it: the text with its link and hashtags, the
    counted length and the limit, the card and its alt text (the card is made if the
    cache lacks it)."""
    post = get(ctx, post_id)
    story = _story(ctx, post)
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
