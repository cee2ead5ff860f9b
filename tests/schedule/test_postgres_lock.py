"""The PostgreSQL advisory lock: one leader, freed with its connection, real processes.

Runs on a real PostgreSQL server (the ``pg_url`` fixture of ``tests/conftest.py``: a
fresh database per test; skipped with the reason outside CI when no server answers).
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from distributor.leader import (
    AdvisoryLock,
    LeaseLock,
    advisory_key,
    current_holder,
    leader_lock,
)
from distributor.scheduler import Runner
from distributor.store import Store
from distributor.store.schedule import ScheduleStore
from distributor.store.schema import deliveries, editions
from tests.schedule.conftest import rows, settings_of, write_schedule_config
from tests.schedule.test_processes import ALL, FEED, _start, _wait
from tests.schedule.test_stop_and_cli import cli


def _pg_config(tmp_path: Path, pg_url: str, list_extra: str = "") -> Path:
    return write_schedule_config(
        tmp_path,
        feed=str(FEED),
        list_extra=list_extra,
        extra=f'database_url = "{pg_url}"\n[scheduler]\nlease_seconds = 3',
    )


def _backend_pid(pg_url: str, owner: str) -> int:
    """The server process of a lock's dedicated connection, found by its application_name."""
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            pid = conn.execute(
                text("SELECT pid FROM pg_stat_activity WHERE application_name = :n"),
                {"n": f"distributor scheduler {owner}"},
            ).scalar_one()
    finally:
        engine.dispose()
    return int(pid)


def test_key_is_stable_and_the_dialect_picks_the_lock(
    tmp_path: Path, pg_url: str, open_store: Any
) -> None:
    assert advisory_key() == advisory_key("distributor.scheduler")
    assert advisory_key() != advisory_key("something.else")
    assert -(2**63) <= advisory_key() < 2**63
    (tmp_path / "pg").mkdir()
    sqlite_url = f"sqlite:///{tmp_path / 'var' / 'distributor.db'}"
    sqlite = open_store(
        settings_of(write_schedule_config(tmp_path, extra=f'database_url = "{sqlite_url}"'))
    )
    pg = open_store(settings_of(_pg_config(tmp_path / "pg", pg_url)))
    now = datetime.now(UTC)
    assert isinstance(leader_lock(sqlite, "x", ttl=3, clock=lambda: now), LeaseLock)
    lock = leader_lock(pg, "x", ttl=3, clock=lambda: now)
    try:
        assert isinstance(lock, AdvisoryLock)
    finally:
        lock.close()


def test_two_holders_in_one_process_only_one_holds(tmp_path: Path, pg_url: str) -> None:
    store = Store.open(pg_url)
    a = AdvisoryLock(pg_url, "a", ttl=3)
    b = AdvisoryLock(pg_url, "b", ttl=3)
    try:
        assert current_holder(store) is None
        assert a.acquire()
        assert a.acquire()  # already held: not taken a second time (session locks stack)
        assert not b.acquire()
        assert a.held() and not b.held()
        holder = current_holder(store)
        assert holder is not None and holder.owner == "a"
        assert holder.mechanism == "advisory lock" and holder.expires_at is None
        b_view = b.holder()
        assert b_view is not None and b_view.owner == "a"
        # on PostgreSQL the lease row is not used: schedule list reads pg_locks
        assert ScheduleStore(store).lease_holder() is None

        # a clean stop unlocks (one unlock frees it: it was not stacked) and b takes over
        a.release()
        assert not a.held()
        assert b.acquire() and b.held()
        assert not a.acquire()
        holder = current_holder(store)
        assert holder is not None and holder.owner == "b"
    finally:
        a.close()
        b.close()
        store.close()
    after = Store.open(pg_url)
    try:
        assert current_holder(after) is None  # closed: nobody holds it
    finally:
        after.close()


