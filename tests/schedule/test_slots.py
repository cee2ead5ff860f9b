"""List-time slots: job sync, grace time, skipped slots, never twice, lease, send --now."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import requests
import time_machine

from distributor.leader import LeaseLock
from distributor.models import DeliveryState
from distributor.pipeline import Context
from distributor.scheduler import Runner, edition_job, open_jobstore, send_now, sync_jobs
from distributor.store.schedule import ScheduleStore
from distributor.store.schema import deliveries, editions
from tests.conftest import SAMPLE
from tests.schedule.conftest import Clock, rows, settings_of, utc, write_schedule_config

FEED = SAMPLE / "newsroom.atom.xml"


def _setup(tmp_path: Path, open_store: Any, list_extra: str = "") -> Any:
    path = write_schedule_config(
        tmp_path, feed=str(FEED), list_extra='timezone = "Europe/Berlin"\n' + list_extra
    )
    settings = settings_of(path)
    return path, settings, open_store(settings)


def _due(store: Any, now: Any) -> list[Any]:
    """What APScheduler's loop does: the stored job's run times up to ``now``."""
    job = open_jobstore(store).lookup_job("edition:daily")
    return list(job._get_run_times(now))


def test_sync_keeps_replaces_and_removes(tmp_path: Path, open_store: Any) -> None:
    _path, settings, store = _setup(tmp_path, open_store)
    jobstore = open_jobstore(store)
    t0 = utc("2026-11-27T03:00+00:00")
    first = sync_jobs(jobstore, settings, set(), t0)
    assert sorted(first.added) == ["edition:daily", "poll:sources"]
    job = jobstore.lookup_job("edition:daily")
    assert job.next_run_time == utc("2026-11-27T06:00+00:00")  # 07:00 in Berlin
    # the first poll one interval after the given now, whatever the wall clock says
    poll_minutes = settings.scheduler.poll_minutes
    poll = jobstore.lookup_job("poll:sources")
    assert poll.next_run_time == t0 + timedelta(minutes=poll_minutes)
    # unchanged: kept with its next run time, even a day later (missed runs stay visible)
    again = sync_jobs(jobstore, settings, set(), t0 + timedelta(days=1))
    assert sorted(again.kept) == ["edition:daily", "poll:sources"]
    assert jobstore.lookup_job("edition:daily").next_run_time == utc("2026-11-27T06:00+00:00")
    # changed schedule: replaced
    changed = settings_of(
        write_schedule_config(
            tmp_path,
            feed=str(FEED),
            list_extra='timezone = "Europe/Berlin"\nschedule = "30 8 * * 1"',
        )
    )
    result = sync_jobs(jobstore, changed, set(), t0)
    assert result.replaced == ["edition:daily"]
    assert jobstore.lookup_job("edition:daily").next_run_time == utc("2026-11-30T07:30+00:00")
    # paused: no next run
    sync_jobs(jobstore, changed, {"daily"}, t0)
    assert jobstore.lookup_job("edition:daily").next_run_time is None
    # removed from the config (schedule off): the job goes
    off = settings_of(
        write_schedule_config(tmp_path, feed=str(FEED), list_extra='schedule = "off"')
    )
    assert sync_jobs(jobstore, off, set(), t0).removed == ["edition:daily"]
    assert jobstore.lookup_job("edition:daily") is None


def test_missed_inside_grace_runs_once_outside_is_skipped(tmp_path: Path, open_store: Any) -> None:
    _path, settings, store = _setup(tmp_path, open_store)
    # the scheduler last ran on the 25th before the slot, then was down
    sync_jobs(open_jobstore(store), settings, set(), utc("2026-11-25T05:00+00:00"))
    clock = Clock(utc("2026-11-27T06:40+00:00"))  # 40 min after the 27th's 07:00 Berlin
    runner = Runner(settings, store, owner="test", clock=clock, lock=None)
    run_times = _due(store, clock.now)
    assert [t.day for t in run_times] == [25, 26, 27]
    edition_job("daily", runner=runner, run_times=run_times)
    slots = {s.slot_at.day: s for s in ScheduleStore(store).slots("daily")}
    assert slots[25].state == slots[26].state == "skipped"
    assert "grace time (60 min)" in slots[25].reason and "not sent late" in slots[25].reason
    assert slots[27].state == "done" and slots[27].edition_key == "2026-11-27"
    sent = [r for r in rows(store, deliveries) if r.state == DeliveryState.SENT]
    assert len(sent) == 5
    # the same slot fired again (a second scheduler, a restart): nothing new
    edition_job("daily", runner=runner, run_times=run_times[-1:])
    assert len(rows(store, deliveries)) == 5
    assert {r.key for r in rows(store, editions)} == {"2026-11-27"}


def test_two_slots_inside_grace_are_coalesced(tmp_path: Path, open_store: Any) -> None:
    _path, settings, store = _setup(
        tmp_path, open_store, 'schedule = "0,30 7 * * *"\ngrace_time = 3600'
    )
    sync_jobs(open_jobstore(store), settings, set(), utc("2026-11-27T05:00+00:00"))
    clock = Clock(utc("2026-11-27T06:45+00:00"))
    runner = Runner(settings, store, owner="test", clock=clock, lock=None)
    edition_job("daily", runner=runner, run_times=_due(store, clock.now))
    slots = sorted(ScheduleStore(store).slots("daily"), key=lambda s: s.slot_at)
    assert [s.state for s in slots] == ["skipped", "done"]
    assert "coalesced" in slots[0].reason
    assert len({r.edition_id for r in rows(store, deliveries)}) == 1


def test_send_now_then_the_slot_gets_its_own_key(tmp_path: Path, open_store: Any) -> None:
    _path, settings, store = _setup(tmp_path, open_store)
    clock = Clock(utc("2026-11-27T05:00+00:00"))
    ctx = Context(settings=settings, store=store, session=requests.Session(), clock=clock)
    slot, report = send_now(ctx, "daily")
    assert slot.edition_key == "2026-11-27" and report.emails.sent == 5
    ctx.session.close()
    clock.now = utc("2026-11-27T06:00+00:00")
    runner = Runner(settings, store, owner="test", clock=clock, lock=None)
    done = runner.edition_slot("daily", clock.now)
    assert done is not None and done.edition_key == "2026-11-27.2"
    assert done.summary is not None and "no new stories" in " ".join(done.summary["notes"])


def test_paused_list_slot_is_recorded_as_skipped(tmp_path: Path, open_store: Any) -> None:
    _path, settings, store = _setup(tmp_path, open_store)
    ScheduleStore(store).pause("daily", utc("2026-11-27T05:00+00:00"))
    clock = Clock(utc("2026-11-27T06:00+00:00"))
    runner = Runner(settings, store, owner="test", clock=clock, lock=None)
    slot = runner.edition_slot("daily", clock.now)
    assert slot is not None and slot.state == "skipped" and "paused" in (slot.reason or "")
    assert rows(store, deliveries) == []


def test_lease_one_holder_takeover_after_expiry(tmp_path: Path, open_store: Any) -> None:
    _path, settings, store = _setup(tmp_path, open_store)
    lease = ScheduleStore(store)
    t = utc("2026-11-27T06:00+00:00")
    assert lease.acquire_lease("a", 30, t)
    assert not lease.acquire_lease("b", 30, t + timedelta(seconds=10))
    assert lease.renew_lease("a", 30, t + timedelta(seconds=20))
    assert not lease.acquire_lease("b", 30, t + timedelta(seconds=45))
    # a stops renewing (it died): b takes over once the lease has expired
    assert lease.acquire_lease("b", 30, t + timedelta(seconds=51))
    assert not lease.renew_lease("a", 30, t + timedelta(seconds=52))
    # a scheduler that lost the lease fires nothing
    later = t + timedelta(seconds=52)
    runner = Runner(
        settings,
        store,
        owner="a",
        clock=lambda: later,
        lock=LeaseLock(store, "a", 30, lambda: later),
    )
    assert runner.edition_slot("daily", t) is None
    assert ScheduleStore(store).slots("daily") == []


def test_time_travel_through_a_real_scheduler_loop(tmp_path: Path, open_store: Any) -> None:
    """The real BlockingScheduler loop under time-machine: down over the 07:00 slot,
    started again at 07:30 Berlin: the slot runs once, late but inside the grace time."""
    import threading

    from distributor.scheduler import SchedulerProcess

    _path, settings, store = _setup(tmp_path, open_store)
    with time_machine.travel(utc("2026-11-27T05:00+00:00"), tick=True):
        sync_jobs(open_jobstore(store), settings, set(), utc("2026-11-27T05:00+00:00"))
    with time_machine.travel(utc("2026-11-27T06:30+00:00"), tick=True):
        process = SchedulerProcess(settings, store, owner="tm")
        thread = threading.Thread(target=process.serve)
        thread.start()
        sched = ScheduleStore(store)
        for _ in range(300):
            done = [s for s in sched.slots("daily") if s.state == "done"]
            if done:
                break
            threading.Event().wait(0.1)
        process.request_stop()
        thread.join(30)
    assert not thread.is_alive()
    assert [s.edition_key for s in done] == ["2026-11-27"]
    assert len(rows(store, deliveries)) == 5
    assert sched.lease_holder() is None  # released on a clean stop


def test_poll_fetches_and_posts_at_once_on_post_on_publish_channels(
    tmp_path: Path, open_store: Any
) -> None:
    path = write_schedule_config(
        tmp_path,
        feed=str(FEED),
        extra='[scheduler]\npost_on_publish = ["now"]\n'
        '[social.now]\nprovider = "file"\n[social.later]\nprovider = "file"',
    )
    settings = settings_of(path)
    store = open_store(settings)
    clock = Clock(utc("2026-11-28T07:00+00:00"))
    runner = Runner(settings, store, owner="test", clock=clock, lock=None)
    report = runner.poll()
    assert report.stories_fetched > 0 and report.ok, report.errors
    assert store.post_counts("now").sent > 0
    assert store.post_counts("later").sent == 0  # waits for the digest run
    assert rows(store, deliveries) == []  # polling sends no email
    assert runner.poll().posts.sent == 0  # never twice
