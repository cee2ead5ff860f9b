"""The scheduler: every edition on time, in every reader's time zone, and never twice.

One process (``distributor scheduler``) runs an APScheduler 3 ``BlockingScheduler``
whose jobs live in the project's database (``SQLAlchemyJobStore``), synced from
the configuration at start:

* ``edition:LIST``: the list's cron in the list's time zone; each firing is a
  *slot*.  A slot is recorded once in ``schedule_slots`` (unique per list and
  time) with the edition key chosen for it, then ``pipeline.run`` makes and
  delivers the edition under that key.  A slot found again (fired twice, or by
  a second scheduler) is not run again.
* ``local:LIST`` for lists with ``local_time = true``: a tick every minute.  When
  the first group of readers reaches the scheduled local time, the edition is
  made once (stories chosen once) with one ledger row per reader held back
  (``deliveries.not_before``) until the scheduled time in that reader's zone;
  each tick delivers the rows whose time has come.
* ``poll:sources``: fetch the sources every ``[scheduler] poll_minutes`` and post
  new stories at once on the channels in ``post_on_publish``.

Missed runs: a slot is run if it is at most ``grace_time`` late (default one
hour); older ones are recorded as skipped with the reason, never sent late.
Several missed slots inside the grace time are coalesced into one run.

Only the holder of the database lease fires jobs; another scheduler on the
same database stands by and takes over when the lease expires.  SIGTERM and
SIGINT stop after the batch in flight is recorded; the next start resumes
an interrupted edition from the ledger.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.base import BaseExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from distributor.clock import system_clock
from distributor.config import ListConfig, Settings
from distributor.cron import parse_cron
from distributor.leader import LeaderLock, leader_lock
from distributor.report import RunReport
from distributor.service import daily
from distributor.service import schedule as slots
from distributor.service.context import Context
from distributor.service.schedule import (
    Runner,
    SchedulerStopping,
    Slot,
    StopAfterBatch,
    local_send_time,
)

if TYPE_CHECKING:  # the scheduler's store, from the command's Context.open
    from distributor.store import Store

__all__ = [
    "Runner",
    "SchedulerProcess",
    "SchedulerStopping",
    "StopAfterBatch",
    "local_send_time",
    "open_jobstore",
    "sync_jobs",
]

log = logging.getLogger("distributor.scheduler")

POLL_JOB_ID = "poll:sources"
_EDITION_PREFIX = "edition:"
_LOCAL_PREFIX = "local:"


def edition_job_id(list_name: str, cfg: ListConfig) -> str:
    """The job id of a list: ``edition:NAME``, or ``local:NAME`` for local-time delivery."""
    return (_LOCAL_PREFIX if cfg.local_time else _EDITION_PREFIX) + list_name


def list_trigger(cfg: ListConfig) -> BaseTrigger:
    """The trigger of a list's job: its cron in its zone, or a minute tick for local time."""
    if cfg.local_time:
        return CronTrigger(second="0", timezone=UTC)
    return parse_cron(cfg.schedule, cfg.timezone)


# ----------------------------------------------------------------- job specs
@dataclass(frozen=True)
class JobSpec:
    """What a job in the job store should look like, from the configuration."""

    id: str
    func: str
    args: tuple[str, ...]
    trigger: BaseTrigger
    grace: int
    coalesce: bool

    def signature(self) -> tuple[Any, ...]:
        return (
            self.func,
            self.args,
            str(self.trigger),
            str(getattr(self.trigger, "timezone", "")),
            self.grace,
            self.coalesce,
        )


def job_specs(settings: Settings, now: datetime) -> dict[str, JobSpec]:
    """Every job the configuration asks for, by id; ``now`` (the caller's clock) starts
    the polling interval: the first poll is one interval after it (APScheduler would
    count from the wall clock)."""
    specs: dict[str, JobSpec] = {}
    for name, cfg in settings.lists.items():
        if cfg.schedule == "off":
            continue
        jid = edition_job_id(name, cfg)
        func = (
            "distributor.scheduler:local_time_job"
            if cfg.local_time
            else ("distributor.scheduler:edition_job")
        )
        specs[jid] = JobSpec(
            jid, func, (name,), list_trigger(cfg), cfg.grace_time, coalesce=cfg.local_time
        )
    if any(c.enabled for c in settings.sources.values()):
        every = timedelta(minutes=settings.scheduler.poll_minutes)
        poll = IntervalTrigger(
            minutes=settings.scheduler.poll_minutes, start_date=now + every, timezone=UTC
        )
        specs[POLL_JOB_ID] = JobSpec(
            POLL_JOB_ID, "distributor.scheduler:poll_job", (), poll, 600, coalesce=True
        )
    return specs


