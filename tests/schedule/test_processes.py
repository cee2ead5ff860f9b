"""Real scheduler processes: SIGKILL and restart, two schedulers on one database, SIGTERM."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from distributor.scheduler import open_jobstore, sync_jobs
from distributor.store.schedule import ScheduleStore
from distributor.store.schema import deliveries, editions, schedule_slots
from tests.conftest import SAMPLE
from tests.schedule.conftest import READERS, rows, settings_of, write_schedule_config

FEED = SAMPLE / "newsroom.atom.xml"
ALL = {email for email, _ in READERS}


def _start(config: Path, owner: str, log: Path) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTOR_")}
    with log.open("wb") as err:  # the child keeps its own copy of the descriptor
        return subprocess.Popen(
            [
                sys.executable,
                "-m",
                "distributor",
                "--config",
                str(config),
                "scheduler",
                "--owner",
                owner,
            ],
            cwd=config.parent,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _in(seconds: int) -> str:
    t = datetime.now(UTC) + timedelta(seconds=seconds)
    return f"{t.second} {t.minute} {t.hour} * * *"


def test_sigkill_mid_send_then_restart_sends_the_edition_once(
    tmp_path: Path, smtp_server: Any, open_store: Any
) -> None:
    controller, recorder = smtp_server
    victim = "sydney@example.org"  # second batch of two: the send hangs there
    recorder.hang.add(victim)
    config = write_schedule_config(
        tmp_path,
        feed=str(FEED),
        mail=f'provider = "smtp"\nhost = "127.0.0.1"\nport = {controller.port}\n'
        f'security = "none"\nbatch_size = 2\ntimeout = 60',
        list_extra=f'schedule = "{_in(3)}"',
        extra="[scheduler]\nlease_seconds = 3",
    )
    settings = settings_of(config)
    store = open_store(settings)
    # the job is in the store before the process starts: however slowly it starts on a
    # busy machine, the slot is due (inside the grace time), not moved to tomorrow
    sync_jobs(open_jobstore(store), settings, set(), datetime.now(UTC))
    first = _start(config, "first", tmp_path / "first.log")
    try:
        assert recorder.hanging.wait(40), (tmp_path / "first.log").read_text()
        time.sleep(0.2)
        first.send_signal(signal.SIGKILL)
    finally:
        first.wait(30)
    before = [env.rcpt_tos[0] for env, _ in recorder.messages]
    recorder.hang.clear()
    [slot] = ScheduleStore(store).slots("daily")
    assert slot.state == "running"

    second = _start(config, "second", tmp_path / "second.log")
    try:
        _wait(
            lambda: ScheduleStore(store).slots("daily")[0].state == "done",
            40,
            "the restarted scheduler to finish the slot",
        )
    finally:
        second.send_signal(signal.SIGTERM)
        assert second.wait(30) == 0, (tmp_path / "second.log").read_text()
    received = [env.rcpt_tos[0] for env, _ in recorder.messages]
    assert len(received) == len(set(received)), "a reader got the edition twice"
    assert set(before) <= set(received)
    ledger = {r.email: r.state for r in rows(store, deliveries)}
    unknown = {e for e, s in ledger.items() if s == "unknown"}
    assert victim in unknown  # in flight at the kill: never resent blindly
    assert set(received) | unknown == ALL
    assert {e for e, s in ledger.items() if s == "sent"} == set(received)
    assert [r.key for r in rows(store, editions)] == [slot.edition_key]
    assert len(rows(store, schedule_slots)) == 1
    assert "resuming interrupted slot" in (tmp_path / "second.log").read_text()
    assert ScheduleStore(store).lease_holder() is None  # released by the clean stop


def test_two_schedulers_one_edition_per_slot_and_takeover(tmp_path: Path, open_store: Any) -> None:
    # the lease row is SQLite's leader lock (PostgreSQL's advisory lock: test_postgres_lock.py)
    config = write_schedule_config(
        tmp_path,
        feed=str(FEED),
        list_extra='schedule = "*/2 * * * * *"',
        extra=f'database_url = "sqlite:///{tmp_path / "var" / "lease.db"}"\n'
        "[scheduler]\nlease_seconds = 3",
    )
    store = open_store(settings_of(config))
    sched = ScheduleStore(store)
    procs = {name: _start(config, name, tmp_path / f"{name}.log") for name in ("a", "b")}
    try:
        _wait(lambda: len(sched.slots("daily")) >= 3, 40, "three slots")
        holder = sched.lease_holder()
        assert holder is not None
        leader = holder[0]
        standby = "b" if leader == "a" else "a"
        procs[leader].send_signal(signal.SIGKILL)
        procs[leader].wait(10)
        killed_at = datetime.now(UTC)
        _wait(
            lambda: any(s.owner == standby and s.slot_at > killed_at for s in sched.slots("daily")),
            30,
            "the standby to take over",
        )
    finally:
        for p in procs.values():
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
                p.wait(30)
    slots = sched.slots("daily", limit=1000)
    assert len({s.slot_at for s in slots}) == len(slots)
    owners = Counter(s.owner for s in slots)
    assert set(owners) == {leader, standby}
    # one edition, made by the first slot; later slots found no new story
    keys = [r.key for r in rows(store, editions)]
    assert len(keys) == len(set(keys))
    assert sum(1 for s in slots if s.summary and s.summary["editions"]) == 1
    ledger = rows(store, deliveries)
    assert sorted(r.email for r in ledger) == sorted(ALL)
    assert {r.state for r in ledger} == {"sent"}
    assert len(list((tmp_path / "var/outbox/mail").rglob("*.eml"))) == len(ALL)
    assert "standing by" in (tmp_path / f"{standby}.log").read_text()
