"""``distributor.clock``: the system clock, or "now" pinned for a test process (issue 13)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest

from distributor import pipeline
from distributor.clock import pinned_clock, process_clock, system_clock
from distributor.errors import ConfigError

PINNED = {"DISTRIBUTOR_TESTING": "1", "DISTRIBUTOR_TEST_NOW": "2026-11-28T07:00:00+01:00"}


def test_without_a_pin_the_clock_is_the_systems() -> None:
    assert process_clock({}) is system_clock
    assert process_clock({"DISTRIBUTOR_TESTING": "1"}) is system_clock
    assert process_clock({"DISTRIBUTOR_TEST_NOW": "  "}) is system_clock
    before = datetime.now(UTC)
    now = system_clock()
    assert now.tzinfo is UTC and before <= now <= datetime.now(UTC)
    assert pipeline.system_clock is system_clock  # the doors' old name still works


def test_a_pinned_clock_starts_at_the_instant_in_utc() -> None:
    now = process_clock(PINNED)()
    assert now.utcoffset() == timedelta(0)
    assert timedelta(0) <= now - datetime(2026, 11, 28, 6, 0, tzinfo=UTC) < timedelta(seconds=5)


def test_a_pinned_clock_ticks_with_the_monotonic_clock() -> None:
    ticks = iter([100.0, 100.0, 130.5, 3700.0])
    clock = pinned_clock(datetime(2026, 11, 28, 7, tzinfo=UTC), monotonic=lambda: next(ticks))
    assert clock() == datetime(2026, 11, 28, 7, tzinfo=UTC)
    assert clock() == datetime(2026, 11, 28, 7, 0, 30, 500000, tzinfo=UTC)
    assert clock() == datetime(2026, 11, 28, 8, tzinfo=UTC)
    # and for real: time passes for leases and timeouts
    real = process_clock(PINNED)
    first = real()
    time.sleep(0.05)
    assert real() - first >= timedelta(seconds=0.04)


def test_a_pin_without_the_testing_flag_is_refused() -> None:
    for flag in ({}, {"DISTRIBUTOR_TESTING": "0"}, {"DISTRIBUTOR_TESTING": "yes"}):
        env = {"DISTRIBUTOR_TEST_NOW": PINNED["DISTRIBUTOR_TEST_NOW"], **flag}
        with pytest.raises(ConfigError) as err:
            process_clock(env)
        message = str(err.value)
        assert "\n" not in message
        assert "DISTRIBUTOR_TEST_NOW" in message and "DISTRIBUTOR_TESTING=1" in message


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("tomorrow", "is not an ISO 8601 instant"),
        ("2026-13-01T00:00:00+00:00", "is not an ISO 8601 instant"),
        ("2026-11-28T07:00:00", "has no UTC offset"),
        ("2026-11-28", "has no UTC offset"),
    ],
)
def test_a_bad_pin_is_a_config_error(value: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says) as err:
        process_clock({"DISTRIBUTOR_TESTING": "1", "DISTRIBUTOR_TEST_NOW": value})
    assert "\n" not in str(err.value) and value in str(err.value)


def test_a_z_suffix_is_an_offset() -> None:
    now = process_clock({"DISTRIBUTOR_TESTING": "1", "DISTRIBUTOR_TEST_NOW": "2026-11-28T07:00Z"})()
    assert now - datetime(2026, 11, 28, 7, tzinfo=UTC) < timedelta(seconds=5)


def test_the_cli_refuses_a_pin_without_the_flag_in_one_line() -> None:
    from click.testing import CliRunner

    from distributor.cli import main

    runner = CliRunner(
        env={"DISTRIBUTOR_TEST_NOW": "2026-11-28T07:00:00+00:00", "DISTRIBUTOR_TESTING": None}
    )
    result = runner.invoke(main, ["schedule", "list"])
    assert result.exit_code == 1
    assert result.stderr.strip().count("\n") == 0
    assert "DISTRIBUTOR_TESTING=1" in result.stderr
