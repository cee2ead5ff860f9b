"""Editions: made with their whole ledger in one transaction, read back, still unfinished."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    Integer,
    MetaData,
    Table,
    Text,
    and_,
    cast,
    func,
    insert,
    literal,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError

from distributor.errors import StoreError
from distributor.models import DeliveryState, Edition, Story, Subscriber
from distributor.store import claims
from distributor.store import schema as s
from distributor.store.repository.base import StoreBase
from distributor.store.repository.deliveries import _CHUNK, _LedgerWriter
from distributor.store.repository.subscribers import _WEEKLY, _members, _profile
from distributor.store.repository.values import NewVariant, NotBefore, VariantOf
from distributor.store.schema import UTCDateTime


class EditionQueries(StoreBase):
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
