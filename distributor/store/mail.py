"""Suppressions fed by provider events: hard bounces, complaints, unsubscribes, soft bounces.

Functions over a :class:`~distributor.store.Store`; the ``suppressions``
table itself (and :meth:`Store.suppress`) belongs to the foundation, and
``Store.recipients`` already leaves suppressed addresses out of new editions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from distributor.store import Store
from distributor.store import schema as s


class EventKind(enum.StrEnum):
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    COMPLAINED = "complained"
    UNSUBSCRIBED = "unsubscribed"


@dataclass(frozen=True, slots=True)
class MailEvent:
    """One provider event in normalized form."""

    provider: str
    kind: EventKind
    email: str
    event_id: str
    hard: bool = False  # bounces only: permanent (hard) or temporary (soft)
    detail: str = ""


def first_time(store: Store, provider: str, event_id: str, now: datetime) -> bool:
    """Record ``event_id``; False when it was seen before (a replay)."""
    with store.engine.begin() as conn:
        try:
            with conn.begin_nested():
                conn.execute(
                    insert(s.webhook_events).values(
                        provider=provider, event_id=event_id[:255], received_at=now
                    )
                )
        except IntegrityError:
            return False
    return True


def apply_event(store: Store, event: MailEvent, soft_threshold: int, now: datetime) -> str:
    """Act on one event; returns what was done, for the webhook's reply and logs."""
    email = event.email.strip().lower()
    if not email:
        return "ignored (no address)"
    if event.kind is EventKind.DELIVERED:
        return "recorded"
    if event.kind is EventKind.BOUNCED and not event.hard:
        count = _count_soft_bounce(store, email, event.detail, now)
        if count >= soft_threshold:
            store.suppress(
                email, f"{event.provider}: {count} soft bounces ({event.detail})"[:500], now
            )
            return f"suppressed after {count} soft bounces"
        return f"soft bounce {count}/{soft_threshold}"
    reason = {
        EventKind.BOUNCED: "hard bounce",
        EventKind.COMPLAINED: "complaint",
        EventKind.UNSUBSCRIBED: "unsubscribed",
    }[event.kind]
    store.suppress(email, f"{event.provider}: {reason} {event.detail}".strip()[:500], now)
    return "suppressed"


def _count_soft_bounce(store: Store, email: str, reason: str, now: datetime) -> int:
    with store.engine.begin() as conn:
        row = conn.execute(
            select(s.soft_bounces.c.count).where(s.soft_bounces.c.email == email)
        ).first()
        if row is None:
            conn.execute(
                insert(s.soft_bounces).values(
                    email=email, count=1, last_reason=reason[:500], updated_at=now
                )
            )
            return 1
        conn.execute(
            update(s.soft_bounces)
            .where(s.soft_bounces.c.email == email)
            .values(count=s.soft_bounces.c.count + 1, last_reason=reason[:500], updated_at=now)
        )
        return int(row[0]) + 1


def soft_bounce_count(store: Store, email: str) -> int:
    with store.engine.connect() as conn:
        row = conn.execute(
            select(s.soft_bounces.c.count).where(s.soft_bounces.c.email == email.lower())
        ).first()
    return int(row[0]) if row else 0