def _signature(job: Job) -> tuple[Any, ...]:
    return (
        job.func_ref,
        tuple(job.args),
        str(job.trigger),
        str(getattr(job.trigger, "timezone", "")),
        job.misfire_grace_time,
        job.coalesce,
    )


class _JobStore(SQLAlchemyJobStore):  # type: ignore[misc]
    """APScheduler's SQLAlchemy job store on the Store's engine, which it must not close."""

    def shutdown(self) -> None:
        pass


def open_jobstore(store: Store) -> SQLAlchemyJobStore:
    """The job store (table ``apscheduler_jobs``), started and ready for reads and writes."""
    jobstore = _JobStore(engine=store.engine)
    jobstore.start(BlockingScheduler(), "default")
    return jobstore


@dataclass
class SyncResult:
    added: list[str]
    replaced: list[str]
    removed: list[str]
    kept: list[str]

    def __str__(self) -> str:
        parts = [f"{k}: {', '.join(v)}" for k, v in vars(self).items() if v]
        return "; ".join(parts) or "no jobs"


def sync_jobs(
    jobstore: SQLAlchemyJobStore, settings: Settings, paused: set[str], now: datetime
) -> SyncResult:
    """Make the job store match the configuration.

    An unchanged job is kept as it is, with its next run time, so that runs
    missed while the scheduler was down are seen (and run or skipped) at start.
    A changed job is replaced (next run computed from ``now``); a job the
    configuration no longer has is removed.  Paused lists have no next run time.
    """
    result = SyncResult([], [], [], [])
    specs = job_specs(settings, now)
    existing = {job.id: job for job in jobstore.get_all_jobs()}
    scheduler = jobstore._scheduler
    for jid in existing:
        if jid not in specs:
            jobstore.remove_job(jid)
            result.removed.append(jid)
    for jid, spec in specs.items():
        is_paused = bool(spec.args) and spec.args[0] in paused
        old = existing.get(jid)
        if old is not None and _signature(old) == spec.signature():
            if is_paused and old.next_run_time is not None:
                old._modify(next_run_time=None)
                jobstore.update_job(old)
            elif not is_paused and old.next_run_time is None:
                old._modify(next_run_time=spec.trigger.get_next_fire_time(None, now))
                jobstore.update_job(old)
            result.kept.append(jid)
            continue
        job = Job(
            scheduler,
            id=jid,
            func=spec.func,
            trigger=spec.trigger,
            executor="default",
            args=spec.args,
            kwargs={},
            name=jid,
            misfire_grace_time=spec.grace,
            coalesce=spec.coalesce,
            max_instances=1,
            next_run_time=None if is_paused else spec.trigger.get_next_fire_time(None, now),
        )
        if old is None:
            jobstore.add_job(job)
            result.added.append(jid)
        else:
            jobstore.update_job(job)
            result.replaced.append(jid)
    return result


# -------------------------------------------------------- the job functions
# APScheduler stores these by reference with the list name as argument; the
# executor below adds the runner (settings, store, clock) and the run times.
def _needs(runner: Runner | None) -> Runner:
    if runner is None:
        raise TypeError("scheduler jobs run through SlotExecutor, which passes the runner")
    return runner


def edition_job(
    list_name: str, runner: Runner | None = None, run_times: Sequence[datetime] = ()
) -> None:
    """A list-time list's slot(s) came due."""
    _needs(runner).edition_slots(list_name, run_times)


def local_time_job(
    list_name: str, runner: Runner | None = None, run_times: Sequence[datetime] = ()
) -> None:
    """A minute tick of a local-time list."""
    _needs(runner).local_tick(list_name)


def poll_job(runner: Runner | None = None, run_times: Sequence[datetime] = ()) -> None:
    """Source polling."""
    _needs(runner).poll()


