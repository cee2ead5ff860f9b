"""The scheduler's tables: the lease, the slots (made or skipped) and paused lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from distributor.models import DeliveryState
from distributor.store import schema as s
from distributor.store.claims import UNSENT
from distributor.store.repository import Store

LEASE_NAME = "scheduler"


@dataclass(frozen=True, slots=True)
class Slot:
    """One scheduled slot of a list, as recorded."""

    list_name: str
    slot_at: datetime
    local_time: bool
    state: str  # running | done | skipped | failed
    edition_key: str | None
    reason: str | None
    owner: str | None
    summary: dict[str, Any] | None
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "list": self.list_name,
            "slot_at": self.slot_at.isoformat(),
            "local_time": self.local_time,
            "state": self.state,
            "edition_key": self.edition_key,
            "reason": self.reason,
            "owner": self.owner,
            "summary": self.summary,
            "updated_at": self.updated_at.isoformat(),
        }


def _slot(row: Any) -> Slot:
    return Slot(
        row.list_name,
        row.slot_at,
        bool(row.local_time),
        row.state,
        row.edition_key,
        row.reason,
        row.owner,
        row.summary,
        row.updated_at,
    )


class ScheduleStore:
    """Repository of the scheduler's tables, over the project's :class:`Store`."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine

    # -------------------------------------------------------------------- lease
    def acquire_lease(self, owner: str, ttl: float, now: datetime) -> bool:
        """Take or renew the lease; True if ``owner`` holds it until ``now + ttl``."""
        expires = now + timedelta(seconds=ttl)
        t = s.schedule_lease
        with self.engine.begin() as conn:
            res = conn.execute(
                update(t)
                .where(t.c.name == LEASE_NAME, or_(t.c.owner == owner, t.c.expires_at < now))
                .values(owner=owner, expires_at=expires, acquired_at=now)
            )
            if res.rowcount:
                return True
            try:
                with conn.begin_nested():
                    conn.execute(
                        insert(t).values(
                            name=LEASE_NAME, owner=owner, expires_at=expires, acquired_at=now
                        )
                    )
            except IntegrityError:
                return False
            return True

    def renew_lease(self, owner: str, ttl: float, now: datetime) -> bool:
        """Extend a lease ``owner`` still holds; False if it was lost (expired and taken)."""
        t = s.schedule_lease
        with self.engine.begin() as conn:
            res = conn.execute(
                update(t)
                .where(t.c.name == LEASE_NAME, t.c.owner == owner)
                .values(expires_at=now + timedelta(seconds=ttl))
            )
            return bool(res.rowcount)

    def release_lease(self, owner: str) -> None:
        """Give the lease up (a clean stop), so a standby takes over at once."""
        t = s.schedule_lease
        with self.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.name == LEASE_NAME, t.c.owner == owner))

    def lease_holder(self) -> tuple[str, datetime] | None:
        """Who holds the lease and until when (possibly expired)."""
        t = s.schedule_lease
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.name == LEASE_NAME)).first()
        return (row.owner, row.expires_at) if row else None

    # -------------------------------------------------------------------- slots
    def slot(self, list_name: str, slot_at: datetime) -> Slot | None:
        t = s.schedule_slots
        with self.engine.connect() as conn:
            row = conn.execute(
                select(t).where(t.c.list_name == list_name, t.c.slot_at == slot_at)
            ).first()
        return _slot(row) if row else None

    def begin_slot(
        self,
        list_name: str,
        slot_at: datetime,
        *,
        base_key: str,
        local_time: bool,
        owner: str,
        now: datetime,
    ) -> tuple[Slot, bool]:
        """Record that a slot fires; returns (the slot, True if this call made it).

        The unique (list, slot) row is what makes a slot fire once: a second
        scheduler, or the same slot fired again, finds the existing row.  The
        edition key is chosen here, once (``base_key``, or ``base_key.2`` if a
        manual run already used it).
        """
        key = self.store.next_edition_key(list_name, base_key)
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(s.schedule_slots).values(
                        list_name=list_name,
                        slot_at=slot_at,
                        local_time=local_time,
                        state="running",
                        edition_key=key,
                        owner=owner,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            existing = self.slot(list_name, slot_at)
            assert existing is not None
            return existing, False
        made = self.slot(list_name, slot_at)
        assert made is not None
        return made, True

    def skip_slot(
        self,
        list_name: str,
        slot_at: datetime,
        *,
        reason: str,
        local_time: bool,
        owner: str,
        now: datetime,
    ) -> bool:
        """Record a slot that was not run, with why. False if the slot was already recorded."""
        try:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(s.schedule_slots).values(
                        list_name=list_name,
                        slot_at=slot_at,
                        local_time=local_time,
                        state="skipped",
                        reason=reason,
                        owner=owner,
                        created_at=now,
                        updated_at=now,
                    )
                )
        except IntegrityError:
            return False
        return True

    def finish_slot(
        self,
        list_name: str,
        slot_at: datetime,
        *,
        state: str,
        now: datetime,
        reason: str | None = None,
        summary: dict[str, Any] | None = None,
    ) -> None:
        t = s.schedule_slots
        values: dict[str, Any] = {"state": state, "updated_at": now}
        if reason is not None:
            values["reason"] = reason
        if summary is not None:
            values["summary"] = summary
        with self.engine.begin() as conn:
            conn.execute(
                update(t).where(t.c.list_name == list_name, t.c.slot_at == slot_at).values(**values)
            )

    def slots(
        self, list_name: str | None = None, *, state: str | None = None, limit: int = 50
    ) -> list[Slot]:
        """Recorded slots, newest first."""
        t = s.schedule_slots
        q = select(t).order_by(t.c.slot_at.desc(), t.c.id.desc()).limit(limit)
        if list_name:
            q = q.where(t.c.list_name == list_name)
        if state:
            q = q.where(t.c.state == state)
        with self.engine.connect() as conn:
            return [_slot(r) for r in conn.execute(q)]

    # ------------------------------------------------------------------- paused
    def pause(self, list_name: str, now: datetime) -> None:
        try:
            with self.engine.begin() as conn:
                conn.execute(insert(s.schedule_paused).values(list_name=list_name, paused_at=now))
        except IntegrityError:
            pass

    def resume(self, list_name: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(s.schedule_paused).where(s.schedule_paused.c.list_name == list_name)
            )

    def paused(self) -> set[str]:
        with self.engine.connect() as conn:
            return set(conn.execute(select(s.schedule_paused.c.list_name)).scalars())

    # ------------------------------------------------------- local-time ledger
    def due_edition_keys(self, list_name: str, now: datetime) -> list[str]:
        """Keys of editions with pending rows held until a time that has come."""
        d, e = s.deliveries, s.editions
        q = (
            select(e.c.key)
            .join(d, d.c.edition_id == e.c.id)
            .where(
                e.c.list_name == list_name,
                UNSENT,
                d.c.state == DeliveryState.PENDING.value,
                d.c.not_before.is_not(None),
                d.c.not_before <= now,
            )
            .distinct()
            .order_by(e.c.key)
        )
        with self.engine.connect() as conn:
            return list(conn.execute(q).scalars())

    def expire_overdue(
        self, list_name: str, *, grace: float, now: datetime, reason: str
    ) -> dict[str, int]:
        """Held-back rows whose time passed more than ``grace`` seconds ago: not sent late.

        They become ``failed`` (not retryable) with ``reason``; returns the count
        per edition key.
        """
        d, e = s.deliveries, s.editions
        cutoff = now - timedelta(seconds=grace)
        cond = and_(
            d.c.edition_id.in_(select(e.c.id).where(e.c.list_name == list_name)),
            UNSENT,
            d.c.state == DeliveryState.PENDING.value,
            d.c.not_before.is_not(None),
            d.c.not_before < cutoff,
        )
        with self.engine.begin() as conn:
            counts = {
                key: int(n)
                for key, n in conn.execute(
                    select(e.c.key, func.count())
                    .join(d, d.c.edition_id == e.c.id)
                    .where(cond)
                    .group_by(e.c.key)
                )
            }
            if counts:
                conn.execute(
                    update(d)
                    .where(cond)
                    .values(
                        state=DeliveryState.FAILED.value,
                        retryable=False,
                        error=reason,
                        updated_at=now,
                    )
                )
        return counts
