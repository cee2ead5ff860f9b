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
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.executors.base import BaseExecutor
from apscheduler.job import Job
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from distributor import pipeline
from distributor.config import ListConfig, Settings
from distributor.cron import fire_times, parse_cron
from distributor.errors import DistributorError
from distributor.leader import LeaderLock, leader_lock
from distributor.models import Subscriber
from distributor.report import RunReport
from distributor.service import daily, editions, post_metrics, posts
from distributor.service.context import Context
from distributor.service.outcomes import poll_outcome, slot_outcome
from distributor.store import Store
from distributor.store.repository import ReaderProfile
from distributor.store.schedule import ScheduleStore, Slot

log = logging.getLogger("distributor.scheduler")

POLL_JOB_ID = "poll:sources"
_EDITION_PREFIX = "edition:"
_LOCAL_PREFIX = "local:"
# UTC offsets run from -12:00 to +14:00: a wall-clock time reaches every zone
# within this window around it.
_EARLIEST_OFFSET = timedelta(hours=14)
_LATEST_OFFSET = timedelta(hours=12)


class SchedulerStopping(DistributorError):
    """A stop was requested; raised between batches so the batch in flight is recorded."""


def edition_job_id(list_name: str, cfg: ListConfig) -> str:
    """The job id of a list: ``edition:NAME``, or ``local:NAME`` for local-time delivery."""
    return (_LOCAL_PREFIX if cfg.local_time else _EDITION_PREFIX) + list_name


def list_trigger(cfg: ListConfig) -> BaseTrigger:
    """The trigger of a list's job: its cron in its zone, or a minute tick for local time."""
    if cfg.local_time:
        return CronTrigger(second="0", timezone=UTC)
    return parse_cron(cfg.schedule, cfg.timezone)


def local_send_time(wall: datetime, zone: str) -> datetime:
    """The UTC instant when a zone's clock shows the naive wall-clock time ``wall``.

    An ambiguous time (clocks going back) is the first of the two; a time that
    does not exist (clocks going forward) is read with the offset before the
    change, i.e. shifted forward by the gap: nobody is skipped, nobody gets two.
    """
    return wall.replace(tzinfo=ZoneInfo(zone), fold=0).astimezone(UTC)


def _zone_of(sub: Subscriber, default: str) -> str:
    return _zone_of_name(sub.timezone, default)


def _zone_of_name(timezone: str | None, default: str) -> str:
    """The reader's time zone when it is a known one, else ``default``."""
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            return default
        return timezone
    return default