class SlotExecutor(BaseExecutor):  # type: ignore[misc]
    """Runs jobs in a thread pool, passing the runner and the scheduled run times.

    APScheduler's own executors call ``func(*args)`` without either; the grace
    time is applied by the runner (against the list's current configuration).
    """

    def __init__(self, runner: Runner, workers: int = 1) -> None:
        super().__init__()
        self.runner = runner
        self.pool = ThreadPoolExecutor(workers, thread_name_prefix="distributor-job")

    def _do_submit_job(self, job: Job, run_times: list[datetime]) -> None:
        future = self.pool.submit(self._run, job, list(run_times))

        def done(f: Future[list[JobExecutionEvent]]) -> None:
            exc = f.exception()
            if exc is None:
                self._run_job_success(job.id, f.result())
            else:
                self._run_job_error(job.id, exc, exc.__traceback__)

        future.add_done_callback(done)

    def _run(self, job: Job, run_times: list[datetime]) -> list[JobExecutionEvent]:
        alias = job._jobstore_alias
        try:
            job.func(*job.args, runner=self.runner, run_times=run_times)
        except SchedulerStopping:
            log.info("job %s stopped after the batch in flight", job.id)
            return []
        except Exception as err:
            log.exception("job %s failed", job.id)
            return [JobExecutionEvent(EVENT_JOB_ERROR, job.id, alias, run_times[-1], exception=err)]
        return [JobExecutionEvent(EVENT_JOB_EXECUTED, job.id, alias, run_times[-1])]

    def shutdown(self, wait: bool = True) -> None:
        self.pool.shutdown(wait=wait)


# ------------------------------------------------------------ the process
def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class SchedulerProcess:
    """``distributor scheduler``: stand by for the lease, then run the jobs until stopped."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        owner: str | None = None,
        clock: Callable[[], datetime] = system_clock,
        lock: LeaderLock | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.owner = owner or default_owner()
        self.clock = clock
        self.stop = threading.Event()
        # by dialect: an advisory lock on PostgreSQL, the lease row elsewhere
        self.lock = lock or leader_lock(
            store, self.owner, ttl=settings.scheduler.lease_seconds, clock=clock
        )
        self.runner = Runner(
            settings, store, owner=self.owner, clock=clock, stop=self.stop, lock=self.lock
        )
        self._scheduler: BlockingScheduler | None = None
        self._lost = threading.Event()

    def request_stop(self, signum: int | None = None, _frame: FrameType | None = None) -> None:
        """Stop after the batch in flight (the SIGTERM/SIGINT handler)."""
        if signum is not None:
            log.info("signal %s: stopping after the batch in flight", signum)
        self.stop.set()
        if self._scheduler is not None and self._scheduler.running:
            _shutdown(self._scheduler)

    def install_signal_handlers(self) -> None:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)

    def serve(self) -> None:
        """Block: wait for the leader lock, run the jobs, stand by again if it is lost."""
        ttl = self.settings.scheduler.lease_seconds
        what = self.lock.mechanism
        try:
            while not self.stop.is_set():
                if not self.lock.acquire():
                    holder = self.lock.holder()
                    until = (
                        f" until {holder.expires_at.isoformat()}"
                        if holder and holder.expires_at
                        else ""
                    )
                    log.info(
                        "standing by: the %s is held by %s%s",
                        what,
                        holder.owner if holder else "?",
                        until,
                    )
                    self.stop.wait(max(1.0, ttl / 3))
                    continue
                log.info("%s acquired by %s", what, self.owner)
                try:
                    self._run_jobs()
                finally:
                    if not self._lost.is_set():
                        self.lock.release()
                self._lost.clear()
        finally:
            self.lock.close()
        log.info("scheduler stopped")

    def _run_jobs(self) -> None:
        jobstore = open_jobstore(self.store)
        with self.runner.context() as ctx:
            paused = slots.paused(ctx)
        result = sync_jobs(jobstore, self.settings, paused, self.clock())
        log.info("jobs synced: %s", result)
        executor = SlotExecutor(self.runner)
        scheduler = BlockingScheduler(
            jobstores={"default": jobstore},
            executors={"default": executor},
            timezone=UTC,
        )
        self._scheduler = scheduler
        renewer = threading.Thread(target=self._renew, name="distributor-lease", daemon=True)
        renewer.start()
        # an edition a crash or a stop interrupted is finished first, from the ledger
        resumed = executor.pool.submit(self._resume)
        try:
            if not self.stop.is_set():
                scheduler.start()  # blocks until shutdown
        finally:
            self._scheduler = None
            executor.pool.shutdown(wait=True)
            resumed.result()  # let the job in flight finish its batch

    def _resume(self) -> None:
        try:
            self.runner.resume_interrupted()
        except SchedulerStopping:
            log.info("resume stopped after the batch in flight")

    def _renew(self) -> None:
        ttl = self.settings.scheduler.lease_seconds
        while not self.stop.wait(min(ttl / 3, 10)):
            scheduler = self._scheduler
            if scheduler is None:
                return
            if not self.lock.held():
                log.error("%s lost: standing by", self.lock.mechanism)
                self._lost.set()
                if scheduler.running:
                    _shutdown(scheduler)
                return
            scheduler.wakeup()  # picks up jobs resumed by `schedule resume` promptly
        # a stop that came while the scheduler was starting: shut it down once it runs
        for _ in range(100):
            scheduler = self._scheduler
            if scheduler is None:
                return
            if scheduler.running:
                _shutdown(scheduler)
                return
            threading.Event().wait(0.1)


def _shutdown(scheduler: BlockingScheduler) -> None:
    """Stop firing jobs; the job in flight is waited for by ``_run_jobs``."""
    # it may have been stopped already, by the signal handler or the lease thread
    with contextlib.suppress(SchedulerNotRunningError):
        scheduler.shutdown(wait=False)


# --------------------------------------------------------------- reporting
@dataclass(frozen=True)
class JobView:
    """One job as ``distributor schedule list`` shows it."""

    id: str
    list_name: str | None
    schedule: str
    timezone: str
    local_time: bool
    paused: bool
    next_run_utc: datetime | None
    next_run_local: datetime | None
    synced: bool
    last_slot: Slot | None
    skipped: tuple[Slot, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "list": self.list_name,
            "schedule": self.schedule,
            "timezone": self.timezone,
            "local_time": self.local_time,
            "paused": self.paused,
            "next_run_utc": self.next_run_utc.isoformat() if self.next_run_utc else None,
            "next_run_local": self.next_run_local.isoformat() if self.next_run_local else None,
            "synced": self.synced,
            "last_slot": self.last_slot.to_dict() if self.last_slot else None,
            "skipped": [s.to_dict() for s in self.skipped],
        }


def next_local_slot(cfg: ListConfig, now: datetime) -> datetime | None:
    """The next wall-clock slot of a local-time list, in the list's zone (for display)."""
    t: datetime | None = parse_cron(cfg.schedule, cfg.timezone).get_next_fire_time(None, now)
    return t


