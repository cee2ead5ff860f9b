"""Readers: suppression look-ups, sign-up and confirmation, unsubscribing, preferences,
imports, listings and forgetting an address.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, insert, or_, select, update

from distributor.models import Subscriber, SubscriberStatus
from distributor.store import schema as s
from distributor.store.repository import add_membership, membership_status, subscriber_row
from distributor.store.web.base import WebQueries
from distributor.store.web.values import (
    SUPPRESSED,
    ImportResult,
    Preferences,
    SubscriberEntry,
    email_hash,
)


class ReaderQueries(WebQueries):
    # ---------------------------------------------------------------- blocking
    def suppression_reason(self, email: str) -> str | None:
        """Why an address may not be mailed (suppressed or forgotten), or None."""
        email = email.lower()
        with self.engine.connect() as conn:
            row = conn.execute(
                select(s.suppressions.c.reason).where(
                    s.suppressions.c.email.in_([email, email_hash(email)])
                )
            ).first()
        return None if row is None else str(row.reason)

    # ------------------------------------------------------------- subscribers
    def subscriber(self, subscriber_id: int) -> Subscriber | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(s.subscribers).where(s.subscribers.c.id == subscriber_id)
            ).first()
        return None if row is None else _subscriber(row)

    def subscriber_by_email(self, email: str) -> Subscriber | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(s.subscribers).where(s.subscribers.c.email == email.lower())
            ).first()
        return None if row is None else _subscriber(row)

    def membership(self, subscriber_id: int, list_name: str) -> str | None:
        """The membership status on one list (``pending``/``subscribed``/...), or None."""
        with self.engine.connect() as conn:
            return conn.execute(
                select(s.memberships.c.status).where(
                    s.memberships.c.subscriber_id == subscriber_id,
                    s.memberships.c.list_name == list_name,
                )
            ).scalar_one_or_none()

    def weekly_subscribers(self) -> set[int]:
        """Ids of the readers who chose the weekly digest."""
        with self.store.engine.connect() as conn:
            return set(
                conn.execute(
                    select(s.subscriber_preferences.c.subscriber_id).where(
                        s.subscriber_preferences.c.frequency == "weekly"
                    )
                ).scalars()
            )

    def frequency(self, subscriber_id: int) -> str:
        with self.engine.connect() as conn:
            value = conn.execute(
                select(s.subscriber_preferences.c.frequency).where(
                    s.subscriber_preferences.c.subscriber_id == subscriber_id
                )
            ).scalar_one_or_none()
        return value or "daily"

    def start_signup(
        self, list_name: str, email: str, prefs: Preferences, now: datetime
    ) -> tuple[int, str]:
        """Record a sign-up. Returns (subscriber id, status before this sign-up).

        A new address becomes ``pending`` with the chosen preferences.  An
        existing one keeps its status and preferences until it confirms (the
        confirmation token carries the new preferences).
        """
        row = Subscriber(
            id=0,
            email=email,
            name=prefs.name,
            language=prefs.language,
            timezone=prefs.timezone,
            topics=tuple(prefs.topics),
        )
        with self.engine.begin() as conn:
            sid, created = subscriber_row(conn, row, now)
            if created:
                _set_frequency(conn, sid, prefs.frequency)
            status = membership_status(conn, list_name, sid)
            if status is None:
                add_membership(conn, list_name, sid, SubscriberStatus.PENDING.value, now)
        return int(sid), status or "new"

    def confirm(
        self, subscriber_id: int, list_name: str, prefs: Preferences | None, now: datetime
    ) -> str:
        """Make a membership ``subscribed`` (a resubscription too). Returns the outcome:
        ``subscribed``, ``already`` or ``suppressed`` (nothing changed) or ``gone``."""
        sub = self.subscriber(subscriber_id)
        if sub is None:
            return "gone"
        reason = self.suppression_reason(sub.email)
        if reason is not None:
            return SUPPRESSED
        with self.engine.begin() as conn:
            status = conn.execute(
                select(s.memberships.c.status).where(
                    s.memberships.c.subscriber_id == subscriber_id,
                    s.memberships.c.list_name == list_name,
                )
            ).scalar_one_or_none()
            if prefs is not None:
                _apply_preferences(conn, subscriber_id, prefs)
            if status == SubscriberStatus.SUBSCRIBED.value:
                return "already"
            if status is None:
                conn.execute(
                    insert(s.memberships).values(
                        list_name=list_name,
                        subscriber_id=subscriber_id,
                        status=SubscriberStatus.SUBSCRIBED.value,
                        updated_at=now,
                    )
                )
            else:
                conn.execute(
                    update(s.memberships)
                    .where(
                        s.memberships.c.subscriber_id == subscriber_id,
                        s.memberships.c.list_name == list_name,
                    )
                    .values(status=SubscriberStatus.SUBSCRIBED.value, updated_at=now)
                )
        return "subscribed"

    def unsubscribe(self, subscriber_id: int, list_name: str, now: datetime) -> bool:
        """Unsubscribe from one list at once. False if there was no such membership."""
        with self.engine.begin() as conn:
            res = conn.execute(
                update(s.memberships)
                .where(
                    s.memberships.c.subscriber_id == subscriber_id,
                    s.memberships.c.list_name == list_name,
                    s.memberships.c.status != SubscriberStatus.UNSUBSCRIBED.value,
                )
                .values(status=SubscriberStatus.UNSUBSCRIBED.value, updated_at=now)
            )
            if res.rowcount:
                return True
            return (
                conn.execute(
                    select(s.memberships.c.status).where(
                        s.memberships.c.subscriber_id == subscriber_id,
                        s.memberships.c.list_name == list_name,
                    )
                ).first()
                is not None
            )

    def update_preferences(self, subscriber_id: int, prefs: Preferences) -> None:
        with self.engine.begin() as conn:
            _apply_preferences(conn, subscriber_id, prefs)

    def add(
        self, list_name: str, sub: Subscriber, frequency: str, now: datetime
    ) -> tuple[str, int | None]:
        """Add one address as ``subscribed`` (an editor or the API vouches for consent).

        Returns (outcome, id): ``added``, ``exists`` (already subscribed or
        pending, left as it is) or a refusal: ``suppressed``, ``unsubscribed``
        (only the reader can come back, through the sign-up form).
        """
        result = self.import_rows(list_name, [sub], now, frequency=frequency)
        found = self.subscriber_by_email(sub.email)
        sid = found.id if found else None
        if result.added:
            return "added", sid
        if result.refused:
            return result.refused[0][1].split(":")[0], sid
        return "exists", sid

    def import_rows(
        self, list_name: str, rows: Iterable[Subscriber], now: datetime, frequency: str = "daily"
    ) -> ImportResult:
        """Import subscribers: new addresses become ``subscribed``; existing members keep
        their status; suppressed, forgotten and unsubscribed addresses are refused."""
        out = ImportResult()
        rows = list(rows)
        for sub in rows:
            email = sub.email.lower()
            reason = self.suppression_reason(email)
            if reason is not None:
                out.refused.append((email, f"suppressed: on the suppression list ({reason})"))
                continue
            with self.engine.begin() as conn:
                sid, created = subscriber_row(conn, sub, now)
                if created:
                    _set_frequency(conn, sid, frequency)
                status = membership_status(conn, list_name, sid)
                if status == SubscriberStatus.UNSUBSCRIBED.value:
                    out.refused.append(
                        (email, "unsubscribed: left the list; only the reader can resubscribe")
                    )
                elif status is not None:
                    out.kept += 1
                else:
                    add_membership(conn, list_name, sid, SubscriberStatus.SUBSCRIBED.value, now)
                    out.added += 1
        return out

    def entries(
        self,
        *,
        list_name: str | None = None,
        query: str | None = None,
        status: str | None = None,
        limit: int | None = None,
        offset: int = 0,
    ) -> list[SubscriberEntry]:
        """Subscribers with their per-list status (suppressed wins over the membership)."""
        q = (
            select(
                s.subscribers,
                s.memberships.c.list_name,
                s.memberships.c.status.label("membership"),
                s.memberships.c.updated_at.label("member_updated"),
                s.subscriber_preferences.c.frequency,
                s.suppressions.c.email.label("suppressed"),
            )
            .join(s.memberships, s.memberships.c.subscriber_id == s.subscribers.c.id)
            .outerjoin(
                s.subscriber_preferences,
                s.subscriber_preferences.c.subscriber_id == s.subscribers.c.id,
            )
            .outerjoin(s.suppressions, s.suppressions.c.email == s.subscribers.c.email)
            .order_by(s.subscribers.c.id, s.memberships.c.list_name)
        )
        if list_name:
            q = q.where(s.memberships.c.list_name == list_name)
        if query:
            like = f"%{query.lower()}%"
            q = q.where(or_(s.subscribers.c.email.like(like), s.subscribers.c.name.like(like)))
        if status == SUPPRESSED:
            q = q.where(s.suppressions.c.email.is_not(None))
        elif status:
            q = q.where(s.memberships.c.status == status, s.suppressions.c.email.is_(None))
        if limit is not None:
            q = q.limit(limit).offset(offset)
        with self.engine.connect() as conn:
            return [
                SubscriberEntry(
                    id=r.id,
                    email=r.email,
                    name=r.name,
                    language=r.language,
                    timezone=r.timezone,
                    topics=tuple(r.topics or ()),
                    frequency=r.frequency or "daily",
                    list_name=r.list_name,
                    status=SUPPRESSED if r.suppressed else r.membership,
                    created_at=r.created_at,
                    updated_at=r.member_updated,
                )
                for r in conn.execute(q)
            ]

    def count_by_status(self, list_name: str) -> dict[str, int]:
        """Members of a list per status (suppressed counted apart, whatever the membership)."""
        counts = {"pending": 0, "subscribed": 0, "unsubscribed": 0, SUPPRESSED: 0}
        q = (
            select(
                s.memberships.c.status,
                s.suppressions.c.email.is_not(None).label("suppressed"),
                func.count(),
            )
            .join(s.subscribers, s.subscribers.c.id == s.memberships.c.subscriber_id)
            .outerjoin(s.suppressions, s.suppressions.c.email == s.subscribers.c.email)
            .where(s.memberships.c.list_name == list_name)
            .group_by(s.memberships.c.status, "suppressed")
        )
        with self.engine.connect() as conn:
            for status, suppressed, n in conn.execute(q):
                key = SUPPRESSED if suppressed else status
                counts[key] = counts.get(key, 0) + n
        return counts

    def forget(self, email: str, now: datetime) -> bool:
        """Erase a subscriber's personal data; keep only a hashed suppression entry.

        The subscriber row stays (the ledger points at it) with its address
        replaced by an opaque placeholder and every other field emptied; the
        memberships, preferences and the ledger's copies of the address go.
        Returns False if the address was unknown (the hashed entry is still kept).
        """
        email = email.strip().lower()
        hashed = email_hash(email)
        with self.engine.begin() as conn:
            sid = conn.execute(
                select(s.subscribers.c.id).where(s.subscribers.c.email == email)
            ).scalar_one_or_none()
            conn.execute(delete(s.suppressions).where(s.suppressions.c.email == email))
            exists = conn.execute(
                select(s.suppressions.c.email).where(s.suppressions.c.email == hashed)
            ).first()
            if exists is None:
                conn.execute(
                    insert(s.suppressions).values(email=hashed, reason="forgotten", created_at=now)
                )
            conn.execute(
                delete(s.rate_limit_events).where(
                    s.rate_limit_events.c.bucket == f"signup:address:{hashed}"
                )
            )
            if sid is None:
                return False
            placeholder = f"forgotten-{sid}@invalid"
            conn.execute(delete(s.memberships).where(s.memberships.c.subscriber_id == sid))
            conn.execute(
                delete(s.subscriber_preferences).where(
                    s.subscriber_preferences.c.subscriber_id == sid
                )
            )
            # per-reader clicks (issue 17, lists with tracking = "per_reader")
            conn.execute(delete(s.reader_clicks).where(s.reader_clicks.c.subscriber_id == sid))
            conn.execute(
                update(s.deliveries)
                .where(s.deliveries.c.subscriber_id == sid)
                .values(email=placeholder)
            )
            conn.execute(
                update(s.subscribers)
                .where(s.subscribers.c.id == sid)
                .values(email=placeholder, name="", timezone=None, topics=[], language="und")
            )
        return True

    def lift_forgotten(self, email: str) -> None:
        """A forgotten reader signed up again and confirmed: drop the hashed entry."""
        with self.engine.begin() as conn:
            conn.execute(
                delete(s.suppressions).where(
                    s.suppressions.c.email == email_hash(email),
                    s.suppressions.c.reason == "forgotten",
                )
            )


def _subscriber(row: Any) -> Subscriber:
    return Subscriber(
        id=row.id,
        email=row.email,
        name=row.name,
        language=row.language,
        timezone=row.timezone,
        topics=tuple(row.topics or ()),
    )


def _set_frequency(conn: Any, subscriber_id: int, frequency: str) -> None:
    res = conn.execute(
        update(s.subscriber_preferences)
        .where(s.subscriber_preferences.c.subscriber_id == subscriber_id)
        .values(frequency=frequency)
    )
    if not res.rowcount:
        conn.execute(
            insert(s.subscriber_preferences).values(
                subscriber_id=subscriber_id, frequency=frequency
            )
        )


def _apply_preferences(conn: Any, subscriber_id: int, prefs: Preferences) -> None:
    values: dict[str, Any] = {
        "language": prefs.language,
        "timezone": prefs.timezone,
        "topics": list(prefs.topics),
    }
    if prefs.name:
        values["name"] = prefs.name
    conn.execute(update(s.subscribers).where(s.subscribers.c.id == subscriber_id).values(values))
    _set_frequency(conn, subscriber_id, prefs.frequency)