def _fmt_delta(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


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


def job_specs(settings: Settings) -> dict[str, JobSpec]:
    """Every job the configuration asks for, by id."""
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
        poll = IntervalTrigger(minutes=settings.scheduler.poll_minutes, timezone=UTC)
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
    specs = job_specs(settings)
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


# --------------------------------------------------------------- the runner
class StopAfterBatch(pipeline.Progress):
    """Progress hook that ends a run after the batch just recorded when a stop is asked."""

    def __init__(self, stop: threading.Event) -> None:
        self.stop = stop

    def advance(self, label: str, steps: int = 1) -> None:
        if self.stop.is_set() and label in ("emails", "posts"):
            raise SchedulerStopping("stop requested: the batch in flight was recorded")


class Runner:
    """Runs the scheduler's jobs against the database; clock and owner passed in."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        *,
        owner: str,
        clock: Callable[[], datetime] = pipeline.system_clock,
        stop: threading.Event | None = None,
        lock: LeaderLock | None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.schedule = ScheduleStore(store)
        self.owner = owner
        self.clock = clock
        self.stop = stop or threading.Event()
        # None: no fencing (tests and one-off runs that hold no leadership)
        self.lock = lock

    def context(self, settings: Settings | None = None) -> AbstractContextManager[Context]:
        """The service's context on this scheduler's store (left open), clock and stop."""
        return Context.open(
            settings or self.settings,
            store=self.store,
            clock=self.clock,
            progress=StopAfterBatch(self.stop),
        )

    def holds_lease(self) -> bool:
        """Fencing: check the leader lock just before firing (a lease is renewed, the
        advisory lock's connection must be alive and hold it); a scheduler that lost
        it fires nothing."""
        if self.lock is None:
            return True
        ok = self.lock.held()
        if not ok:
            log.warning("%s lost: not firing", self.lock.mechanism)
        return ok

    def _run_pipeline(self, list_name: str, *, edition_key: str | None) -> dict[str, Any]:
        with self.context() as ctx:
            report = daily.run(ctx, list_names=[list_name], edition_key=edition_key)
        return _summary(report)

    # ------------------------------------------------------ list-time slots
    def edition_slots(self, list_name: str, run_times: Sequence[datetime]) -> list[Slot]:
        """Handle the run times APScheduler found due for one list's job.

        Those later than the grace time are recorded as skipped; of the rest,
        the last runs and the earlier ones are recorded as coalesced into it.
        """
        cfg = self.settings.lists[list_name]
        now = self.clock()
        # in UTC: within a zone Python ignores ``fold`` when comparing times
        run_times = [t.astimezone(UTC) for t in run_times]
        grace = timedelta(seconds=cfg.grace_time)
        late = [t for t in run_times if now - t > grace]
        due = [t for t in run_times if now - t <= grace]
        for t in late:
            self._skip(
                list_name,
                t,
                f"missed by {_fmt_delta(now - t)}, more than the grace time "
                f"({_fmt_delta(grace)}): the scheduler was not running; not sent late",
            )
        if not due:
            return []
        latest = due[-1]
        for t in due[:-1]:
            self._skip(list_name, t, f"coalesced into the run of {latest.isoformat()}")
        slot = self.edition_slot(list_name, latest)
        return [slot] if slot else []

    def _skip(self, list_name: str, slot_at: datetime, reason: str, local: bool = False) -> None:
        if self.schedule.skip_slot(
            list_name, slot_at, reason=reason, local_time=local, owner=self.owner, now=self.clock()
        ):
            log.warning("list %s: slot %s skipped: %s", list_name, slot_at.isoformat(), reason)

    def edition_slot(self, list_name: str, slot_at: datetime) -> Slot | None:
        """Run one slot of a list once: record it, make and deliver its edition."""
        cfg = self.settings.lists[list_name]
        if list_name in self.schedule.paused():
            self._skip(list_name, slot_at, "the list is paused (distributor schedule pause)")
            return self.schedule.slot(list_name, slot_at)
        if not self.holds_lease():
            return None
        # When clocks go back, APScheduler fires a time in the repeated hour twice
        # (once per offset): both firings are the same slot, keyed by its first one.
        zone = ZoneInfo(cfg.timezone)
        slot_at = slot_at.astimezone(UTC)
        first = local_send_time(slot_at.astimezone(zone).replace(tzinfo=None), cfg.timezone)
        if first != slot_at:
            log.info(
                "list %s: %s repeats the slot of %s (clocks went back)",
                list_name,
                slot_at.isoformat(),
                first.isoformat(),
            )
            slot_at = first
        base_key = slot_at.astimezone(zone).date().isoformat()
        slot, made = self.schedule.begin_slot(
            list_name,
            slot_at,
            base_key=base_key,
            local_time=False,
            owner=self.owner,
            now=self.clock(),
        )
        if not made and slot.state != "running":
            log.info("list %s: slot %s already %s", list_name, slot_at.isoformat(), slot.state)
            return slot
        return self._finish(list_name, slot, edition_key=slot.edition_key)

    def _finish(self, list_name: str, slot: Slot, *, edition_key: str | None) -> Slot:
        log.info("list %s: slot %s runs (edition %s)", list_name, slot.slot_at, edition_key)
        try:
            summary = self._run_pipeline(list_name, edition_key=edition_key)
        except SchedulerStopping:
            self.schedule.finish_slot(
                list_name,
                slot.slot_at,
                state="running",
                now=self.clock(),
                reason="interrupted by a stop; resumed at the next start",
            )
            raise
        except DistributorError as err:
            self.schedule.finish_slot(
                list_name, slot.slot_at, state="failed", now=self.clock(), reason=str(err)
            )
            log.error("list %s: slot %s failed: %s", list_name, slot.slot_at, err)
        else:
            self.schedule.finish_slot(
                list_name, slot.slot_at, state="done", now=self.clock(), summary=summary
            )
            log.info("list %s: slot %s %s", list_name, slot.slot_at, slot_outcome(summary))
        done = self.schedule.slot(list_name, slot.slot_at)
        assert done is not None
        return done

    def resume_interrupted(self) -> list[Slot]:
        """Slots a stop or a crash left running: finish their editions from the ledger."""
        out = []
        for slot in self.schedule.slots(state="running", limit=1000):
            cfg = self.settings.lists.get(slot.list_name)
            if cfg is None or slot.local_time or slot.list_name in self.schedule.paused():
                continue
            if not self.holds_lease():
                break
            log.info("list %s: resuming interrupted slot %s", slot.list_name, slot.slot_at)
            out.append(self._finish(slot.list_name, slot, edition_key=slot.edition_key))
        return out

    # ------------------------------------------------------ local-time lists
    def local_tick(self, list_name: str) -> dict[str, int]:
        """Make the edition of a local-time slot when its first readers reach it; deliver
        every held-back row whose time has come; expire those past the grace time.

        Returns counts: ``made`` editions, ``skipped`` slots, ``expired`` rows.
        """
        cfg = self.settings.lists[list_name]
        now = self.clock()
        out = {"made": 0, "skipped": 0, "expired": 0, "delivered": 0}
        if list_name in self.schedule.paused() or not self.holds_lease():
            return out
        grace = timedelta(seconds=cfg.grace_time)
        wall_trigger = parse_cron(cfg.schedule, UTC)  # wall-clock times, read as UTC
        window = fire_times(
            wall_trigger, now - _LATEST_OFFSET - grace - timedelta(days=1), now + _EARLIEST_OFFSET
        )
        report = RunReport(started_at=now.isoformat(), dry_run=False)
        with self.context() as ctx:
            pipeline.sync_subscribers(ctx, list_name, cfg, report)
        profiles = self.store.reader_profiles(list_name)
        zones = {_zone_of_name(p.timezone, cfg.timezone) for p in profiles} | {cfg.timezone}
        for wall_utc in window:
            wall = wall_utc.replace(tzinfo=None)
            sends = {z: local_send_time(wall, z) for z in zones}
            earliest, latest = min(sends.values()), max(sends.values())
            if earliest > now:
                break
            known = self.schedule.slot(list_name, wall_utc)
            if known is not None:
                # one job at a time under the lease: a slot still "running" here was
                # interrupted while its edition was being made; make it now
                if known.state == "running":
                    self._make_local_edition(list_name, cfg, wall_utc, now)
                continue
            if latest + grace < now:
                self._skip(
                    list_name,
                    wall_utc,
                    f"missed: every reader's {wall:%Y-%m-%d %H:%M} passed more than the "
                    f"grace time ({_fmt_delta(grace)}) ago; not sent late",
                    local=True,
                )
                out["skipped"] += 1
                continue
            self._make_local_edition(list_name, cfg, wall_utc, now)
            out["made"] += 1
        expired = self.schedule.expire_overdue(
            list_name,
            grace=cfg.grace_time,
            now=now,
            reason="skipped: the reader's local delivery time passed more than the grace "
            "time ago (the scheduler was not running); not sent late",
        )
        out["expired"] = sum(expired.values())
        if expired:
            log.warning("list %s: %s held-back messages expired: %s", list_name, out, expired)
        due = self.schedule.due_edition_keys(list_name, now)
        if due:
            summary = self._run_pipeline(list_name, edition_key=due[-1])
            out["delivered"] = int(summary["sent"])
        return out

    def _make_local_edition(
        self, list_name: str, cfg: ListConfig, wall_utc: datetime, now: datetime
    ) -> None:
        wall = wall_utc.replace(tzinfo=None)
        slot, made = self.schedule.begin_slot(
            list_name,
            wall_utc,
            base_key=wall.date().isoformat(),
            local_time=True,
            owner=self.owner,
            now=now,
        )
        if not made and slot.state != "running":
            return
        assert slot.edition_key is not None
        if self.store.next_edition_key(list_name, slot.edition_key) != slot.edition_key:
            # made before an interruption, only the slot row was not finished
            self.schedule.finish_slot(list_name, wall_utc, state="done", now=self.clock())
            return
        report = RunReport(started_at=now.isoformat(), dry_run=False)
        with self.context() as ctx:
            try:
                pipeline.sync_subscribers(ctx, list_name, cfg, report)
                selection = pipeline.plan_list(ctx, list_name, cfg)
                plans = selection.plans
                offsets: dict[str | None, datetime] = {}

                def not_before(profile: ReaderProfile) -> datetime:
                    if profile.timezone not in offsets:
                        zone = _zone_of_name(profile.timezone, cfg.timezone)
                        offsets[profile.timezone] = local_send_time(wall, zone)
                    return offsets[profile.timezone]

                assert slot.edition_key is not None
                created = (
                    self.store.create_editions(
                        list_name=list_name,
                        key=slot.edition_key,
                        variants=selection.variants,
                        variant_of=selection.variant_of,
                        now=now,
                        not_before=not_before,
                    )
                    if plans
                    else []
                )
                groups: dict[str, int] = {}
                for edition, _rows in created:
                    for at, n in self.store.held_back_counts(edition.id).items():
                        label = _offset_label(wall - at.replace(tzinfo=None))
                        groups[label] = groups.get(label, 0) + n
            except DistributorError as err:
                self.schedule.finish_slot(
                    list_name, wall_utc, state="failed", now=self.clock(), reason=str(err)
                )
                raise
        self.schedule.finish_slot(
            list_name,
            wall_utc,
            state="done",
            now=self.clock(),
            reason=None if plans else "no new stories; no edition made",
            summary={
                "editions": len(plans),
                "groups": dict(sorted(groups.items())),
                "warnings": [f"{w.subject}: {w.cause}" for w in report.warnings][:10],
            },
        )
        log.info("list %s: local-time edition %s made: %s", list_name, slot.edition_key, groups)

    # -------------------------------------------------------------- polling
    def poll(self) -> RunReport:
        """Fetch the sources; post new stories at once on the ``post_on_publish`` channels."""
        now = self.clock()
        report = RunReport(started_at=now.isoformat(), dry_run=False)
        if not self.holds_lease():
            return report
        channels = self.settings.scheduler.post_on_publish
        settings = self.settings.model_copy(
            update={"social": {n: self.settings.social[n] for n in channels}}
        )
        with self.context(settings) as ctx:
            pipeline.fetch_sources(ctx, report)
            if channels:
                hours = max((c.max_age_hours for c in settings.lists.values()), default=48)
                excluded = pipeline.excluded_stories(ctx)
                stories = [
                    s
                    for s in self.store.published_stories(
                        now=now, since=now - timedelta(hours=hours)
                    )
                    if not excluded(s)
                ]
                pipeline.publish_social(ctx, stories, report, dry_run=False)
            # lists an editor approves: the draft is made `draft_lead` hours before the slot
            for made in editions.draft_due(ctx):
                log.info("list %s: edition %s drafted for approval", made.list_name, made.key)
            # editions an editor scheduled (a one-off at 14:00) go at their time
            daily.deliver_due(ctx, report)
        with self.context() as ctx:  # every channel's queue (issue 18)
            posts.post_due(ctx, report, by="scheduler")
            for line in post_metrics.read_counts(ctx).errors:
                report.warn("social", "counts", line)
        for problem in report.errors:
            log.error("poll: [%s] %s: %s", problem.stage, problem.subject, problem.cause)
        log.info("poll: %s", poll_outcome(report))
        return report


def _offset_label(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "+" if minutes >= 0 else "-"
    minutes = abs(minutes)
    return f"UTC{sign}{minutes // 60:02d}:{minutes % 60:02d}"


_summary = daily.slot_summary


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
        clock: Callable[[], datetime] = pipeline.system_clock,
        lock: LeaderLock | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.schedule = ScheduleStore(store)
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
        result = sync_jobs(jobstore, self.settings, self.schedule.paused(), self.clock())
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
    sched = ScheduleStore(store)
    jobstore = open_jobstore(store)
    stored = {j.id: j for j in jobstore.get_all_jobs()}
    paused = sched.paused()
    views = []
    for jid, spec in job_specs(settings).items():
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
        recent = sched.slots(list_name, limit=20) if list_name else []
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
    sched = ScheduleStore(store)
    if paused:
        sched.pause(list_name, now)
    else:
        sched.resume(list_name)
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
