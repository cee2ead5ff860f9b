"""The clock every door hands to the service: the system's, or a pinned one for tests.

The product never reads the wall clock behind the caller's back: the CLI
commands, ``distributor serve``, ``distributor scheduler`` and ``distributor
worker`` each take one :data:`Clock` from :func:`process_clock` when they start
and pass it down (``pipeline.Context.clock``, the scheduler's ``clock=``, the
web app's ``CLOCK_KEY``).

Tests that run a door as a process (or through click's runner) pin "now" with
two environment variables::

    DISTRIBUTOR_TESTING=1
    DISTRIBUTOR_TEST_NOW=2026-11-28T07:00:00+00:00

The pinned clock starts at that instant and then advances with
:func:`time.monotonic`, so leases, timeouts and waits still progress. Without
``DISTRIBUTOR_TESTING=1`` a ``DISTRIBUTOR_TEST_NOW`` is refused (a production
process must never run on a made-up date by accident).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta

from distributor.errors import ConfigError

Clock = Callable[[], datetime]

NOW_VARIABLE = "DISTRIBUTOR_TEST_NOW"
TESTING_VARIABLE = "DISTRIBUTOR_TESTING"


def system_clock() -> datetime:
    """The current instant, timezone-aware, in UTC."""
    return datetime.now(UTC)


def pinned_clock(start: datetime, *, monotonic: Callable[[], float] = time.monotonic) -> Clock:
    """A clock that reads ``start`` now and advances with ``monotonic`` from here on."""
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("a pinned clock needs a timezone-aware instant")
    origin = monotonic()
    start_utc = start.astimezone(UTC)

    def now() -> datetime:
        return start_utc + timedelta(seconds=monotonic() - origin)

    return now


def process_clock(environ: Mapping[str, str]) -> Clock:
    """The clock of this process: the system's, unless a test pinned "now".

    ``DISTRIBUTOR_TEST_NOW`` (an ISO 8601 instant with an offset) is honoured
    only together with ``DISTRIBUTOR_TESTING=1``; otherwise, or when the value
    is not such an instant, :class:`~distributor.errors.ConfigError`.
    """
    raw = environ.get(NOW_VARIABLE, "").strip()
    if not raw:
        return system_clock
    if environ.get(TESTING_VARIABLE, "").strip() != "1":
        raise ConfigError(
            f"{NOW_VARIABLE} is set but {TESTING_VARIABLE}=1 is not: "
            "a pinned clock is for tests only (unset it)"
        )
    try:
        start = datetime.fromisoformat(raw)
    except ValueError:
        raise ConfigError(
            f"{NOW_VARIABLE}={raw!r} is not an ISO 8601 instant "
            "(for example 2026-11-28T07:00:00+00:00)"
        ) from None
    if start.tzinfo is None or start.utcoffset() is None:
        raise ConfigError(
            f"{NOW_VARIABLE}={raw!r} has no UTC offset (add one, for example +00:00 or Z)"
        )
    return pinned_clock(start)
