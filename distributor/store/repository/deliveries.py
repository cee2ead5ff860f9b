"""The delivery ledger: recovery, claims, results, counts; and its bulk writer."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, select, update

from distributor.models import DeliveryResult, DeliveryState, Edition
from distributor.store import claims
from distributor.store import schema as s
from distributor.store.repository.base import StoreBase
from distributor.store.repository.values import ClaimedDelivery, IdRange, LedgerCounts


class LedgerQueries(StoreBase):
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


#: rows per statement when writing the ledger in bulk
_CHUNK = 5000


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
