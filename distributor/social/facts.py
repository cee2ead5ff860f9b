"""What a network says about itself, kept for a while: :class:`NetworkFacts`.

A Mastodon instance tells its post limit and how it counts links
(``GET /api/v2/instance``); it says the same thing for hours. A channel is built
per use case, and the web app opens a use case per request, so without a shared
memory the editor's live character count asked the instance again on every
keystroke. The web app (and any long-lived door) holds one ``NetworkFacts`` and
hands it to each :class:`~distributor.service.Context`; a one-off command gets a
fresh one. Keys name the network and the account's server (``("mastodon",
base_url)``), so two channels on one instance share what it said.

An answer is kept ``ttl`` seconds; a failed look-up (the instance down, a reply
without the fields) is kept ``failed_ttl`` seconds, so an unreachable instance
costs one request a minute, not one per keystroke. Time is the caller's clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

from cachetools import TTLCache

from distributor.clock import Clock, system_clock

#: how long an instance's answer is believed (its limits change with a server upgrade)
TTL = 3600.0
#: how long a failed look-up stands before the network is asked again
FAILED_TTL = 60.0


class NetworkFacts:
    """A thread-safe, clock-driven memory of what networks said about themselves."""

    def __init__(
        self,
        clock: Clock = system_clock,
        *,
        ttl: float = TTL,
        failed_ttl: float = FAILED_TTL,
        size: int = 256,
    ) -> None:
        def timer() -> float:
            return clock().timestamp()

        self._kept: TTLCache[Hashable, Any] = TTLCache(size, ttl, timer=timer)
        self._failed: TTLCache[Hashable, Any] = TTLCache(size, failed_ttl, timer=timer)
        self._lock = threading.Lock()

    def get(self, key: Hashable, look_up: Callable[[], Any | None], default: Any) -> Any:
        """What ``look_up()`` said for ``key``, asked again only once the answer is
        older than ``ttl``; ``default`` (kept ``failed_ttl``) when it returns None."""
        with self._lock:
            if key in self._kept:
                return self._kept[key]
            if key in self._failed:
                return self._failed[key]
        found = look_up()  # outside the lock: a slow network must not block other keys
        with self._lock:
            if found is None:
                self._failed[key] = default
                return default
            self._kept[key] = found
            return found