def job_views(settings: Settings, store: Store, now: datetime) -> list[JobView]:
    """The configured jobs with their next run (from the job store once synced)."""
    jobstore = open_jobstore(store)
    stored = {j.id: j for j in jobstore.get_all_jobs()}
    with Context.open(settings, store=store, clock=lambda: now) as ctx:
        paused = slots.paused(ctx)
        recent_of = {n: slots.recent_slots(ctx, n, limit=20) for n in settings.lists}
    views = []
    for jid, spec in job_specs(settings, now).items():
        list_name = spec.args[0] if spec.args else None
        cfg = settings.lists[list_name] if list_name else None
        job = stored.get(jid)
        synced = job is not None and _signature(job) == spec.signature()
        is_paused = list_name in paused if list_name else False
        if cfg is not None and cfg.local_time:
            nxt = None if is_paused else next_local_slot(cfg, now)
        elif synced and job is not None:
            nxt = job.next_run_time
        else:
            nxt = None if is_paused else spec.trigger.get_next_fire_time(None, now)
        zone = cfg.timezone if cfg else "UTC"
        recent = recent_of.get(list_name, []) if list_name else []
        views.append(
            JobView(
                id=jid,
                list_name=list_name,
                schedule=cfg.schedule if cfg else f"every {settings.scheduler.poll_minutes:g} min",
                timezone=zone,
                local_time=bool(cfg and cfg.local_time),
                paused=is_paused,
                next_run_utc=nxt.astimezone(UTC) if nxt else None,
                next_run_local=nxt.astimezone(ZoneInfo(zone)) if nxt else None,
                synced=synced,
                last_slot=next((s for s in recent if s.state != "skipped"), None),
                skipped=tuple(s for s in recent if s.state == "skipped")[:5],
            )
        )
    return views


def set_paused(
    settings: Settings, store: Store, list_name: str, paused: bool, now: datetime
) -> None:
    """Pause or resume a list's job, in the database the running scheduler reads."""
    with Context.open(settings, store=store, clock=lambda: now) as ctx:
        if paused:
            slots.pause(ctx, list_name)
        else:
            slots.resume(ctx, list_name)
    cfg = settings.lists[list_name]
    jobstore = open_jobstore(store)
    job = jobstore.lookup_job(edition_job_id(list_name, cfg))
    if job is None:
        return
    job._modify(next_run_time=None if paused else job.trigger.get_next_fire_time(None, now))
    jobstore.update_job(job)


def send_now(ctx: Context, list_name: str) -> tuple[Slot, RunReport]:
    """``send --list NAME --now``: :func:`distributor.service.daily.send_list_now`."""
    return daily.send_list_now(ctx, list_name)
