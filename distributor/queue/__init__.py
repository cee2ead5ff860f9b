"""Workers (issue 9): editions split into batch tasks that Dramatiq workers send.

The core never imports Dramatiq: :func:`open_queue` loads it when a
``[queue]`` section asks for workers, and says how to install it when it is
missing. :func:`enqueue_editions` is the pipeline's seam; :func:`wait_for`
is ``distributor run --wait``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from distributor.config import Settings
from distributor.errors import ConfigError
from distributor.models import Edition
from distributor.report import RunReport
from distributor.store import Store, ledger

if TYPE_CHECKING:
    from distributor.queue.broker import TaskQueue

Clock = Callable[[], datetime]


def open_queue(settings: Settings, clock: Clock) -> TaskQueue:
    """The task queue of ``[queue]``; a clear error when ``distributor[scale]`` is missing."""
    if settings.queue is None:
        raise ConfigError("no [queue] section: workers are not configured")
    try:
        from distributor.queue.broker import TaskQueue
    except ImportError as err:
        raise ConfigError(
            f"[queue] needs Dramatiq, which is not installed ({err.name or err}); "
            "install distributor[scale] (pip install 'distributor[scale]')"
        ) from err
    try:
        return TaskQueue(settings, clock)
    except ValueError as err:  # a malformed URL
        raise ConfigError(f"queue.broker_url: {err}") from err


def batch_size(settings: Settings, backend_batch: int) -> int:
    """Recipients per task: ``[queue] batch_size``, else the transport's own batch size."""
    assert settings.queue is not None
    return settings.queue.batch_size or backend_batch


def enqueue_editions(queue: TaskQueue, store: Store, editions: Sequence[Edition], size: int) -> int:
    """One task per ``size`` open rows of each edition; returns how many were enqueued.

    Safe to repeat: a task whose rows are already sent finds nothing to do.
    """
    count = 0
    for edition in editions:
        for first, last in ledger.id_ranges(store, edition.id, size):
            queue.enqueue(edition.id, first, last)
            count += 1
    return count


def wait_for(
    store: Store,
    edition_ids: Sequence[int],
    clock: Clock,
    *,
    timeout: float | None = None,
    poll: float = 1.0,
    sleep: Callable[[float], None] = time.sleep,
    progress: Callable[[int], None] | None = None,
) -> bool:
    """Wait until no row of these editions is pending (ready now) or sending.

    Returns False when ``timeout`` (seconds) ran out first.
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        left = ledger.open_count(store, edition_ids, clock())
        if progress is not None:
            progress(left)
        if left == 0:
            return True
        if deadline is not None and time.monotonic() >= deadline:
            return False
        sleep(poll)


def ledger_report(store: Store, report: RunReport) -> None:
    """Fill the run report's email counts and problems from the ledger (``run --wait``).

    Every ``failed`` and ``unknown`` row of the run's editions is listed with
    the reason the ledger recorded.
    """
    report.emails.sent = report.emails.failed = report.emails.unknown = 0
    report.emails.skipped = 0
    subjects: dict[int, str] = {}
    for er in report.editions:
        if er.edition_id is None:
            continue
        counts = store.delivery_counts([er.edition_id])
        er.sent, er.failed, er.unknown = counts.sent, counts.failed, counts.unknown
        er.pending = counts.pending + counts.sending
        report.emails.sent += counts.sent
        report.emails.failed += counts.failed
        report.emails.unknown += counts.unknown
        report.emails.skipped += er.pending
        subjects[er.edition_id] = f"{er.list}/{er.key}/{er.language}"
    for p in ledger.problems(store, list(subjects)):
        if p.state == "unknown":
            cause = f"{p.email}: outcome unknown: {p.error}"
        else:
            cause = f"{p.email}: {p.error}"
        report.error("mail", subjects[p.edition_id], cause)


__all__ = ["batch_size", "enqueue_editions", "ledger_report", "open_queue", "wait_for"]
