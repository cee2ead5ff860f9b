"""Subscribers and lists: members, suppressions, the distinct reader profiles of a list."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Text, and_, case, cast, func, insert, literal, select
from sqlalchemy.exc import IntegrityError

from distributor.models import Subscriber, SubscriberStatus
from distributor.store import schema as s
from distributor.store.repository.base import StoreBase
from distributor.store.repository.values import ReaderProfile


class SubscriberQueries(StoreBase):
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


#: 1 for a reader who chose the weekly digest, else 0 (with the join in :func:`_members`)
_WEEKLY = case(
    (s.subscriber_preferences.c.subscriber_id.is_not(None), literal(1)), else_=literal(0)
)


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


def _profile(
    language: str, topics_json: str | None, weekly: Any, timezone: str | None
) -> ReaderProfile:
    topics = json.loads(topics_json) if topics_json else []
    return ReaderProfile(language, tuple(topics or ()), bool(weekly), timezone)
