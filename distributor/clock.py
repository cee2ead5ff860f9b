"""The clock type and the system clock.

(Helper for issue 13 adds the process clock that tests can pin.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]


def system_clock() -> datetime:
    return datetime.now(UTC)
