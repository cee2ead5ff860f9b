"""Repository of queued social posts (issue 18): their life cycle, text versions, counts.

Every change is one transaction that checks what the caller read, as for editions: a
state change names the states it may start from, an edit names the version it was made
on.  Two editors saving at once, or two schedulers posting the same slot, never both
win: the second gets a :class:`~distributor.errors.ConflictError` (or ``None`` for a
claim).  Nothing here reads a clock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from distributor.errors import ConflictError, NotFoundError
from distributor.models import DeliveryState, PostChange, PostMetrics, PostState, QueuedPost
from distributor.store import schema as s
from distributor.store.repository import Store


@dataclass(frozen=True, slots=True)
class NewPost:
    """What :meth:`PostStore.create` writes."""

    story_id: str
    channel: str
    language: str
    state: PostState
    text: str
    at: datetime | None
    created_by: str = "run"
    approved_by: str | None = None


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """The ledger row (``posts``) of a queued post: what the dispatcher did."""

    state: str
    provider_id: str | None
    error: str | None
    retryable: bool
    updated_at: datetime


class PostStore:
    """Queued posts over one :class:`~distributor.store.Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # ------------------------------------------------------------------ reading
    def get(self, post_id: int) -> QueuedPost:
        with self.store.engine.connect() as conn:
            row = conn.execute(select(s.queued_posts).where(s.queued_posts.c.id == post_id)).first()
        if row is None:
            raise NotFoundError(f"no post with id {post_id}")
        return _post(row)

    def find(self, story_id: str, channel: str, language: str) -> QueuedPost | None:
        q = s.queued_posts
        with self.store.engine.connect() as conn:
            row = conn.execute(
                select(q).where(
                    q.c.story_id == story_id, q.c.channel == channel, q.c.language == language
                )
            ).first()
        return _post(row) if row is not None else None

    def listing(
        self,
        *,
        channel: str | None = None,
        states: Iterable[PostState] | None = None,
        story_ids: Iterable[str] | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 200,
    ) -> list[QueuedPost]:
        """By time (posts without one last), then id."""
        q = s.queued_posts
        query = select(q)
        if channel is not None:
            query = query.where(q.c.channel == channel)
        if states is not None:
            query = query.where(q.c.state.in_([str(x) for x in states]))
        if story_ids is not None:
            query = query.where(q.c.story_id.in_(list(story_ids)))
        if since is not None:
            query = query.where(q.c.at >= since)
        if until is not None:
            query = query.where(q.c.at < until)
        query = query.order_by(q.c.at.is_(None), q.c.at, q.c.id).limit(limit)
        with self.store.engine.connect() as conn:
            return [_post(r) for r in conn.execute(query)]

    def due(self, now: datetime, channel: str | None = None) -> list[QueuedPost]:
        """Approved or scheduled posts whose time has come, oldest first."""
        q = s.queued_posts
        query = select(q).where(
            q.c.state.in_([PostState.APPROVED.value, PostState.SCHEDULED.value]),
            q.c.at.is_not(None),
            q.c.at <= now,
        )
        if channel is not None:
            query = query.where(q.c.channel == channel)
        with self.store.engine.connect() as conn:
            return [_post(r) for r in conn.execute(query.order_by(q.c.at, q.c.id))]

    def changes(self, post_id: int) -> list[PostChange]:
        c = s.post_changes
        query = select(c).where(c.c.post_id == post_id).order_by(c.c.id)
        with self.store.engine.connect() as conn:
            return [
                PostChange(r.at, r.who, r.action, int(r.text_version), r.text, r.detail)
                for r in conn.execute(query)
            ]

    def ledger(self, posts: Sequence[QueuedPost]) -> dict[int, LedgerRow]:
        """The ledger rows of ``posts`` (by queued post id), where they have one."""
        if not posts:
            return {}
        p = s.posts
        keys = {(x.story_id, x.channel, x.language): x.id for x in posts}
        query = select(p).where(p.c.story_id.in_({x.story_id for x in posts}))
        out: dict[int, LedgerRow] = {}
        with self.store.engine.connect() as conn:
            for r in conn.execute(query):
                pid = keys.get((r.story_id, r.channel, r.language))
                if pid is not None:
                    out[pid] = LedgerRow(
                        r.state, r.provider_id, r.error, bool(r.retryable), r.updated_at
                    )
        return out

    def ledger_row(self, story_id: str, channel: str, language: str) -> LedgerRow | None:
        p = s.posts
        with self.store.engine.connect() as conn:
            r = conn.execute(
                select(p).where(
                    p.c.story_id == story_id, p.c.channel == channel, p.c.language == language
                )
            ).first()
        if r is None:
            return None
        return LedgerRow(r.state, r.provider_id, r.error, bool(r.retryable), r.updated_at)

    def metrics(self, post_ids: Iterable[int]) -> dict[int, PostMetrics]:
        m = s.post_metrics
        ids = list(post_ids)
        if not ids:
            return {}
        with self.store.engine.connect() as conn:
            return {
                r.post_id: PostMetrics(
                    r.post_id, r.fetched_at, r.likes, r.reposts, r.replies, r.quotes
                )
                for r in conn.execute(select(m).where(m.c.post_id.in_(ids)))
            }

    # ------------------------------------------------------------------ writing
    def create(self, new: NewPost, now: datetime) -> QueuedPost | None:
        """Write a new queued post; ``None`` when (story, channel, language) has one."""
        try:
            with self.store._tx() as conn:
                inserted = conn.execute(
                    insert(s.queued_posts).values(
                        story_id=new.story_id,
                        channel=new.channel,
                        language=new.language,
                        state=str(new.state),
                        text=new.text,
                        text_version=1,
                        version=1,
                        at=new.at,
                        created_by=new.created_by,
                        approved_by=new.approved_by,
                        approved_at=now if new.approved_by else None,
                        created_at=now,
                        updated_at=now,
                    )
                ).inserted_primary_key
                assert inserted is not None
                pid = int(inserted[0])
                _log(conn, pid, now, new.created_by, "create", 1, new.text, {"state": new.state})
        except IntegrityError:
            return None
        return self.get(pid)

    def save(
        self,
        post: QueuedPost,
        *,
        version: int,
        who: str,
        action: str,
        detail: Mapping[str, Any] | None,
        now: datetime,
        new_text: bool = False,
    ) -> QueuedPost:
        """Write ``post`` (state, text, time, reason, approval) if the stored post is
        still at ``version``; the version goes up by one and the change is logged (with
        the text when ``new_text``: a new text version)."""
        q = s.queued_posts
        with self.store._tx() as conn:
            changed = conn.execute(
                update(q)
                .where(q.c.id == post.id, q.c.version == version)
                .values(
                    state=str(post.state),
                    text=post.text,
                    text_version=post.text_version,
                    at=post.at,
                    reason=post.reason,
                    approved_by=post.approved_by,
                    approved_at=post.approved_at,
                    error=post.error,
                    version=version + 1,
                    updated_at=now,
                )
            ).rowcount
            if changed != 1:
                current = conn.execute(select(q.c.version).where(q.c.id == post.id)).scalar()
                if current is None:
                    raise NotFoundError(f"no post with id {post.id}")
                raise ConflictError(
                    f"post {post.id} was changed by someone else (version {current}, "
                    f"yours {version}); reload it and make your change again"
                )
            _log(
                conn,
                post.id,
                now,
                who,
                action,
                post.text_version,
                post.text if new_text else None,
                detail,
            )
        return self.get(post.id)

    def claim(
        self,
        post_id: int,
        *,
        from_states: Sequence[PostState],
        to_state: PostState,
        who: str,
        action: str,
        now: datetime,
        reason: str | None = None,
    ) -> QueuedPost | None:
        """Move a post from one of ``from_states`` to ``to_state`` in one statement;
        ``None`` when it was not in one of them (someone else moved it first).  A claim
        for posting records the text version that goes (only that one ever does)."""
        q = s.queued_posts
        values: dict[str, Any] = {
            "state": str(to_state),
            "version": q.c.version + 1,
            "updated_at": now,
            "reason": reason,
        }
        if to_state == PostState.POSTING:
            values["posted_version"] = q.c.text_version
            values["error"] = None
        with self.store._tx() as conn:
            changed = conn.execute(
                update(q)
                .where(q.c.id == post_id, q.c.state.in_([str(x) for x in from_states]))
                .values(**values)
            ).rowcount
            if changed != 1:
                return None
            tv = conn.execute(select(q.c.text_version).where(q.c.id == post_id)).scalar()
            _log(conn, post_id, now, who, action, int(tv or 1), None, {"state": str(to_state)})
        return self.get(post_id)

    def settle(self, post_id: int, row: LedgerRow, state: PostState, now: datetime) -> None:
        """Copy the ledger's outcome onto a post that is posting (or has an outcome)."""
        q = s.queued_posts
        values: dict[str, Any] = {
            "state": str(state),
            "provider_id": row.provider_id,
            "error": row.error,
            "version": q.c.version + 1,
            "updated_at": now,
        }
        if state == PostState.POSTED:
            values["at"] = row.updated_at
        with self.store._tx() as conn:
            changed = conn.execute(
                update(q).where(q.c.id == post_id, q.c.state != str(state)).values(**values)
            ).rowcount
            if changed:
                tv = conn.execute(select(q.c.text_version).where(q.c.id == post_id)).scalar()
                _log(conn, post_id, now, "ledger", str(state), int(tv or 1), None, None)

    def put_back(self, post: QueuedPost, state: PostState, error: str, now: datetime) -> None:
        """A post claimed for posting that never went (its channel refused the call):
        back to its earlier state, its pending ledger row removed, the alert kept."""
        q, p = s.queued_posts, s.posts
        with self.store._tx() as conn:
            conn.execute(
                delete(p).where(
                    p.c.story_id == post.story_id,
                    p.c.channel == post.channel,
                    p.c.language == post.language,
                    p.c.state == DeliveryState.PENDING.value,
                )
            )
            changed = conn.execute(
                update(q)
                .where(q.c.id == post.id, q.c.state == PostState.POSTING.value)
                .values(
                    state=str(state),
                    posted_version=None,
                    error=error,
                    version=q.c.version + 1,
                    updated_at=now,
                )
            ).rowcount
            if changed:
                _log(
                    conn, post.id, now, "ledger", "wait", post.text_version, None, {"error": error}
                )

    def record_metrics(self, found: PostMetrics, error: str | None = None) -> None:
        m = s.post_metrics
        values = {
            "fetched_at": found.fetched_at,
            "likes": found.likes,
            "reposts": found.reposts,
            "replies": found.replies,
            "quotes": found.quotes,
            "error": error,
        }
        with self.store._tx() as conn:
            done = conn.execute(
                update(m).where(m.c.post_id == found.post_id).values(**values)
            ).rowcount
            if not done:
                conn.execute(insert(m).values(post_id=found.post_id, **values))

    def metrics_due(
        self, channel: str, *, posted_since: datetime, read_before: datetime, limit: int
    ) -> list[QueuedPost]:
        """Posted posts of ``channel`` younger than ``posted_since`` whose counts were
        never read or last read before ``read_before``; the least recently read first."""
        q, m = s.queued_posts, s.post_metrics
        query = (
            select(q)
            .outerjoin(m, m.c.post_id == q.c.id)
            .where(
                q.c.channel == channel,
                q.c.state == PostState.POSTED.value,
                q.c.provider_id.is_not(None),
                q.c.at >= posted_since,
                (m.c.fetched_at.is_(None)) | (m.c.fetched_at < read_before),
            )
            .order_by(m.c.fetched_at.is_not(None), m.c.fetched_at, q.c.id)
            .limit(limit)
        )
        with self.store.engine.connect() as conn:
            return [_post(r) for r in conn.execute(query)]


def _log(
    conn: Connection,
    post_id: int,
    now: datetime,
    who: str,
    action: str,
    text_version: int,
    text: str | None,
    detail: Mapping[str, Any] | None,
) -> None:
    conn.execute(
        insert(s.post_changes).values(
            post_id=post_id,
            at=now,
            who=who,
            action=action,
            text_version=text_version,
            text=text,
            detail={k: str(v) for k, v in detail.items()} if detail is not None else None,
        )
    )


def _post(r: Any) -> QueuedPost:
    return QueuedPost(
        id=r.id,
        story_id=r.story_id,
        channel=r.channel,
        language=r.language,
        state=PostState(r.state),
        text=r.text,
        text_version=int(r.text_version),
        version=int(r.version),
        at=r.at,
        reason=r.reason,
        created_by=r.created_by,
        approved_by=r.approved_by,
        approved_at=r.approved_at,
        posted_version=r.posted_version,
        provider_id=r.provider_id,
        error=r.error,
        created_at=r.created_at,
        updated_at=r.updated_at,
    )
