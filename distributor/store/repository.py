"""The store: one object over one SQLAlchemy engine, passed to whoever needs it.

SQLite (a file under the data directory) is the default; any SQLAlchemy URL
works, PostgreSQL included.  Ledger claims use ``FOR UPDATE SKIP LOCKED``
where the database supports it.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, NamedTuple

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    any_,
    bindparam,
    case,
    cast,
    create_engine,
    event,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
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
from distributor.store import claims, migrate
from distributor.store import schema as s
from distributor.store.schema import UTCDateTime


class ClaimedDelivery(NamedTuple):
    """One claimed ledger row: what a batch needs of it and nothing more.

    A tuple made straight from the claim's result rows (no object per field):
    the claim of a thousand rows costs microseconds of Python, not milliseconds.
    """

    id: int
    edition_id: int
    subscriber_id: int
    email: str
    name: str
    language: str
    key: str
    #: why the address is suppressed (a bounce, a complaint), read by the claim; None: it
    #: is not, and the row is sent
    suppressed: str | None = None

    @property
    def subscriber(self) -> Subscriber:
        """The reader as personalization reads them (id, address, name, language)."""
        return Subscriber(self.subscriber_id, self.email, self.name, self.language)


@dataclass(frozen=True, slots=True)
class ReaderProfile:
    """What edition making needs to know about a reader (their variant and local time
    depend on nothing else): many readers share one profile."""

    language: str
    topics: tuple[str, ...]
    weekly: bool
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class NewVariant:
    """One edition variant to make: its language, segment and stories."""

    language: str
    segment: str
    stories: Sequence[Story]
    # editions (issue 14): what the editor wrote for this variant
    intro_html: str = ""
    intro_text: str = ""
    subject: str = ""


#: (language, segment) of a profile's variant, or None when the reader gets no edition
VariantOf = Callable[[ReaderProfile], tuple[str, str] | None]
#: when a profile's rows may be sent (local-time delivery), or None for at once
NotBefore = Callable[[ReaderProfile], datetime | None]
#: a claim for the ledger's batch protocol: the rows whose id is in [first, last]
IdRange = tuple[int, int]
_UNSET: Any = object()


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

    @property
    def shared_by_threads(self) -> bool:
        """Whether several threads may use this store at once: every database but an
        in-memory SQLite one (each thread would see its own empty database)."""
        url = self.engine.url
        return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))

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
        """Subscribed members of a list that are not suppressed, in id order.

        Loads every one: for previews and small lists.  A run streams them
        instead (:meth:`reader_profiles`, :meth:`create_editions`).
        """
        q = _members(select(s.subscribers), list_name).order_by(s.subscribers.c.id)
        with self.engine.connect() as conn:
            return [_row_to_subscriber(r) for r in conn.execute(q)]

    def reader_profiles(self, list_name: str) -> dict[ReaderProfile, int]:
        """The distinct profiles of a list's recipients, with how many readers have each.

        One ``GROUP BY`` in the database: nothing per reader reaches Python.
        """
        sub = s.subscribers
        topics = cast(sub.c.topics, Text)
        q = _members(
            select(sub.c.language, topics, _WEEKLY, sub.c.timezone, func.count()), list_name
        ).group_by(sub.c.language, topics, _WEEKLY, sub.c.timezone)
        out: dict[ReaderProfile, int] = {}
        with self.engine.connect() as conn:
            for language, topics_json, weekly, timezone, n in conn.execute(q):
                profile = _profile(language, topics_json, weekly, timezone)
                out[profile] = out.get(profile, 0) + int(n)
        return out

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
        holds a row back until that time (local-time delivery).  For a whole
        list, :meth:`create_editions` streams the readers instead.
        """
        with self._tx() as conn:
            eid = _insert_edition(conn, list_name, key, language, segment, stories, now)
            writer = _LedgerWriter(conn, now)
            for i in range(0, len(recipients), _CHUNK):
                writer.write(
                    [
                        (eid, sub.id, sub.email, writer.when((not_before or {}).get(sub.id)))
                        for sub in recipients[i : i + _CHUNK]
                    ]
                )
        return Edition(eid, list_name, key, language, tuple(st.id for st in stories), now, segment)

    def create_editions(
        self,
        *,
        list_name: str,
        key: str,
        variants: Sequence[NewVariant],
        variant_of: VariantOf,
        now: datetime,
        not_before: NotBefore | None = None,
        chunk_size: int = 5000,
    ) -> list[tuple[Edition, int]]:
        """Make the editions of one list and the ledger of all its readers; returns each
        edition with its number of rows.

        Each reader's row goes to the edition of ``variant_of(profile)`` (none when
        it returns None or a variant not in ``variants``).  ``variant_of`` and
        ``not_before`` are asked once per distinct :class:`ReaderProfile` (one
        ``GROUP BY``), the answers go to a temporary table, and the rows are made by
        one ``INSERT ... SELECT`` joining the readers to it: no reader passes through
        Python, whatever the list's size.  Everything is one transaction: the
        editions exist with their whole ledger, or nothing does.
        (``chunk_size`` is kept for callers; the database streams the rows itself.)
        """
        sub = s.subscribers
        topics = cast(sub.c.topics, Text)
        profiles = _members(
            select(sub.c.language, topics, _WEEKLY, sub.c.timezone, func.count()), list_name
        ).group_by(sub.c.language, topics, _WEEKLY, sub.c.timezone)
        editions: list[tuple[Edition, int]] = []
        m = _PROFILE_MAP
        with self._tx() as conn:
            ids: dict[tuple[str, str], int] = {}
            for v in variants:
                eid = _insert_edition(
                    conn, list_name, key, v.language, v.segment, v.stories, now, variant=v
                )
                ids[(v.language, v.segment)] = eid
                editions.append(
                    (
                        Edition(
                            eid,
                            list_name,
                            key,
                            v.language,
                            tuple(st.id for st in v.stories),
                            now,
                            v.segment,
                            intro_html=v.intro_html,
                            intro_text=v.intro_text,
                            subject=v.subject,
                        ),
                        0,
                    )
                )
            counts = dict.fromkeys(ids.values(), 0)
            mapping: list[dict[str, Any]] = []
            for language, topics_json, weekly, timezone, n in conn.execute(profiles).all():
                profile = _profile(language, topics_json, weekly, timezone)
                variant = variant_of(profile)
                found = ids.get(variant) if variant is not None else None
                if found is None:
                    continue
                at = not_before(profile) if not_before is not None else None
                counts[found] += int(n)
                mapping.append(
                    {
                        "language": language,
                        "topics": topics_json,
                        "weekly": int(weekly),
                        "timezone": timezone,
                        "edition_id": found,
                        "not_before": at,
                    }
                )
            if mapping:
                m.drop(conn, checkfirst=True)
                m.create(conn)
                conn.execute(insert(m), mapping)
                if conn.dialect.name == "postgresql":
                    conn.exec_driver_sql(f"ANALYZE {m.name}")
                # the readers first, on their own (MATERIALIZED on PostgreSQL): joined in one
                # query, the planner misjudges the profile join and picks nested loops
                readers = _members(
                    select(
                        sub.c.id,
                        sub.c.email,
                        sub.c.language,
                        func.coalesce(topics, _NULL).label("topics"),
                        _WEEKLY.label("weekly"),
                        func.coalesce(sub.c.timezone, _NULL).label("timezone"),
                    ),
                    list_name,
                ).cte("readers")
                if conn.dialect.name == "postgresql":
                    readers = readers.prefix_with("MATERIALIZED")
                r = readers.c
                rows = select(
                    m.c.edition_id,
                    r.id,
                    r.email,
                    literal(DeliveryState.PENDING.value),
                    literal(0),
                    literal(False),
                    literal(now, UTCDateTime),
                    m.c.not_before,
                ).join_from(
                    readers,
                    m,
                    and_(
                        m.c.language == r.language,
                        func.coalesce(m.c.topics, _NULL) == r.topics,
                        m.c.weekly == r.weekly,
                        func.coalesce(m.c.timezone, _NULL) == r.timezone,
                    ),
                )
                d = s.deliveries
                conn.execute(
                    insert(d).from_select(
                        [
                            d.c.edition_id,
                            d.c.subscriber_id,
                            d.c.email,
                            d.c.state,
                            d.c.attempts,
                            d.c.retryable,
                            d.c.updated_at,
                            d.c.not_before,
                        ],
                        # one edition after another: each edition's rows are contiguous in id
                        # (and on disk), so a claim of 1,000 rows touches a few dozen pages,
                        # not one page per row among the other variants' rows
                        rows.order_by(m.c.edition_id, r.id),
                    )
                )
                m.drop(conn)
            if conn.dialect.name == "postgresql":  # fresh statistics for the claims at once
                conn.exec_driver_sql("ANALYZE deliveries")
        return [(e, counts[e.id]) for e, _ in editions]

    def edition_ids(self, list_name: str, key: str) -> list[int]:
        """The ids of the ledger editions (variants) of one list and key."""
        e = s.editions
        q = select(e.c.id).where(e.c.list_name == list_name, e.c.key == key).order_by(e.c.id)
        with self.engine.connect() as conn:
            return list(conn.execute(q).scalars())

    def held_back_counts(self, edition_id: int) -> dict[datetime, int]:
        """How many rows of an edition wait until each ``not_before`` time."""
        d = s.deliveries
        q = (
            select(d.c.not_before, func.count())
            .where(d.c.edition_id == edition_id, d.c.not_before.is_not(None))
            .group_by(d.c.not_before)
        )
        with self.engine.connect() as conn:
            return {at: int(n) for at, n in conn.execute(q)}

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
        return edition_of_row(row, story_ids)

    def unfinished_editions(self, list_name: str, now: datetime | None = None) -> list[Edition]:
        """Editions of a list with ledger rows still pending or in flight.

        With ``now``, rows held back until later (``not_before``) do not count.
        """
        q = (
            select(s.deliveries.c.edition_id)
            .join(s.editions, s.editions.c.id == s.deliveries.c.edition_id)
            .where(
                s.editions.c.list_name == list_name,
                claims.UNSENT,
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
    def recover_deliveries(
        self,
        edition_id: int,
        *,
        idempotent: bool,
        now: datetime,
        stale_before: datetime | None = None,
        id_range: IdRange | None = None,
    ) -> int:
        """Rows left in ``sending`` by a crash.

        With an idempotent transport they go back to ``pending`` (a resend is
        harmless); otherwise they become ``unknown``: never resent blindly.
        ``stale_before``: only rows claimed before that time (``now - lease``),
        so a live worker's claim is left alone; ``id_range``: only rows whose id
        is in ``[first, last]`` (one batch task).  Returns how many were recovered.
        """
        d = s.deliveries
        new_state = DeliveryState.PENDING if idempotent else DeliveryState.UNKNOWN
        error = None if idempotent else "interrupted while sending; outcome unknown, not resent"
        q = update(d).where(
            d.c.edition_id == edition_id, claims.UNSENT, d.c.state == DeliveryState.SENDING.value
        )
        if stale_before is not None:
            q = q.where(d.c.updated_at < stale_before)
            if not idempotent:
                error = "worker lost while sending (lease expired); outcome unknown, not resent"
        if id_range is not None:
            q = q.where(d.c.id.between(*id_range))
        with self._tx() as conn:
            res = conn.execute(q.values(state=new_state.value, error=error, updated_at=now))
            return int(res.rowcount or 0)

    def requeue_failed(self, list_name: str, *, max_attempts: int, now: datetime) -> int:
        """Put transient failures of earlier runs back to ``pending`` (bounded attempts)."""
        edition_ids = select(s.editions.c.id).where(s.editions.c.list_name == list_name)
        with self._tx() as conn:
            res = conn.execute(
                update(s.deliveries)
                .where(
                    s.deliveries.c.edition_id.in_(edition_ids),
                    claims.UNSENT,
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
        self,
        edition: Edition,
        limit: int,
        now: datetime,
        *,
        id_range: IdRange | None = None,
    ) -> list[ClaimedDelivery]:
        """Move up to ``limit`` pending rows to ``sending``, atomically; oldest id first.

        One statement (:mod:`distributor.store.claims`): on PostgreSQL ``SELECT ...
        FOR UPDATE SKIP LOCKED`` in a CTE, then ``UPDATE ... AND state = 'pending'
        RETURNING``: only rows this statement changed are returned, so two workers
        (threads, processes, machines) never claim the same row; on SQLite (one
        writer at a time) the subquery and the ``UPDATE`` are one atomic step.
        ``id_range``: only rows whose id is in ``[first, last]`` (one batch task).

        A claimed row carries what personalization reads (id, address, name) and
        the edition's language; not the reader's topics.
        """
        first, last = id_range if id_range is not None else (0, claims.LAST_ID)
        with self._tx() as conn:
            return claims.claim(conn, edition, limit, now, first, last)

    def record_deliveries(
        self,
        claimed: Sequence[ClaimedDelivery],
        results: Sequence[DeliveryResult],
        now: datetime,
    ) -> None:
        """Write each result on its row; a claimed row without a result is ``unknown``.

        One ``UPDATE`` per distinct outcome (state, provider id, error, retryable)
        with the ids in one parameter. The Message-ID is not stored: it is derived
        from the row's ledger key (:func:`distributor.render.fastmime.message_id_for`).
        """
        with self._tx() as conn:
            claims.record(conn, claimed, results, now)

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
        """Rows per state of these editions: the rows not sent from the partial index
        (grouped by state), the sent ones as the rest of each edition's count (read from
        the unique index alone): never a pass over a million sent rows."""
        if not edition_ids:
            return LedgerCounts()
        d = s.deliveries
        wanted = d.c.edition_id.in_(list(edition_ids))
        with self.engine.connect() as conn:
            total = conn.execute(select(func.count()).where(wanted)).scalar_one()
            counts = {
                state: n
                for state, n in conn.execute(
                    select(d.c.state, func.count()).where(wanted, claims.UNSENT).group_by(d.c.state)
                )
            }
        counts[DeliveryState.SENT.value] = int(total) - sum(counts.values())
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


#: rows per statement when writing the ledger in bulk
_CHUNK = 5000
#: 1 for a reader who chose the weekly digest, else 0 (with the join in :func:`_members`)
#: create_editions: each distinct reader profile -> its edition and not_before (temporary)
_PROFILE_MAP = Table(
    "ledger_profile_map",
    MetaData(),
    Column("language", Text),
    Column("topics", Text),
    Column("weekly", Integer),
    Column("timezone", Text),
    Column("edition_id", Integer),
    Column("not_before", UTCDateTime),
    prefixes=["TEMPORARY"],
)

#: stands for NULL in the join above (no JSON text nor time zone name is this)
_NULL = "\x1fnull"

_WEEKLY = case(
    (s.subscriber_preferences.c.subscriber_id.is_not(None), literal(1)), else_=literal(0)
)


def _id_in(conn: Connection, ids: list[int]) -> Any:
    """``deliveries.id IN ids``; on PostgreSQL ``= ANY(array)``, one parameter instead of
    a thousand (the statement is compiled and parsed once, not per batch)."""
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import ARRAY

        return s.deliveries.c.id == any_(bindparam("ids", ids, type_=ARRAY(Integer)))
    return s.deliveries.c.id.in_(ids)


def _members(q: Any, list_name: str) -> Any:
    """``q`` over the list's subscribed members that are not suppressed."""
    return (
        q.select_from(s.subscribers)
        .join(s.memberships, s.memberships.c.subscriber_id == s.subscribers.c.id)
        .outerjoin(s.suppressions, s.suppressions.c.email == s.subscribers.c.email)
        .outerjoin(
            s.subscriber_preferences,
            and_(
                s.subscriber_preferences.c.subscriber_id == s.subscribers.c.id,
                s.subscriber_preferences.c.frequency == "weekly",
            ),
        )
        .where(
            s.memberships.c.list_name == list_name,
            s.memberships.c.status == SubscriberStatus.SUBSCRIBED.value,
            s.suppressions.c.email.is_(None),
        )
    )


def edition_of_row(row: Any, story_ids: tuple[str, ...]) -> Edition:
    """An :class:`Edition` from a row of ``editions`` and its story ids in order."""
    return Edition(
        row.id,
        row.list_name,
        row.key,
        row.language,
        story_ids,
        row.created_at,
        row.segment,
        intro_html=row.intro_html or "",
        intro_text=row.intro_text or "",
        subject=row.subject or "",
    )


def _profile(
    language: str, topics_json: str | None, weekly: Any, timezone: str | None
) -> ReaderProfile:
    topics = json.loads(topics_json) if topics_json else []
    return ReaderProfile(language, tuple(topics or ()), bool(weekly), timezone)


def _insert_edition(
    conn: Connection,
    list_name: str,
    key: str,
    language: str,
    segment: str,
    stories: Sequence[Story],
    now: datetime,
    variant: NewVariant | None = None,
) -> int:
    """One edition row and its stories; a variant made twice is a :class:`StoreError`."""
    shaped = {}
    if variant is not None:  # what the editor wrote (issue 14); NULL when nothing
        shaped = {
            "intro_html": variant.intro_html or None,
            "intro_text": variant.intro_text or None,
            "subject": variant.subject or None,
        }
    try:
        # no savepoint: a failure ends the caller's whole transaction (all or nothing)
        inserted = conn.execute(
            insert(s.editions).values(
                list_name=list_name,
                key=key,
                language=language,
                segment=segment,
                created_at=now,
                **shaped,
            )
        ).inserted_primary_key
        assert inserted is not None
        eid = inserted[0]
    except IntegrityError as err:
        which = f"{language}/{segment}" if segment else language
        raise StoreError(f"edition {list_name}/{key}/{which} already exists") from err
    if stories:
        conn.execute(
            insert(s.edition_stories),
            [
                {"edition_id": eid, "story_id": st.id, "group_key": st.group, "position": i}
                for i, st in enumerate(stories)
            ],
        )
    return int(eid)


class _LedgerWriter:
    """Pending ledger rows ``(edition id, subscriber id, email, not_before)``, in bulk.

    PostgreSQL: ``COPY``; others: one executemany of plain tuples.  Times are
    converted for the column once per distinct value, not once per row.
    """

    _COLUMNS = (
        "edition_id, subscriber_id, email, state, attempts, retryable, updated_at, not_before"
    )

    def __init__(self, conn: Connection, now: datetime) -> None:
        self.conn = conn
        self.postgres = conn.dialect.name == "postgresql"
        column_type = s.deliveries.c.updated_at.type.dialect_impl(conn.dialect)
        self.to_db: Callable[[Any], Any] = column_type.bind_processor(conn.dialect) or _same
        self._when: dict[datetime, Any] = {}
        self.at = now
        self._back: dict[Any, datetime] = {}  # converted value -> the time (generic path)
        self.now = self.when(now)
        self.false = False if self.postgres else 0

    def when(self, at: datetime | None) -> Any:
        if at is None:
            return None
        value = self._when.get(at)
        if value is None:
            value = self._when[at] = self.to_db(at)
            self._back[value] = at
        return value

    def write(self, rows: Sequence[tuple[int, int, str, Any]]) -> None:
        if not rows:
            return
        pending, now, false = DeliveryState.PENDING.value, self.now, self.false
        if self.postgres:
            cursor = self.conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
            with cursor.copy(f"COPY deliveries ({self._COLUMNS}) FROM STDIN") as copy:
                for eid, sid, email, at in rows:
                    copy.write_row((eid, sid, email, pending, 0, false, now, at))
            return
        if self.conn.dialect.paramstyle != "qmark":
            self.conn.execute(
                insert(s.deliveries),
                [
                    {
                        "edition_id": eid,
                        "subscriber_id": sid,
                        "email": email,
                        "state": pending,
                        "attempts": 0,
                        "retryable": False,
                        "updated_at": self.at,
                        "not_before": self._back.get(at_),
                    }
                    for eid, sid, email, at_ in rows
                ],
            )
            return
        self.conn.exec_driver_sql(
            f"INSERT INTO deliveries ({self._COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(eid, sid, email, pending, 0, false, now, at) for eid, sid, email, at in rows],
        )


def _same(value: Any) -> Any:
    return value


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
    # WAL + NORMAL: a commit is not fsynced (the WAL is at checkpoints); a crash of the
    # process loses nothing, a power cut may lose the last commits, never corrupts.
    # With FULL, the ledger's two commits per batch cost more than everything else.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
