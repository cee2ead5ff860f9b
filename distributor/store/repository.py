"""The store: one object over one SQLAlchemy engine, passed to whoever needs it.

SQLite (a file under the data directory) is the default; any SQLAlchemy URL
works, PostgreSQL included.  Ledger claims use ``FOR UPDATE SKIP LOCKED``
where the database supports it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from distributor.errors import StoreError
from distributor.models import (
    DeliveryResult,
    DeliveryState,
    Edition,
    Story,
    StoryStatus,
    Subscriber,
    SubscriberStatus,
)
from distributor.store import migrate
from distributor.store import schema as s


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    id: int
    edition_id: int
    subscriber: Subscriber
    key: str


@dataclass(frozen=True, slots=True)
class ClaimedPost:
    id: int
    story_id: str
    channel: str
    language: str
    key: str


@dataclass(frozen=True, slots=True)
class LedgerCounts:
    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    new: int
    updated: int
    unchanged: int


def _story_hash(story: Story) -> str:
    payload = json.dumps(
        [
            story.url,
            story.title,
            story.language,
            story.status.value,
            story.published_at.isoformat() if story.published_at else None,
            story.summary_html,
            story.body_html,
            story.image_url,
            story.author,
            list(story.sections),
            story.translation_group,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _row_to_story(row: Any) -> Story:
    return Story(
        id=row.id,
        source=row.source,
        url=row.url,
        title=row.title,
        language=row.language,
        status=StoryStatus(row.status),
        published_at=row.published_at,
        updated_at=row.updated_at,
        summary_html=row.summary_html,
        summary_text=row.summary_text,
        body_html=row.body_html,
        image_url=row.image_url,
        author=row.author,
        sections=tuple(row.sections or ()),
        translation_group=row.translation_group,
    )


def _row_to_subscriber(row: Any, status: str = SubscriberStatus.SUBSCRIBED) -> Subscriber:
    return Subscriber(
        id=row.id,
        email=row.email,
        name=row.name,
        language=row.language,
        timezone=row.timezone,
        topics=tuple(row.topics or ()),
        status=SubscriberStatus(status),
    )


def delivery_key(list_name: str, edition_key: str, language: str, subscriber_id: int) -> str:
    """The stable ledger key of one email: also its file name in the file outbox."""
    return f"{list_name}/{edition_key}/{language}/{subscriber_id}"


def post_key(story_id: str, channel: str, language: str) -> str:
    digest = hashlib.sha256(f"{story_id}\0{channel}\0{language}".encode()).hexdigest()[:16]
    return f"{channel}/{language}/{digest}"


class Store:
    """Repository over one engine. Create with :meth:`open`; close with :meth:`close`."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Store:
        """Open the database at ``url`` and bring its schema to the newest revision.

        ``upgrade=False`` migrates nothing and refuses a database that is behind (for
        deployments that run ``distributor db upgrade`` themselves).
        """
        store = cls.connect(url)
        try:
            _bring_schema_to_head(store.engine, upgrade=upgrade)
        except StoreError as err:
            store.close()
            raise StoreError(f"cannot open database {_safe_url(url)}: {err}") from err
        return store

    @classmethod
    def connect(cls, url: str) -> Store:
        """The store over ``url`` without touching its schema (``distributor db`` uses it)."""
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = create_engine(url, future=True)
        except (SQLAlchemyError, ImportError, ValueError) as err:
            raise StoreError(f"cannot open database {_safe_url(url)}: {err}") from err
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        return cls(engine)

    def close(self) -> None:
        self.engine.dispose()

    def _tx(self) -> Any:
        return self.engine.begin()

    # ------------------------------------------------------------------ stories
    def upsert_stories(self, stories: Iterable[Story], now: datetime) -> UpsertCounts:
        """Insert new stories, update changed ones in place, leave the rest."""
        new = updated = unchanged = 0
        with self._tx() as conn:
            for story in stories:
                digest = _story_hash(story)
                values = {
                    "source": story.source,
                    "url": story.url,
                    "title": story.title,
                    "language": story.language,
                    "status": story.status.value,
                    "published_at": story.published_at,
                    "updated_at": story.updated_at,
                    "summary_html": story.summary_html,
                    "summary_text": story.summary_text,
                    "body_html": story.body_html,
                    "image_url": story.image_url,
                    "author": story.author,
                    "sections": list(story.sections),
                    "translation_group": story.translation_group,
                    "content_hash": digest,
                    "last_seen_at": now,
                }
                old = conn.execute(
                    select(s.stories.c.content_hash).where(s.stories.c.id == story.id)
                ).scalar_one_or_none()
                if old is None:
                    conn.execute(insert(s.stories).values(id=story.id, first_seen_at=now, **values))
                    new += 1
                elif old != digest:
                    conn.execute(
                        update(s.stories).where(s.stories.c.id == story.id).values(**values)
                    )
                    updated += 1
                else:
                    unchanged += 1
        return UpsertCounts(new, updated, unchanged)

    def published_stories(self, *, now: datetime, since: datetime) -> list[Story]:
        """Published stories whose publish time is in ``[since, now]``, newest first."""
        q = (
            select(s.stories)
            .where(
                s.stories.c.status == StoryStatus.PUBLISHED.value,
                s.stories.c.published_at.is_not(None),
                s.stories.c.published_at <= now,
                s.stories.c.published_at >= since,
            )
            .order_by(s.stories.c.published_at.desc(), s.stories.c.id)
        )
        with self.engine.connect() as conn:
            return [_row_to_story(r) for r in conn.execute(q)]

    def stories_by_id(self, ids: Sequence[str]) -> dict[str, Story]:
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.stories).where(s.stories.c.id.in_(list(ids))))
            return {r.id: _row_to_story(r) for r in rows}

    def last_edition_at(self, list_name: str) -> datetime | None:
        q = select(func.max(s.editions.c.created_at)).where(s.editions.c.list_name == list_name)
        with self.engine.connect() as conn:
            return conn.execute(q).scalar_one_or_none()

    # -------------------------------------------------------------- subscribers
    def add_subscribers(
        self, list_name: str, rows: Iterable[Subscriber], now: datetime
    ) -> tuple[int, int]:
        """Add subscribers to a list; existing members keep their status. Returns (added, kept)."""
        added = kept = 0
        with self._tx() as conn:
            for sub in rows:
                sid, _new = subscriber_row(conn, sub, now)
                if membership_status(conn, list_name, sid) is None:
                    add_membership(conn, list_name, sid, sub.status.value, now)
                    added += 1
                else:
                    kept += 1
        return added, kept

    def suppress(self, email: str, reason: str, now: datetime) -> None:
        with self._tx() as conn:
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(s.suppressions).values(
                            email=email.lower(), reason=reason, created_at=now
                        )
                    )
            except IntegrityError:
                pass

    def recipients(self, list_name: str) -> list[Subscriber]:
        """Subscribed members of a list that are not suppressed, in id order."""
        q = (
            select(s.subscribers)
            .join(s.memberships, s.memberships.c.subscriber_id == s.subscribers.c.id)
            .outerjoin(s.suppressions, s.suppressions.c.email == s.subscribers.c.email)
            .where(
                s.memberships.c.list_name == list_name,
                s.memberships.c.status == SubscriberStatus.SUBSCRIBED.value,
                s.suppressions.c.email.is_(None),
            )
            .order_by(s.subscribers.c.id)
        )
        with self.engine.connect() as conn:
            return [_row_to_subscriber(r) for r in conn.execute(q)]

    def is_suppressed(self, email: str) -> bool:
        with self.engine.connect() as conn:
            return (
                conn.execute(
                    select(s.suppressions.c.email).where(s.suppressions.c.email == email.lower())
                ).first()
                is not None
            )

    # ----------------------------------------------------------------- editions
    def next_edition_key(self, list_name: str, base: str) -> str:
        """``base`` if no edition of the list uses it yet, else ``base.2``, ``base.3``..."""
        with self.engine.connect() as conn:
            used = set(
                conn.execute(
                    select(s.editions.c.key).where(
                        s.editions.c.list_name == list_name,
                        or_(s.editions.c.key == base, s.editions.c.key.like(f"{base}.%")),
                    )
                ).scalars()
            )
        if base not in used:
            return base
        n = 2
        while f"{base}.{n}" in used:
            n += 1
        return f"{base}.{n}"

    def create_edition(
        self,
        *,
        list_name: str,
        key: str,
        language: str,
        stories: Sequence[Story],
        recipients: Sequence[Subscriber],
        now: datetime,
        segment: str = "",
        not_before: Mapping[int, datetime] | None = None,
    ) -> Edition:
        """Create an edition with its stories and one pending ledger row per recipient.

        All in one transaction: either the edition exists with its whole
        ledger, or nothing was written.  ``not_before`` (subscriber id -> time)
        holds a row back until that time (local-time delivery).
        """
        with self._tx() as conn:
            try:
                eid = conn.execute(
                    insert(s.editions).values(
                        list_name=list_name,
                        key=key,
                        language=language,
                        segment=segment,
                        created_at=now,
                    )
                ).inserted_primary_key[0]
            except IntegrityError as err:
                variant = f"{language}/{segment}" if segment else language
                raise StoreError(f"edition {list_name}/{key}/{variant} already exists") from err
            if stories:
                conn.execute(
                    insert(s.edition_stories),
                    [
                        {"edition_id": eid, "story_id": st.id, "group_key": st.group, "position": i}
                        for i, st in enumerate(stories)
                    ],
                )
            rows = [
                {
                    "edition_id": eid,
                    "subscriber_id": sub.id,
                    "email": sub.email,
                    "state": DeliveryState.PENDING.value,
                    "attempts": 0,
                    "retryable": False,
                    "updated_at": now,
                    "not_before": (not_before or {}).get(sub.id),
                }
                for sub in recipients
            ]
            for chunk in _chunks(rows, 5000):
                conn.execute(insert(s.deliveries), chunk)
        return Edition(eid, list_name, key, language, tuple(st.id for st in stories), now, segment)

    def edition(self, edition_id: int) -> Edition:
        with self.engine.connect() as conn:
            row = conn.execute(select(s.editions).where(s.editions.c.id == edition_id)).one()
            story_ids = tuple(
                conn.execute(
                    select(s.edition_stories.c.story_id)
                    .where(s.edition_stories.c.edition_id == edition_id)
                    .order_by(s.edition_stories.c.position)
                ).scalars()
            )
        return Edition(
            row.id, row.list_name, row.key, row.language, story_ids, row.created_at, row.segment
        )

    def unfinished_editions(self, list_name: str, now: datetime | None = None) -> list[Edition]:
        """Editions of a list with ledger rows still pending or in flight.

        With ``now``, rows held back until later (``not_before``) do not count.
        """
        q = (
            select(s.deliveries.c.edition_id)
            .join(s.editions, s.editions.c.id == s.deliveries.c.edition_id)
            .where(
                s.editions.c.list_name == list_name,
                s.deliveries.c.state.in_(
                    [DeliveryState.PENDING.value, DeliveryState.SENDING.value]
                ),
            )
            .distinct()
            .order_by(s.deliveries.c.edition_id)
        )
        if now is not None:
            q = q.where(or_(s.deliveries.c.not_before.is_(None), s.deliveries.c.not_before <= now))
        with self.engine.connect() as conn:
            ids = list(conn.execute(q).scalars())
        return [self.edition(i) for i in ids]

    # ------------------------------------------------------------------- ledger
    def recover_deliveries(self, edition_id: int, *, idempotent: bool, now: datetime) -> int:
        """Rows left in ``sending`` by a crash.

        With an idempotent transport they go back to ``pending`` (a resend is
        harmless); otherwise they become ``unknown``: never resent blindly.
        Returns how many rows were recovered.
        """
        new_state = DeliveryState.PENDING if idempotent else DeliveryState.UNKNOWN
        error = None if idempotent else "interrupted while sending; outcome unknown, not resent"
        with self._tx() as conn:
            res = conn.execute(
                update(s.deliveries)
                .where(
                    s.deliveries.c.edition_id == edition_id,
                    s.deliveries.c.state == DeliveryState.SENDING.value,
                )
                .values(state=new_state.value, error=error, updated_at=now)
            )
            return int(res.rowcount or 0)

    def requeue_failed(self, list_name: str, *, max_attempts: int, now: datetime) -> int:
        """Put transient failures of earlier runs back to ``pending`` (bounded attempts)."""
        edition_ids = select(s.editions.c.id).where(s.editions.c.list_name == list_name)
        with self._tx() as conn:
            res = conn.execute(
                update(s.deliveries)
                .where(
                    s.deliveries.c.edition_id.in_(edition_ids),
                    s.deliveries.c.state == DeliveryState.FAILED.value,
                    s.deliveries.c.retryable.is_(True),
                    s.deliveries.c.attempts < max_attempts,
                )
                .values(state=DeliveryState.PENDING.value, updated_at=now)
            )
            return int(res.rowcount or 0)

    def _locking(self, query: Any) -> Any:
        """``FOR UPDATE SKIP LOCKED`` where the database has row locks (not SQLite).

        Claims use it as a CTE (``WITH claim AS (SELECT ... LIMIT n FOR UPDATE SKIP
        LOCKED) UPDATE ... WHERE id IN (SELECT id FROM claim)``), never as a plain
        ``IN (subquery)``: PostgreSQL may re-run such a subquery for each row it updates,
        and each run skips the rows the earlier ones locked, so a claim of 2 took 5 rows.
        A CTE with a locking clause is evaluated once."""
        if self.engine.dialect.name == "sqlite":
            return query
        return query.with_for_update(skip_locked=True)

    def claim_deliveries(
        self, edition: Edition, limit: int, now: datetime
    ) -> list[ClaimedDelivery]:
        """Move up to ``limit`` pending rows to ``sending``, atomically.

        One ``UPDATE ... WHERE id IN (SELECT ... SKIP LOCKED) AND state = 'pending'
        RETURNING id``: only rows this statement changed are returned, so two
        workers (threads, processes, machines) never claim the same row.
        """
        d = s.deliveries
        candidates = self._locking(
            select(d.c.id)
            .where(
                d.c.edition_id == edition.id,
                d.c.state == DeliveryState.PENDING.value,
                # local-time delivery (scheduler): a row waits for its reader's hour
                or_(d.c.not_before.is_(None), d.c.not_before <= now),
            )
            .order_by(d.c.id)
            .limit(limit)
        )
        with self._tx() as conn:
            ids = list(
                conn.execute(
                    update(d)
                    .where(
                        d.c.id.in_(select(candidates.cte("claim").c.id)),
                        d.c.state == DeliveryState.PENDING.value,
                    )
                    .values(
                        state=DeliveryState.SENDING.value, attempts=d.c.attempts + 1, updated_at=now
                    )
                    .returning(d.c.id)
                ).scalars()
            )
            if not ids:
                return []
            rows = conn.execute(
                select(d.c.id.label("delivery_id"), s.subscribers)
                .join(s.subscribers, s.subscribers.c.id == d.c.subscriber_id)
                .where(d.c.id.in_(ids))
                .order_by(d.c.id)
            ).all()
        return [
            ClaimedDelivery(
                id=r.delivery_id,
                edition_id=edition.id,
                subscriber=_row_to_subscriber(r),
                key=delivery_key(edition.list_name, edition.key, edition.language, r.id),
            )
            for r in rows
        ]

    def record_deliveries(
        self,
        claimed: Sequence[ClaimedDelivery],
        results: Sequence[DeliveryResult],
        message_ids: dict[str, str],
        now: datetime,
    ) -> None:
        """Write each result on its row; a claimed row without a result is ``unknown``."""
        by_key = {r.key: r for r in results}
        with self._tx() as conn:
            for c in claimed:
                res = by_key.get(c.key) or DeliveryResult.unknown(
                    c.key, "transport returned no result for this message"
                )
                conn.execute(
                    update(s.deliveries)
                    .where(s.deliveries.c.id == c.id)
                    .values(
                        state=res.state.value,
                        provider_id=res.provider_id,
                        error=res.error,
                        retryable=res.retryable,
                        message_id=message_ids.get(c.key),
                        updated_at=now,
                    )
                )

    def release_deliveries(self, claimed: Sequence[ClaimedDelivery], now: datetime) -> None:
        """Give claimed rows back (nothing was attempted): ``sending -> pending``."""
        with self._tx() as conn:
            conn.execute(
                update(s.deliveries)
                .where(
                    s.deliveries.c.id.in_([c.id for c in claimed]),
                    s.deliveries.c.state == DeliveryState.SENDING.value,
                )
                .values(
                    state=DeliveryState.PENDING.value,
                    attempts=s.deliveries.c.attempts - 1,
                    updated_at=now,
                )
            )

    def delivery_counts(self, edition_ids: Sequence[int]) -> LedgerCounts:
        if not edition_ids:
            return LedgerCounts()
        q = (
            select(s.deliveries.c.state, func.count())
            .where(s.deliveries.c.edition_id.in_(list(edition_ids)))
            .group_by(s.deliveries.c.state)
        )
        with self.engine.connect() as conn:
            counts = {state: n for state, n in conn.execute(q)}
        return LedgerCounts(**{k: counts.get(k, 0) for k in LedgerCounts.__dataclass_fields__})

    def deliveries(self, edition_id: int) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(s.deliveries)
                .where(s.deliveries.c.edition_id == edition_id)
                .order_by(s.deliveries.c.id)
            )
            return [dict(r._mapping) for r in rows]

    # -------------------------------------------------------------------- posts
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

    # --------------------------------------------------------------------- runs
    def start_run(self, now: datetime, *, dry_run: bool) -> int:
        with self._tx() as conn:
            return int(
                conn.execute(
                    insert(s.runs).values(started_at=now, dry_run=dry_run)
                ).inserted_primary_key[0]
            )

    def finish_run(self, run_id: int, report: dict[str, Any], now: datetime) -> None:
        with self._tx() as conn:
            conn.execute(
                update(s.runs).where(s.runs.c.id == run_id).values(finished_at=now, report=report)
            )


