"""Local-time delivery (each reader at 07:00 on their own clock) across DST changes."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from distributor.scheduler import Runner
from distributor.store.schedule import ScheduleStore
from distributor.store.schema import deliveries, edition_stories, editions
from tests.schedule.conftest import READERS, Clock, settings_of, story, utc, write_schedule_config

LIST_ZONE = "Europe/Berlin"


def _ledger(store: Any) -> list[Any]:
    q = select(
        deliveries.c.email,
        deliveries.c.state,
        deliveries.c.not_before,
        deliveries.c.updated_at,
        deliveries.c.error,
        editions.c.key,
        editions.c.id.label("edition_id"),
    ).join(editions, editions.c.id == deliveries.c.edition_id)
    with store.engine.connect() as conn:
        return list(conn.execute(q))


def _simulate(
    tmp_path: Path, open_store: Any, first_day: str, days: int, step_min: int = 30
) -> Any:
    settings = settings_of(
        write_schedule_config(tmp_path, list_extra=f'timezone = "{LIST_ZONE}"\nlocal_time = true')
    )
    store = open_store(settings)
    start = utc(f"{first_day}T00:00+00:00") - timedelta(hours=14)
    clock = Clock(start)
    runner = Runner(settings, store, owner="test", clock=clock, lock=None)
    end = start + timedelta(days=days, hours=14)
    n = 0
    while clock.now < end:
        # one new story a day, published before the first readers' morning (Sydney's
        # 07:00 is 20:00 or 21:00 UTC the day before)
        if clock.now.hour == 12 and clock.now.minute == 0:
            store.upsert_stories([story(n, clock.now)], clock.now)
            n += 1
        runner.local_tick("daily")
        clock.now += timedelta(minutes=step_min)
    return settings, store


@pytest.mark.parametrize(
    "first_day",
    [
        "2026-03-28",  # Berlin springs forward on 03-29
        "2026-10-24",  # Berlin falls back on 10-25
        "2026-03-07",  # New York springs forward on 03-08
        "2026-10-31",  # New York falls back on 11-01
        "2026-04-04",  # Sydney falls back on 04-05
        "2026-10-03",  # Sydney springs forward on 10-04
    ],
)
def test_each_reader_once_a_day_at_seven_on_their_clock(
    tmp_path: Path, open_store: Any, first_day: str
) -> None:
    step = 30
    _settings, store = _simulate(tmp_path, open_store, first_day, days=3, step_min=step)
    rows = _ledger(store)
    zones = {email: tz or LIST_ZONE for email, tz in READERS}
    by_reader: dict[str, dict[str, Any]] = defaultdict(dict)
    for r in rows:
        assert r.key not in by_reader[r.email], f"{r.email} got edition {r.key} twice"
        by_reader[r.email][r.key] = r
    day0 = datetime.fromisoformat(first_day).date()
    wanted_days = {(day0 + timedelta(days=i)).isoformat() for i in range(0, 3)}
    for email, zone in zones.items():
        got = by_reader[email]
        assert wanted_days <= set(got), f"{email} missed a day: {sorted(got)}"
        for key, r in got.items():
            if key not in wanted_days:  # the edges of the simulated time
                continue
            assert r.state == "sent", (email, key, r.state, r.error)
            local = r.not_before.astimezone(ZoneInfo(zone))
            assert (local.hour, local.minute) == (7, 0), (email, key, local)
            assert local.date().isoformat() == key
            # sent at the first tick at or after the reader's 07:00
            assert r.not_before <= r.updated_at < r.not_before + timedelta(minutes=step)
    # every reader of a day's edition got the same stories
    with store.engine.connect() as conn:
        stories_of: dict[str, set[tuple[str, ...]]] = defaultdict(set)
        for key, eid in conn.execute(select(editions.c.key, editions.c.id)):
            ids = tuple(
                conn.execute(
                    select(edition_stories.c.story_id).where(edition_stories.c.edition_id == eid)
                ).scalars()
            )
            stories_of[key].add(ids)
    assert all(len(v) == 1 for v in stories_of.values())
    # the slots record the groups by UTC offset
    slots = {s.edition_key: s for s in ScheduleStore(store).slots("daily")}
    for key in wanted_days:
        assert slots[key].state == "done"
        assert sum(slots[key].summary["groups"].values()) == len(READERS)


def test_downtime_past_the_grace_time_is_skipped_not_sent_late(
    tmp_path: Path, open_store: Any
) -> None:
    """The scheduler is down from 21:00 to 12:00 UTC: Kolkata's, Berlin's and the
    no-zone reader's 07:00 are over an hour late when it comes back; New York's is due."""
    settings = settings_of(
        write_schedule_config(tmp_path, list_extra=f'timezone = "{LIST_ZONE}"\nlocal_time = true')
    )
    store = open_store(settings)
    clock = Clock(utc("2026-11-27T14:00+00:00"))
    runner = Runner(settings, store, owner="test", clock=clock, lock=None)
    # the 27th's slot: New York's 07:00 (12:00 UTC) was the last, over an hour ago
    assert runner.local_tick("daily")["skipped"] == 2  # the 26th and the 27th
    store.upsert_stories([story(1, clock.now)], clock.now)
    clock.now = utc("2026-11-27T21:00+00:00")  # 08:00 in Sydney on the 28th: made, sent
    assert runner.local_tick("daily")["made"] == 1
    clock.now = utc("2026-11-28T12:00+00:00")  # back after downtime
    out = runner.local_tick("daily")
    assert out["expired"] == 3  # Kolkata (01:30 UTC), Berlin and no-zone (06:00 UTC)
    clock.now = utc("2026-11-28T12:15+00:00")  # New York's 07:00 is 12:00 UTC: on time
    runner.local_tick("daily")
    states = {r.email: (r.state, r.error) for r in _ledger(store)}
    assert states["sydney@example.org"][0] == "sent"
    assert states["newyork@example.org"][0] == "sent"
    for email in ("berlin@example.org", "kolkata@example.org", "nozone@example.org"):
        state, error = states[email]
        assert state == "failed" and "grace" in error
    outbox = list((settings.data_dir / "outbox").rglob("*.eml"))
    assert len(outbox) == 2


def test_slot_interrupted_while_its_edition_was_made_is_made_at_the_next_tick(
    tmp_path: Path, open_store: Any
) -> None:
    settings = settings_of(
        write_schedule_config(tmp_path, list_extra=f'timezone = "{LIST_ZONE}"\nlocal_time = true')
    )
    store = open_store(settings)
    clock = Clock(utc("2026-11-27T20:00+00:00"))  # Sydney's 07:00 on the 28th
    store.upsert_stories([story(1, clock.now - timedelta(hours=1))], clock.now)
    sched = ScheduleStore(store)
    # a crash right after the slot row was written, before the edition was
    sched.begin_slot(
        "daily",
        utc("2026-11-28T07:00+00:00"),
        base_key="2026-11-28",
        local_time=True,
        owner="dead",
        now=clock.now,
    )
    runner = Runner(settings, store, owner="test", clock=clock, lock=None)
    runner.local_tick("daily")
    [slot] = [s for s in sched.slots("daily") if s.edition_key == "2026-11-28"]
    assert slot.state == "done"
    ledger = _ledger(store)
    assert len(ledger) == len(READERS)
    assert [r.email for r in ledger if r.state == "sent"] == ["sydney@example.org"]
