"""The posts ledger: one row per (story, channel, language), claimed and recorded."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from distributor.models import DeliveryResult, DeliveryState
from distributor.store import schema as s
from distributor.store.repository.base import StoreBase
from distributor.store.repository.values import ClaimedPost, LedgerCounts, post_key


class PostQueries(StoreBase):
    def ensure_posts(self, wanted: Iterable[tuple[str, str, str]], now: datetime) -> int:
        """Ledger rows for (story, channel, language) not yet known. Returns how many are new."""
        added = 0
        with self._tx() as conn:
            for story_id, channel, language in wanted:
                exists = conn.execute(
                    select(s.posts.c.id).where(
                        s.posts.c.story_id == story_id,
                        s.posts.c.channel == channel,
                        s.posts.c.language == language,
                    )
                ).first()
                if exists is None:
                    conn.execute(
                        insert(s.posts).values(
                            story_id=story_id,
                            channel=channel,
                            language=language,
                            state=DeliveryState.PENDING.value,
                            attempts=0,
                            retryable=False,
                            updated_at=now,
                        )
                    )
                    added += 1
        return added

    def recover_posts(
        self, channel: str, *, idempotent: bool, max_attempts: int, now: datetime
    ) -> int:
        """Crash recovery and retry for one channel's posts; see :meth:`recover_deliveries`."""
        with self._tx() as conn:
            res = conn.execute(
                update(s.posts)
                .where(s.posts.c.channel == channel, s.posts.c.state == DeliveryState.SENDING.value)
                .values(
                    state=(DeliveryState.PENDING if idempotent else DeliveryState.UNKNOWN).value,
                    error=None
                    if idempotent
                    else "interrupted while posting; outcome unknown, not reposted",
                    updated_at=now,
                )
            )
            conn.execute(
                update(s.posts)
                .where(
                    s.posts.c.channel == channel,
                    s.posts.c.state == DeliveryState.FAILED.value,
                    s.posts.c.retryable.is_(True),
                    s.posts.c.attempts < max_attempts,
                )
                .values(state=DeliveryState.PENDING.value, updated_at=now)
            )
            return int(res.rowcount or 0)

    def claim_posts(self, channel: str, limit: int, now: datetime) -> list[ClaimedPost]:
        """Move up to ``limit`` pending posts of a channel to ``sending``, atomically."""
        p = s.posts
        candidates = self._locking(
            select(p.c.id)
            .where(p.c.channel == channel, p.c.state == DeliveryState.PENDING.value)
            .order_by(p.c.id)
            .limit(limit)
        )
        with self._tx() as conn:
            rows = conn.execute(
                update(p)
                .where(
                    p.c.id.in_(select(candidates.cte("claim").c.id)),
                    p.c.state == DeliveryState.PENDING.value,
                )
                .values(
                    state=DeliveryState.SENDING.value, attempts=p.c.attempts + 1, updated_at=now
                )
                .returning(p.c.id, p.c.story_id, p.c.language)
            ).all()
        return [
            ClaimedPost(
                r.id, r.story_id, channel, r.language, post_key(r.story_id, channel, r.language)
            )
            for r in sorted(rows, key=lambda r: r.id)
        ]

    def release_posts(self, claimed: Sequence[ClaimedPost], now: datetime) -> None:
        """Give claimed posts back (nothing was attempted): ``sending -> pending``."""
        if not claimed:
            return
        with self._tx() as conn:
            conn.execute(
                update(s.posts)
                .where(
                    s.posts.c.id.in_([c.id for c in claimed]),
                    s.posts.c.state == DeliveryState.SENDING.value,
                )
                .values(
                    state=DeliveryState.PENDING.value,
                    attempts=s.posts.c.attempts - 1,
                    updated_at=now,
                )
            )

    def resolve_unknown_posts(
        self,
        channel: str,
        *,
        decision: str,
        now: datetime,
        story_id: str | None = None,
    ) -> int:
        """An editor's decision on posts whose outcome is unknown; returns how many.

        ``decision`` is ``"sent"`` (the editor found the post on the network) or
        ``"repost"`` (it is not there: post it on the next run).  Nothing else
        ever moves a post out of ``unknown``.
        """
        if decision not in ("sent", "repost"):
            raise ValueError(f"decision must be 'sent' or 'repost', not {decision!r}")
        p = s.posts
        q = update(p).where(p.c.channel == channel, p.c.state == DeliveryState.UNKNOWN.value)
        if story_id is not None:
            q = q.where(p.c.story_id == story_id)
        if decision == "sent":
            values: dict[str, Any] = {
                "state": DeliveryState.SENT.value,
                "error": "outcome was unknown; an editor found it posted",
            }
        else:
            values = {"state": DeliveryState.PENDING.value, "error": None, "attempts": 0}
        with self._tx() as conn:
            res = conn.execute(q.values(**values, updated_at=now))
            return int(res.rowcount or 0)

    def record_post(self, claimed: ClaimedPost, result: DeliveryResult, now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                update(s.posts)
                .where(s.posts.c.id == claimed.id)
                .values(
                    state=result.state.value,
                    provider_id=result.provider_id,
                    error=result.error,
                    retryable=result.retryable,
                    updated_at=now,
                )
            )

    def post_counts(self, channel: str | None = None) -> LedgerCounts:
        q = select(s.posts.c.state, func.count()).group_by(s.posts.c.state)
        if channel:
            q = q.where(s.posts.c.channel == channel)
        with self.engine.connect() as conn:
            counts = {state: n for state, n in conn.execute(q)}
        return LedgerCounts(**{k: counts.get(k, 0) for k in LedgerCounts.__dataclass_fields__})