def subscriber_row(conn: Connection, sub: Subscriber, now: datetime) -> tuple[int, bool]:
    """The id of the subscriber with ``sub.email`` (lowercased), added with ``sub``'s
    details if there is none yet; and whether it was added."""
    email = sub.email.lower()
    sid = conn.execute(
        select(s.subscribers.c.id).where(s.subscribers.c.email == email)
    ).scalar_one_or_none()
    if sid is not None:
        return int(sid), False
    key = conn.execute(
        insert(s.subscribers).values(
            email=email,
            name=sub.name,
            language=sub.language,
            timezone=sub.timezone,
            topics=list(sub.topics),
            created_at=now,
        )
    ).inserted_primary_key
    assert key is not None
    return int(key[0]), True


def membership_status(conn: Connection, list_name: str, subscriber_id: int) -> str | None:
    """The subscriber's status on the list, or None when not a member."""
    status: str | None = conn.execute(
        select(s.memberships.c.status).where(
            s.memberships.c.list_name == list_name,
            s.memberships.c.subscriber_id == subscriber_id,
        )
    ).scalar_one_or_none()
    return status


def add_membership(
    conn: Connection, list_name: str, subscriber_id: int, status: str, now: datetime
) -> None:
    conn.execute(
        insert(s.memberships).values(
            list_name=list_name, subscriber_id=subscriber_id, status=status, updated_at=now
        )
    )


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _safe_url(url: str) -> str:
    """A database URL with any password masked."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database url>"


def _bring_schema_to_head(engine: Engine, *, upgrade: bool) -> None:
    """Migrate to head (Alembic), or with ``upgrade=False`` only check that it is there."""
    if upgrade:
        migrate.upgrade(engine)
        return
    state = migrate.status(engine)
    if not state.up_to_date:
        raise StoreError(
            f"the schema is at {state.current or 'no revision'}, this version needs "
            f"{state.head}: run `distributor db upgrade`"
        )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
