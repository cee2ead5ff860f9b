"""Cron triggers in list time: daily and weekly, several zones, both DST changes."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from distributor.cron import fire_times, parse_cron
from distributor.scheduler import local_send_time


def _fires(expr: str, zone: str, start: str, days: int) -> list[datetime]:
    begin = datetime.fromisoformat(start).replace(tzinfo=ZoneInfo(zone))
    return fire_times(parse_cron(expr, zone), begin, begin + timedelta(days=days))


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Berlin", "America/New_York", "Australia/Sydney", "Asia/Kolkata"]
)
def test_daily_at_seven_in_each_zone(zone: str) -> None:
    fires = _fires("0 7 * * *", zone, "2026-11-20T00:00", 7)
    assert len(fires) == 7
    for f in fires:
        local = f.astimezone(ZoneInfo(zone))
        assert (local.hour, local.minute) == (7, 0)
    assert len({f.astimezone(ZoneInfo(zone)).date() for f in fires}) == 7


@pytest.mark.parametrize(
    ("expr", "weekday"),
    [("0 7 * * 1", 0), ("0 7 * * 0", 6), ("0 7 * * 7", 6), ("30 6 * * 5", 4), ("0 7 * * mon", 0)],
)
@pytest.mark.parametrize("zone", ["Europe/Berlin", "America/New_York", "Australia/Sydney"])
def test_weekly_uses_crontab_weekday_numbers(expr: str, weekday: int, zone: str) -> None:
    """0 and 7 are Sunday as in crontab (APScheduler 3 alone would read 0 as Monday)."""
    fires = _fires(expr, zone, "2026-11-01T00:00", 28)
    assert len(fires) == 4
    assert {f.astimezone(ZoneInfo(zone)).weekday() for f in fires} == {weekday}


def test_weekday_range_and_six_fields() -> None:
    fires = _fires("0 7 * * 1-5", "Europe/Berlin", "2026-11-23T00:00", 7)
    assert [f.astimezone(ZoneInfo("Europe/Berlin")).weekday() for f in fires] == [0, 1, 2, 3, 4]
    seconds = _fires("*/20 0 7 * * *", "UTC", "2026-11-23T00:00", 1)
    assert [f.second for f in seconds] == [0, 20, 40]


@pytest.mark.parametrize(
    ("zone", "start"),
    [
        ("Europe/Berlin", "2026-03-27"),  # spring forward 2026-03-29
        ("Europe/Berlin", "2026-10-23"),  # fall back 2026-10-25
        ("America/New_York", "2026-03-06"),  # 2026-03-08
        ("America/New_York", "2026-10-30"),  # 2026-11-01
        ("Australia/Sydney", "2026-04-03"),  # fall back 2026-04-05
        ("Australia/Sydney", "2026-10-02"),  # spring forward 2026-10-04
    ],
)
def test_list_time_across_dst_one_slot_a_day_at_seven_local(zone: str, start: str) -> None:
    fires = _fires("0 7 * * *", zone, f"{start}T00:00", 5)
    local = [f.astimezone(ZoneInfo(zone)) for f in fires]
    assert [(t.hour, t.minute) for t in local] == [(7, 0)] * 5
    assert len({t.date() for t in local}) == 5
    # the UTC time moves by the hour of the change, and only once
    offsets = [t.utcoffset() for t in local]
    assert len(set(offsets)) == 2


def test_slot_in_the_missing_hour_happens_once_shifted_forward() -> None:
    """02:30 does not exist in Berlin on 2026-03-29: one slot, at 03:30 CEST."""
    fires = _fires("30 2 * * *", "Europe/Berlin", "2026-03-28T00:00", 3)
    days = Counter(f.astimezone(ZoneInfo("Europe/Berlin")).date().isoformat() for f in fires)
    assert days == {"2026-03-28": 1, "2026-03-29": 1, "2026-03-30": 1}
    assert fires[1].astimezone(UTC) == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    assert local_send_time(datetime(2026, 3, 29, 2, 30), "Europe/Berlin") == fires[1].astimezone(
        UTC
    )


def test_repeated_hour_fires_twice_in_apscheduler_and_is_one_slot() -> None:
    """When clocks go back, APScheduler 3.11 fires 02:30 twice; the first is the slot."""
    fires = _fires("30 2 * * *", "Europe/Berlin", "2026-10-25T00:00", 1)
    assert [f.astimezone(UTC).hour for f in fires] == [0, 1]
    first = local_send_time(datetime(2026, 10, 25, 2, 30), "Europe/Berlin")
    assert first == fires[0].astimezone(UTC)
    for f in fires:  # what Runner.edition_slot does with each firing
        wall = f.astimezone(ZoneInfo("Europe/Berlin")).replace(tzinfo=None)
        assert local_send_time(wall, "Europe/Berlin") == first  # both firings: one slot
