"""Rate limits every worker shares, kept in Redis with Dramatiq's rate limiters.

A provider's ``rate_limit`` (messages per second, from its ``[mail.NAME]``
section) becomes a :class:`dramatiq.rate_limits.WindowRateLimiter` over a
few seconds, counted in messages (a call of 100 recipients takes 100 slots).
The windows are seconds of the Redis server's clock (``TIME``), the one clock
every worker shares: Dramatiq's own limiter keys them by each worker's
``time.time()``, so two hosts a second apart, or a worker whose wall clock was
moved, would each count a window of their own.
A ``429`` with ``Retry-After`` seen by one worker sets a cool-down key that
every worker waits out before its next call.
"""

from __future__ import annotations

import math
import random
import threading
import time
from collections.abc import Callable

import redis
from dramatiq.rate_limits import WindowRateLimiter
from dramatiq.rate_limits.backends import RedisBackend


class MessageWindowLimiter(WindowRateLimiter):
    """Dramatiq's sliding-window limiter, taking several slots at once, on Redis's clock."""

    def __init__(self, client: redis.Redis, key: str, *, limit: int, window: int) -> None:
        super().__init__(  # type: ignore[no-untyped-call]
            RedisBackend(client=client), key, limit=limit, window=window
        )
        self.client = client

    def _get_keys(self) -> list[str]:
        seconds, _micro = self.client.time()
        return [f"{self.key}@{seconds - i}" for i in range(self.window)]

    def acquire_slots(self, amount: int) -> bool:
        keys = self._get_keys()
        return bool(
            self.backend.incr_and_sum(
                keys[0], self._get_keys, amount, maximum=self.limit, ttl=self.window_millis
            )
        )


def window_for(per_second: float, batch: int, window: int = 0) -> tuple[int, int]:
    """``(limit, window seconds)``: a window wide enough for two batches, unless given."""
    if not window:
        window = max(1, math.ceil(2 * batch / per_second))
    return max(1, math.floor(per_second * window)), window


class SharedLimiter:
    """The limiter of one transport, shared by every worker through Redis.

    ``prepay(n)`` takes ``n`` slots before the claim is renewed; the
    transport's own ``wait`` calls then use those up first (per thread).
    """

    def __init__(
        self,
        client: redis.Redis,
        key: str,
        *,
        per_second: float | None,
        batch: int,
        window: int = 0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.cooldown_key = f"{key}:cooldown"
        self.sleep = sleep
        self.limiter: MessageWindowLimiter | None = None
        self.limit = 0
        if per_second:
            self.limit, self.window = window_for(per_second, batch, window)
            self.limiter = MessageWindowLimiter(
                client, f"{key}:rate", limit=self.limit, window=self.window
            )
        self._local = threading.local()

    # ------------------------------------------------------- the Limiter protocol
    def wait(self, messages: int) -> None:
        self._cool_down()
        credit = getattr(self._local, "credit", 0)
        used = min(credit, messages)
        self._local.credit = credit - used
        self._acquire(messages - used)

    def pause(self, seconds: float) -> None:
        """Every worker waits ``seconds`` before its next call (a provider's ``Retry-After``)."""
        ms = int(seconds * 1000)
        if ms <= 0:
            return
        if self.client.pttl(self.cooldown_key) < ms:
            self.client.set(self.cooldown_key, b"1", px=ms)

    # ------------------------------------------------------------- prepaid slots
    def prepay(self, messages: int) -> None:
        self._cool_down()
        self._acquire(messages)
        self._local.credit = getattr(self._local, "credit", 0) + messages

    def settle(self) -> None:
        self._local.credit = 0

    # ------------------------------------------------------------------ inside
    def _cool_down(self) -> None:
        while (ms := int(self.client.pttl(self.cooldown_key))) > 0:
            self.sleep(ms / 1000)

    def _acquire(self, messages: int) -> None:
        if self.limiter is None:
            return
        while messages > 0:
            piece = min(messages, self.limit)
            while not self.limiter.acquire_slots(piece):
                self.sleep(0.05 + random.random() * 0.1)
            messages -= piece
