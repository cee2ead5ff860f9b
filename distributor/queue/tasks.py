"""What one batch task does, without Dramatiq: recover, claim, wait, send, record.

A task covers the ledger rows of one edition with ids in ``[first, last]``.
It is safe to run twice, late, or at the same time as another copy: the
ledger decides who sends what.

1. Rows of the range left in ``sending`` longer than the lease (their worker
   died) are recovered: back to ``pending`` for an idempotent transport,
   ``unknown`` otherwise (never resent blindly).
2. Pending rows of the range are claimed (``FOR UPDATE SKIP LOCKED``).
3. The shared rate limiter (and any provider cool-down) is waited for.
4. The claim is renewed, fenced by its claim time: a row recovered by
   another worker meanwhile is not ours any more and is not sent.
5. The batch goes to the list's transport; every result is recorded.

A transient failure of the whole batch (429, 5xx, outage: nothing was handed
over) gives the rows back and raises :class:`RetryLater`; on the task's last
try the rows are recorded ``failed`` (retryable, with the reason) instead, so
the next run puts them back.  A refusal of the configuration or credentials
(:class:`~distributor.errors.ProviderStopped`: 401, 403, 404, a missing
endpoint) is not retried at all: the unsent rows go back to ``pending`` (no
attempt used), the worker logs one line naming the transport and the reason,
and for :data:`STOP_FOR` its other tasks for that transport leave their rows
pending without calling it (no retry storm; the next run, or the first task
after that time, tries again). Rows claimed by a live worker (lease not yet
expired) make the task come back later (:class:`ComeBack`), so a range is
finished only when none of its rows is pending or sending.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

from distributor.config import Settings
from distributor.dispatch import BatchMaker
from distributor.errors import AuthenticationError, ProviderStopped
from distributor.mail.base import MailBackend, build_mail_backend
from distributor.mail.http import Limiter
from distributor.models import DeliveryResult, Edition
from distributor.render.digest import DigestRenderer, Variant
from distributor.share.links import edition_campaign
from distributor.store import Store, ledger
from distributor.store.repository import ClaimedDelivery

Clock = Callable[[], datetime]
log = logging.getLogger(__name__)
#: how long a worker leaves a transport alone after it refused the configuration
STOP_FOR = timedelta(minutes=10)


@runtime_checkable
class SharedLimit(Limiter, Protocol):
    """A limiter shared by every worker: slots can be taken before the claim is renewed."""

    def prepay(self, messages: int) -> None:
        """Wait for ``messages`` slots now; the transport's own waits then use them up."""

    def settle(self) -> None:
        """Forget slots taken but not used."""


