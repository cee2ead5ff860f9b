"""Ledger queries of the batch tasks (workers, issue 9): id ranges, claim fencing, outcomes.

Every query works on ids and counts in SQL; none loads a whole edition's rows.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, or_, select, update

from distributor.models import DeliveryState
from distributor.store import schema as s
from distributor.store.claims import UNSENT
from distributor.store.repository import ClaimedDelivery, Store

OPEN = (DeliveryState.PENDING.value, DeliveryState.SENDING.value)


def id_ranges(
    store: Store, edition_id: int, size: int, *, page: int = 50_000
) -> Iterator[tuple[int, int]]:
    """``(first, last)`` id ranges covering the edition's open rows, ``size`` rows each.

    Streamed: the rows are numbered in SQL a page at a time (keyset on id), so
    a million-row edition is never held in memory.
    """
    d = s.deliveries
    after = 0
    while True:
        numbered = (
            select(
                d.c.id,
                ((func.row_number().over(order_by=d.c.id) - 1) // size).label("grp"),
            )
            .where(d.c.edition_id == edition_id, UNSENT, d.c.state.in_(OPEN), d.c.id > after)
            .order_by(d.c.id)
            .limit(page)
            .subquery()
        )
        q = (
            select(func.min(numbered.c.id), func.max(numbered.c.id))
            .group_by(numbered.c.grp)
            .order_by(func.min(numbered.c.id))
        )
        with store.engine.connect() as conn:
            ranges = [(int(a), int(b)) for a, b in conn.execute(q)]
        if not ranges:
            return
        yield from ranges
        after = ranges[-1][1]


def confirm_claims(
    store: Store, claimed: Sequence[ClaimedDelivery], claimed_at: datetime, now: datetime
) -> set[int]:
    """Renew this worker's claim on its rows just before the provider call.

    A row is still ours when it is ``sending`` with the claim time we wrote
    (the claim time is the fencing token): if our lease ran out and another
    worker recovered it (to ``unknown`` or ``pending``, maybe re-claimed), it
    is not ours any more and must not be sent. Returns the ids still ours,
    whose lease now starts again at ``now``.
    """
    if not claimed:
        return set()
    d = s.deliveries
    with store.engine.begin() as conn:
        ids = conn.execute(
            update(d)
            .where(
                d.c.id.in_([c.id for c in claimed]),
                d.c.state == DeliveryState.SENDING.value,
                d.c.updated_at == claimed_at,
            )
            .values(updated_at=now)
            .returning(d.c.id)
        ).scalars()
        return {int(i) for i in ids}


@dataclass(frozen=True, slots=True)
class RangeState:
    """What is left in one task's id range."""

    pending: int  # claimable now
    held: int  # pending but held back until later (local-time delivery)
    sending: int  # claimed by a live worker (lease not expired)
    oldest_claim: datetime | None  # the earliest claim time among ``sending`` rows


def range_state(
    store: Store, edition_id: int, id_range: tuple[int, int], now: datetime
) -> RangeState:
    d = s.deliveries
    base = [d.c.edition_id == edition_id, UNSENT, d.c.id.between(*id_range)]
    ready = or_(d.c.not_before.is_(None), d.c.not_before <= now)
    with store.engine.connect() as conn:
        pending = conn.execute(
            select(func.count()).where(*base, d.c.state == DeliveryState.PENDING.value, ready)
        ).scalar_one()
        held = conn.execute(
            select(func.count()).where(*base, d.c.state == DeliveryState.PENDING.value, ~ready)
        ).scalar_one()
        sending, oldest = conn.execute(
            select(func.count(), func.min(d.c.updated_at)).where(
                *base, d.c.state == DeliveryState.SENDING.value
            )
        ).one()
    if oldest is not None and oldest.tzinfo is None:
        oldest = oldest.replace(tzinfo=UTC)
    return RangeState(int(pending), int(held), int(sending), oldest)


def open_count(store: Store, edition_ids: Sequence[int], now: datetime | None = None) -> int:
    """Rows of these editions still ``pending`` (ready by ``now``) or ``sending``."""
    if not edition_ids:
        return 0
    d = s.deliveries
    q = select(func.count()).where(
        d.c.edition_id.in_(list(edition_ids)), UNSENT, d.c.state.in_(OPEN)
    )
    if now is not None:
        q = q.where(
            or_(
                d.c.state == DeliveryState.SENDING.value,
                d.c.not_before.is_(None),
                d.c.not_before <= now,
            )
        )
    with store.engine.connect() as conn:
        return int(conn.execute(q).scalar_one())


@dataclass(frozen=True, slots=True)
class Problem:
    """One row that was not sent: its address, its state and the recorded reason."""

    edition_id: int
    email: str
    state: str
    error: str


def problems(store: Store, edition_ids: Sequence[int], limit: int | None = None) -> list[Problem]:
    """``failed`` and ``unknown`` rows of these editions with their reasons, in id order."""
    if not edition_ids:
        return []
    d = s.deliveries
    q = (
        select(d.c.edition_id, d.c.email, d.c.state, d.c.error)
        .where(
            d.c.edition_id.in_(list(edition_ids)),
            UNSENT,
            d.c.state.in_([DeliveryState.FAILED.value, DeliveryState.UNKNOWN.value]),
        )
        .order_by(d.c.id)
    )
    if limit is not None:
        q = q.limit(limit)
    with store.engine.connect() as conn:
        return [
            Problem(int(r.edition_id), r.email, r.state, r.error or "no reason recorded")
            for r in conn.execute(q)
        ]
