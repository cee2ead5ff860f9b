"""The Dramatiq side: a broker built from ``[queue]``, the ``send_batch`` actor, a worker.

Nothing here is global: :class:`TaskQueue` holds its own broker (Dramatiq's
global broker is never set) and declares its actor against it. The
enqueuing process (``distributor run``, the scheduler) and each worker
process build their own from the same settings.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime

import dramatiq
import redis
from dramatiq.brokers.rabbitmq import RabbitmqBroker
from dramatiq.brokers.redis import RedisBroker
from dramatiq.middleware import CurrentMessage

from distributor.config import QueueConfig, Settings
from distributor.errors import ConfigError
from distributor.mail.base import MailBackend
from distributor.queue.limits import SharedLimiter
from distributor.queue.tasks import BatchSender, RetryLater, open_sender

ACTOR = "distributor_send_batch"
Clock = Callable[[], datetime]


def _broker(cfg: QueueConfig) -> dramatiq.Broker:
    url = cfg.broker_url.get_secret_value()
    if cfg.broker_kind == "redis":
        broker: dramatiq.Broker = RedisBroker(  # type: ignore[no-untyped-call]
            url=url,
            namespace=cfg.namespace,
            heartbeat_timeout=int(cfg.heartbeat_timeout * 1000),
            maintenance_chance=cfg.maintenance_chance,
            dead_message_ttl=int(cfg.dead_message_ttl * 1000),
        )
    else:
        broker = RabbitmqBroker(url=url, confirm_delivery=True)
    broker.add_middleware(CurrentMessage())
    return broker


class TaskQueue:
    """The broker of one process and the ``send_batch`` actor declared on it."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        if settings.queue is None:
            raise ConfigError("no [queue] section: workers are not configured")
        self.settings = settings
        self.cfg: QueueConfig = settings.queue
        self.clock = clock
        self.broker = _broker(self.cfg)
        redis_url = self.cfg.redis_url()
        self.redis: redis.Redis | None = redis.Redis.from_url(redis_url) if redis_url else None
        if self.redis is None:
            limited = [n for n, m in settings.mail.items() if getattr(m, "rate_limit", None)]
            if limited:
                raise ConfigError(
                    f"queue.rate_limit_url: mail.{limited[0]}.rate_limit is shared by the "
                    "workers through Redis; set a redis:// URL (the broker is RabbitMQ)"
                )
        self._sender: BatchSender | None = None
        self._sender_lock = threading.Lock()
        self._limiters: dict[str, SharedLimiter] = {}
        declare = dramatiq.actor(
            broker=self.broker,
            actor_name=ACTOR,
            queue_name=self.cfg.queue_name,
            max_retries=self.cfg.max_retries,
            min_backoff=int(self.cfg.min_backoff * 1000),
            max_backoff=int(self.cfg.max_backoff * 1000),
            # a task never outlives its lease: after it, its rows may be someone else's
            time_limit=int(self.cfg.lease_seconds * 1000),
            throws=(ConfigError,),
        )
        self.actor: dramatiq.Actor[[int, int, int], None] = declare(self._send_batch)

    # ------------------------------------------------------------------ enqueue
    def enqueue(self, edition_id: int, first: int, last: int) -> None:
        self.actor.send(edition_id, first, last)

    # ------------------------------------------------------------------- worker
    def limiter_for(self, backend: MailBackend) -> SharedLimiter | None:
        """The limiter every worker shares for this transport (Redis), one per process.

        None without Redis (RabbitMQ without ``rate_limit_url``): allowed only
        when no transport has a rate limit (checked at start).
        """
        if self.redis is None:
            return None
        if backend.name not in self._limiters:
            per_second = getattr(backend.config, "rate_limit", None)
            self._limiters[backend.name] = SharedLimiter(
                self.redis,
                f"{self.cfg.namespace}:mail:{backend.name}",
                per_second=per_second,
                batch=backend.batch_size,
                window=self.cfg.rate_limit_window,
            )
        return self._limiters[backend.name]

    def sender(self) -> BatchSender:
        """The process's sender, made on the first task (store, renderer, caches)."""
        with self._sender_lock:
            if self._sender is None:
                self._sender = open_sender(self.settings, self.clock, self.limiter_for)
            return self._sender

    def _send_batch(self, edition_id: int, first: int, last: int) -> None:
        message = CurrentMessage.get_current_message()
        retries = int(message.options.get("retries", 0)) if message else 0
        try:
            outcome = self.sender().send_range(
                edition_id, first, last, last_try=retries >= self.cfg.max_retries
            )
        except RetryLater as err:
            delay = None if err.delay is None else int(err.delay * 1000)
            raise dramatiq.Retry(err.reason, delay=delay) from err
        if outcome.come_back is not None:
            # rows held by another worker: look again when its lease runs out (no retry used)
            self.actor.send_with_options(
                args=(edition_id, first, last), delay=int(outcome.come_back * 1000)
            )

    def worker(self, threads: int) -> dramatiq.Worker:
        return dramatiq.Worker(self.broker, worker_threads=threads, worker_timeout=1000)

    def close(self) -> None:
        if self._sender is not None:
            self._sender.close()
            self._sender.store.close()
        self.broker.close()
        if self.redis is not None:
            self.redis.close()
