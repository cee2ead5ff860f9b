"""Who may fire the scheduler's jobs: one leader per database.

:class:`LeaderLock` is the small interface the scheduler uses; :func:`leader_lock`
picks the implementation by the database's dialect:

* PostgreSQL: :class:`AdvisoryLock`, a session-level ``pg_try_advisory_lock`` held
  on one dedicated connection kept open for the scheduler's lifetime.  The lock
  belongs to that connection's server session, so a leader that is killed (or
  whose connection is terminated) frees it at once and a standby takes over at
  its next try, without waiting for an expiry.
* Everything else (SQLite): :class:`LeaseLock`, the ``schedule_lease`` row with
  an expiry, renewed while the leader lives; a dead leader's row expires.

Both are checked again just before each job fires (:meth:`LeaderLock.held`), so a
scheduler that lost the lock fires nothing.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from sqlalchemy import Connection, Engine, create_engine, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from distributor.store import Store
from distributor.store.schedule import ScheduleStore

log = logging.getLogger("distributor.leader")

LOCK_NAME = "distributor.scheduler"
_APP_PREFIX = "distributor scheduler "


def advisory_key(name: str = LOCK_NAME) -> int:
    """A stable signed 64-bit key for ``pg_advisory_lock`` derived from ``name``.

    Advisory locks are per database, so deployments sharing a server do not meet.
    """
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class Holder:
    """Who is the leader, as ``schedule list`` shows it."""

    owner: str
    mechanism: str  # "lease" | "advisory lock"
    expires_at: datetime | None = None  # the lease's expiry; None for the advisory lock


class LeaderLock(Protocol):
    """The scheduler's leadership: one holder per database."""

    owner: str
    mechanism: str

    def acquire(self) -> bool:
        """Try to become (or stay) the leader without waiting; True if this holds it now."""

    def held(self) -> bool:
        """Check (and for a lease, renew) just before firing; False once lost."""

    def release(self) -> None:
        """Give leadership up (a clean stop), so a standby takes over at once."""

    def holder(self) -> Holder | None:
        """Who holds it now, if anyone (for the standby's log and ``schedule list``)."""

    def close(self) -> None:
        """Release and free any resources (the dedicated connection)."""


class LeaseLock:
    """A lease row with an expiry (``schedule_lease``), for SQLite and any database."""

    mechanism = "lease"

    def __init__(self, store: Store, owner: str, ttl: float, clock: Callable[[], datetime]) -> None:
        self.schedule = ScheduleStore(store)
        self.owner = owner
        self.ttl = ttl
        self.clock = clock

    def acquire(self) -> bool:
        return self.schedule.acquire_lease(self.owner, self.ttl, self.clock())

    def held(self) -> bool:
        return self.schedule.renew_lease(self.owner, self.ttl, self.clock())

    def release(self) -> None:
        self.schedule.release_lease(self.owner)

    def holder(self) -> Holder | None:
        found = self.schedule.lease_holder()
        return Holder(found[0], self.mechanism, found[1]) if found else None

    def close(self) -> None:
        self.release()


