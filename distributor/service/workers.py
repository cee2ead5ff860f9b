"""The queue workers' use cases (issue 9): run Dramatiq workers in this process, and
wait until they have sent a run's editions (``distributor run --wait``)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from distributor.clock import Clock
from distributor.config import Settings
from distributor.errors import ConfigError
from distributor.report import RunReport
from distributor.service.context import Context


def wait_for_workers(ctx: Context, report: RunReport, timeout: float | None) -> None:
    """Until no row of the run's editions is open, then the ledger's report."""
    from distributor.queue import ledger_report, wait_for

    ids = [e.edition_id for e in report.editions if e.edition_id is not None]
    counts = ctx.store.delivery_counts(ids)
    left = [counts.pending + counts.sending]
    ctx.progress.start("emails", left[0])

    def advance(open_rows: int) -> None:  # the bar follows the rows the workers closed
        if open_rows < left[0]:
            ctx.progress.advance("emails", left[0] - open_rows)
            left[0] = open_rows

    done = wait_for(ctx.store, ids, ctx.clock, timeout=timeout, progress=advance)
    ledger_report(ctx.store, report)
    if not done:
        report.error(
            "queue", "wait", f"{report.emails.skipped} messages still open after {timeout:g} s"
        )


@dataclass(frozen=True)
class Workers:
    """What a worker process runs: its threads, the queues and the broker's kind."""

    threads: int
    queues: tuple[str, ...]
    broker_kind: str


def run_workers(
    settings: Settings,
    clock: Clock,
    *,
    threads: int,
    queues: Iterable[str],
    stop: threading.Event,
    started: Callable[[Workers], None] = lambda w: None,
    stopping: Callable[[], None] = lambda: None,
) -> None:
    """Dramatiq workers on the ``[queue]`` broker until ``stop`` is set: tasks in progress
    finish (up to the lease), the rest go back to the queue."""
    if settings.queue is None:
        raise ConfigError("no [queue] section: `distributor worker` needs a broker")
    import dramatiq

    from distributor.queue import open_queue

    queue = open_queue(settings, clock)
    names = set(queues) or {settings.queue.queue_name}
    dworker = dramatiq.Worker(
        queue.broker, queues=names, worker_threads=threads, worker_timeout=1000
    )
    try:
        dworker.start()
        started(Workers(threads, tuple(sorted(names)), settings.queue.broker_kind))
        while not stop.wait(0.5):
            pass
        stopping()
        dworker.stop(timeout=int(settings.queue.lease_seconds * 1000))
    finally:
        queue.close()