class RetryLater(Exception):
    """A transient failure of the whole batch: try the task again after a backoff."""

    def __init__(self, reason: str, delay: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.delay = delay  # seconds the provider asked for, if it did


@dataclass(frozen=True, slots=True)
class RangeOutcome:
    """What one run of a task did; ``come_back`` (seconds) asks to be run again later."""

    recovered: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    come_back: float | None = None
    #: the transport refused the configuration: the rows left were kept ``pending``
    stopped: str | None = None


@dataclass
class _EditionCache:
    edition: Edition
    variant: Variant


@dataclass
class BatchSender:
    """One per worker process: the store, the renderer and a cache of rendered editions.

    Transports are kept per thread (a ``requests.Session`` is not shared
    between threads); ``limiter_for(backend)`` gives the limiter that every
    worker shares for that transport.
    """

    settings: Settings
    store: Store
    clock: Clock
    lease: timedelta
    limiter_for: Callable[[MailBackend], SharedLimit | None] | None = None
    _editions: dict[int, _EditionCache] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _local: threading.local = field(default_factory=threading.local)
    _renderer: DigestRenderer | None = None
    #: transport name -> (until when it is left alone, the reason)
    _stopped: dict[str, tuple[datetime, str]] = field(default_factory=dict)

    # ------------------------------------------------------------- caches
    def renderer(self) -> DigestRenderer:
        with self._lock:
            if self._renderer is None:
                self._renderer = DigestRenderer(self.settings)
            return self._renderer

    def backend(self, name: str) -> MailBackend:
        backends: dict[str, MailBackend] = getattr(self._local, "backends", None) or {}
        self._local.backends = backends
        if name not in backends:
            backend = build_mail_backend(name, self.settings)
            if self.limiter_for is not None and hasattr(backend, "limiter"):
                shared = self.limiter_for(backend)
                if shared is not None:
                    backend.limiter = shared
            backends[name] = backend
        return backends[name]

    def edition(self, edition_id: int) -> _EditionCache:
        """The edition and its rendered variant, made once per process."""
        with self._lock:
            cached = self._editions.get(edition_id)
        if cached is not None:
            return cached
        from distributor.pipeline import make_links  # the pipeline enqueues these tasks

        edition = self.store.edition(edition_id)
        cfg = self.settings.lists[edition.list_name]
        by_id = self.store.stories_by_id(edition.story_ids)
        stories = [by_id[i] for i in edition.story_ids if i in by_id]
        links = make_links(
            stories, edition_campaign(edition.list_name, edition.key), self.settings.share
        )
        variant = self.renderer().render(edition, stories, links, cfg)
        cached = _EditionCache(edition, variant)
        with self._lock:
            self._editions.setdefault(edition_id, cached)
            return self._editions[edition_id]

    def _shared(self, backend: MailBackend) -> SharedLimit | None:
        if self.limiter_for is None:
            return None
        limiter = getattr(backend, "limiter", None)
        return limiter if isinstance(limiter, SharedLimit) else None

    def close(self) -> None:
        backends: dict[str, MailBackend] = getattr(self._local, "backends", None) or {}
        for backend in backends.values():
            backend.close()

    # -------------------------------------------------------------- the task
    def send_range(
        self, edition_id: int, first: int, last: int, *, last_try: bool = False
    ) -> RangeOutcome:
        """Deliver what is open in ``[first, last]`` of one edition; see the module docstring."""
        cached = self.edition(edition_id)
        edition = cached.edition
        cfg = self.settings.lists[edition.list_name]
        backend = self.backend(cfg.mail)
        span = (first, last)
        now = self.clock()
        recovered = self.store.recover_deliveries(
            edition_id,
            idempotent=backend.idempotent,
            now=now,
            stale_before=now - self.lease,
            id_range=span,
        )
        held = self._stopped.get(backend.name)
        if held is not None and now < held[0]:
            return RangeOutcome(recovered, stopped=held[1])  # rows stay pending; no call
        maker = self.maker(cached, backend)
        sent = failed = unknown = 0
        while True:
            claimed_at = self.clock()
            claimed = self.store.claim_deliveries(
                edition, backend.batch_size, claimed_at, id_range=span
            )
            if not claimed:
                break
            shared = self._shared(backend)
            if shared is not None:
                shared.prepay(len(claimed))  # rate limit and cool-down, before the lease
                # the wait may have outlasted the lease: send only the rows still ours
                ours = ledger.confirm_claims(self.store, claimed, claimed_at, self.clock())
                claimed = [c for c in claimed if c.id in ours]
            prepared = maker.prepare(claimed, self.clock())
            results, err = maker.send(prepared)
            if err is not None:
                done = {r.key for r in results}
                rest = [c for c in claimed if c.key not in done]
                if isinstance(err, ProviderStopped):
                    # retrying cannot help until the settings are fixed: the unsent rows
                    # go back to pending, the transport is left alone for a while
                    part = self._stop(backend, err, claimed, rest, results, shared)
                    return RangeOutcome(
                        recovered,
                        sent + part.sent,
                        failed + part.failed,
                        unknown + part.unknown,
                        stopped=part.stopped,
                    )
                if not err.retryable:
                    reason, retryable = err.reason, False
                elif last_try:
                    reason, retryable = f"gave up after the task's retries: {err.reason}", True
                else:
                    # nothing of the failed call was handed over: give its rows back
                    self.store.release_deliveries(rest, self.clock())
                    done_rows = [c for c in claimed if c.key in done]
                    self.store.record_deliveries(done_rows, results, self.clock())
                    if shared is not None:
                        shared.settle()
                    raise RetryLater(err.reason, err.retry_after) from err
                results += [DeliveryResult.failed(c.key, reason, retryable=retryable) for c in rest]
            if shared is not None:
                shared.settle()
            self.store.record_deliveries(claimed, results, self.clock())
            for r in results:
                if r.state == "sent":
                    sent += 1
                elif r.state == "unknown":
                    unknown += 1
                else:
                    failed += 1
        left = ledger.range_state(self.store, edition_id, span, self.clock())
        come_back = None
        if left.sending and left.oldest_claim is not None:
            # another worker holds rows of this range: come back when its lease runs out
            expires = left.oldest_claim + self.lease - self.clock()
            come_back = max(1.0, expires.total_seconds() + 1.0)
        elif left.pending:
            come_back = 1.0  # released by another worker meanwhile: pick them up soon
        return RangeOutcome(recovered, sent, failed, unknown, come_back)

    def _stop(
        self,
        backend: MailBackend,
        err: ProviderStopped,
        claimed: list[ClaimedDelivery],
        rest: list[ClaimedDelivery],
        results: list[DeliveryResult],
        shared: SharedLimit | None,
    ) -> RangeOutcome:
        kind = (
            "credentials refused"
            if isinstance(err, AuthenticationError)
            else "configuration refused"
        )
        reason = f"{kind}: {err.reason}"
        now = self.clock()
        self.store.release_deliveries(rest, now)
        done = {r.key for r in results}
        self.store.record_deliveries([c for c in claimed if c.key in done], results, now)
        if shared is not None:
            shared.settle()
        self._forget(backend)  # it refuses every call now; a fresh one tries after STOP_FOR
        first = backend.name not in self._stopped or self._stopped[backend.name][0] <= now
        self._stopped[backend.name] = (now + STOP_FOR, reason)
        if first:  # one line per transport and period, however many tasks come
            log.error(
                "mail transport %r stopped: %s; its rows stay pending until it is fixed "
                "(tried again after %d minutes or at the next run)",
                backend.name,
                reason,
                STOP_FOR.total_seconds() // 60,
            )
        sent = sum(1 for r in results if r.state == "sent")
        unknown = sum(1 for r in results if r.state == "unknown")
        return RangeOutcome(
            sent=sent, failed=len(results) - sent - unknown, unknown=unknown, stopped=reason
        )

    def _forget(self, backend: MailBackend) -> None:
        """Drop this thread's transport (and its batch makers) of ``backend``'s name."""
        backends: dict[str, MailBackend] = getattr(self._local, "backends", None) or {}
        if backends.get(backend.name) is backend:
            del backends[backend.name]
        makers: dict[tuple[int, str], BatchMaker] = getattr(self._local, "makers", None) or {}
        for key in [k for k in makers if k[1] == backend.name]:
            del makers[key]
        backend.close()

    def maker(self, cached: _EditionCache, backend: MailBackend) -> BatchMaker:
        """The batch maker of one edition for this thread's transport (made once)."""
        makers: dict[tuple[int, str], BatchMaker] = getattr(self._local, "makers", None) or {}
        self._local.makers = makers
        key = (cached.edition.id, backend.name)
        if key not in makers:
            cfg = self.settings.lists[cached.edition.list_name]
            makers[key] = BatchMaker(self.store, backend, self.renderer(), cached.variant, cfg)
        return makers[key]


def open_sender(
    settings: Settings,
    clock: Clock,
    limiter_for: Callable[[MailBackend], SharedLimit | None] | None = None,
) -> BatchSender:
    """A sender on its own store, for one worker process."""
    assert settings.queue is not None
    store = Store.open(settings.database_url)
    return BatchSender(
        settings=settings,
        store=store,
        clock=clock,
        lease=timedelta(seconds=settings.queue.lease_seconds),
        limiter_for=limiter_for,
    )


__all__ = ["BatchSender", "RangeOutcome", "RetryLater", "SharedLimit", "open_sender"]