class AdvisoryLock:
    """A session-level PostgreSQL advisory lock on one dedicated connection.

    The connection comes from its own engine without a pool (closing it really
    ends the server session, and with it the lock) in autocommit mode (no
    transaction is left open while the scheduler runs).  Its ``application_name``
    names the owner, which is how :meth:`holder` finds the leader in
    ``pg_stat_activity``.  One mutex serialises the scheduler's threads on it.
    """

    mechanism = "advisory lock"

    def __init__(self, url: str, owner: str, *, key: int | None = None, ttl: float = 60) -> None:
        self.owner = owner
        self.key = advisory_key() if key is None else key
        self.ttl = ttl
        self._engine: Engine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self._conn: Connection | None = None
        self._mutex = threading.Lock()
        self._params = {
            "key": self.key,
            "hi": (self.key >> 32) & 0xFFFFFFFF,
            "lo": self.key & 0xFFFFFFFF,
        }

    def _connect(self) -> Connection:
        conn = self._engine.connect()
        # application_name is at most 63 bytes; the owner is host:pid:random
        conn.execute(
            text("SELECT set_config('application_name', :name, false)"),
            {"name": (_APP_PREFIX + self.owner)[:63]},
        )
        # the server notices a leader that vanished without closing (a network
        # partition, a powered-off host) within about the lease time, not hours
        probe = max(1, int(self.ttl / 3))
        for setting, value in (
            ("tcp_keepalives_idle", probe),
            ("tcp_keepalives_interval", probe),
            ("tcp_keepalives_count", 3),
        ):
            conn.execute(text("SELECT set_config(:s, :v, false)"), {"s": setting, "v": str(value)})
        return conn

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except DBAPIError:
                conn.invalidate()

    def _holds(self, conn: Connection) -> bool:
        # pg_locks keys a bigint advisory lock as classid (high half), objid (low
        # half) and objsubid 1, in the current database
        return bool(
            conn.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks"
                    " WHERE locktype = 'advisory' AND granted AND pid = pg_backend_pid()"
                    " AND database = (SELECT oid FROM pg_database"
                    "                 WHERE datname = current_database())"
                    " AND classid::bigint = :hi AND objid::bigint = :lo AND objsubid = 1)"
                ),
                self._params,
            ).scalar_one()
        )

    def acquire(self) -> bool:
        with self._mutex:
            try:
                if self._conn is not None:
                    if self._holds(self._conn):
                        return True  # session locks stack: never take it twice
                else:
                    self._conn = self._connect()
                got = self._conn.execute(
                    text("SELECT pg_try_advisory_lock(:key)"), self._params
                ).scalar_one()
            except DBAPIError as err:
                log.warning("advisory lock: the database did not answer: %s", err.orig or err)
                self._drop()
                return False
            return bool(got)

    def held(self) -> bool:
        with self._mutex:
            if self._conn is None:
                return False
            try:
                if self._holds(self._conn):
                    return True
            except DBAPIError as err:
                log.warning("advisory lock: the lock's connection is gone: %s", err.orig or err)
            # lost (connection terminated): a new connection is made at the next acquire
            self._drop()
            return False

    def release(self) -> None:
        with self._mutex:
            if self._conn is None:
                return
            try:
                self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), self._params)
            except DBAPIError as err:
                log.warning("advisory lock: unlock failed (freed with the session): %s", err)
            self._drop()  # closing the session frees the lock in any case

    def holder(self) -> Holder | None:
        try:
            return advisory_holder(self._engine, self.key)
        except DBAPIError as err:  # the database is down: the standby just tries again
            log.warning("advisory lock: cannot see who holds it: %s", err.orig or err)
            return None

    def close(self) -> None:
        self.release()
        self._engine.dispose()


def advisory_holder(engine: Engine, key: int | None = None) -> Holder | None:
    """The session holding the scheduler's advisory lock in this database, if any."""
    key = advisory_key() if key is None else key
    with engine.connect() as conn:
        row = conn.execute(
            text(
                "SELECT a.application_name, a.pid FROM pg_locks l"
                " JOIN pg_stat_activity a ON a.pid = l.pid"
                " WHERE l.locktype = 'advisory' AND l.granted"
                " AND l.database = (SELECT oid FROM pg_database"
                "                   WHERE datname = current_database())"
                " AND l.classid::bigint = :hi AND l.objid::bigint = :lo AND l.objsubid = 1"
            ),
            {"hi": (key >> 32) & 0xFFFFFFFF, "lo": key & 0xFFFFFFFF},
        ).first()
    if row is None:
        return None
    name = row.application_name or ""
    owner = name.removeprefix(_APP_PREFIX) if name.startswith(_APP_PREFIX) else f"pid {row.pid}"
    return Holder(owner, AdvisoryLock.mechanism)


def uses_advisory_lock(engine: Engine) -> bool:
    """PostgreSQL has session-level advisory locks; other databases use the lease row."""
    return engine.dialect.name == "postgresql"


def leader_lock(
    store: Store, owner: str, *, ttl: float, clock: Callable[[], datetime]
) -> LeaderLock:
    """The lock for this database: an advisory lock on PostgreSQL, a lease row elsewhere."""
    if uses_advisory_lock(store.engine):
        url = store.engine.url.render_as_string(hide_password=False)
        return AdvisoryLock(url, owner, ttl=ttl)
    return LeaseLock(store, owner, ttl, clock)


def current_holder(store: Store) -> Holder | None:
    """Who leads the schedulers on this database, whichever the mechanism."""
    if uses_advisory_lock(store.engine):
        return advisory_holder(store.engine)
    found = ScheduleStore(store).lease_holder()
    return Holder(found[0], LeaseLock.mechanism, found[1]) if found else None