def test_killed_connection_frees_the_lock_and_the_loser_fires_nothing(
    tmp_path: Path, pg_url: str, open_store: Any
) -> None:
    settings = settings_of(_pg_config(tmp_path, pg_url, 'schedule = "0 7 * * *"'))
    store = open_store(settings)
    a = AdvisoryLock(pg_url, "a", ttl=3)
    b = AdvisoryLock(pg_url, "b", ttl=3)
    admin = create_engine(pg_url)
    try:
        assert a.acquire() and not b.acquire()
        # the leader's connection dies (as when its process is killed)
        with admin.connect() as conn:
            assert conn.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": _backend_pid(pg_url, "a")}
            ).scalar_one()
        # no expiry to wait for: the standby gets it as soon as the session is gone
        deadline = time.monotonic() + 5
        while not b.acquire():
            assert time.monotonic() < deadline, "the lock was not freed with its connection"
            time.sleep(0.05)
        assert b.held()
        # the old leader notices before firing, and fires nothing
        now = datetime.now(UTC)
        runner = Runner(settings, store, owner="a", clock=lambda: now, lock=a)
        assert runner.edition_slot("daily", now - timedelta(minutes=1)) is None
        assert ScheduleStore(store).slots("daily") == []
        assert not a.held()
        assert not a.acquire()  # reconnects, but b holds it
        # b's process ends without unlocking: closing its session frees it for a
        b._engine.dispose()
        with admin.connect() as conn:
            conn.execute(
                text("SELECT pg_terminate_backend(:pid)"), {"pid": _backend_pid(pg_url, "b")}
            )
        deadline = time.monotonic() + 5
        while not a.acquire():
            assert time.monotonic() < deadline, "the lock was not freed with its connection"
            time.sleep(0.05)
        holder = current_holder(store)
        assert holder is not None and holder.owner == "a"
    finally:
        a.close()
        b.close()
        admin.dispose()


def test_two_scheduler_processes_on_postgres_one_edition_per_slot_and_takeover(
    tmp_path: Path, pg_url: str, open_store: Any
) -> None:
    config = _pg_config(tmp_path, pg_url, 'schedule = "*/2 * * * * *"')
    store = open_store(settings_of(config))
    sched = ScheduleStore(store)
    procs = {name: _start(config, name, tmp_path / f"{name}.log") for name in ("a", "b")}
    try:
        _wait(lambda: len(sched.slots("daily")) >= 3, 40, "three slots")
        holder = current_holder(store)
        assert holder is not None and holder.mechanism == "advisory lock"
        leader = holder.owner
        standby = "b" if leader == "a" else "a"
        assert {s.owner for s in sched.slots("daily")} == {leader}
        listed = cli("--config", str(config), "schedule", "list", "--json", cwd=tmp_path)
        assert listed.returncode == 0, listed.stderr
        lease = json.loads(listed.stdout)["lease"]
        assert lease == {"owner": leader, "mechanism": "advisory lock", "expires_at": None}
        procs[leader].send_signal(signal.SIGKILL)
        procs[leader].wait(10)
        killed_at = datetime.now(UTC)
        _wait(
            lambda: any(s.owner == standby and s.slot_at > killed_at for s in sched.slots("daily")),
            20,
            "the standby to take over",
        )
        now_holder = current_holder(store)
        assert now_holder is not None and now_holder.owner == standby
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                assert p.wait(30) == 0
    assert current_holder(store) is None  # the clean stop unlocked
    slots = sched.slots("daily", limit=1000)
    assert len({s.slot_at for s in slots}) == len(slots)
    assert set(Counter(s.owner for s in slots)) == {leader, standby}
    keys = [r.key for r in rows(store, editions)]
    assert len(keys) == len(set(keys))
    assert sum(1 for s in slots if s.summary and s.summary["editions"]) == 1
    ledger = rows(store, deliveries)
    assert sorted(r.email for r in ledger) == sorted(ALL)
    assert {r.state for r in ledger} == {"sent"}
    assert len(list((tmp_path / "var/outbox/mail").rglob("*.eml"))) == len(ALL)
    log = (tmp_path / f"{standby}.log").read_text()
    assert f"standing by: the advisory lock is held by {leader}" in log
    assert "advisory lock acquired by" in log
