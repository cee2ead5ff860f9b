"""The scheduler's use cases: run a list's slot once, make a local-time list's edition
as its readers reach the slot, and poll (fetch, post on publish, draft for approval,
send due editions).  ``distributor/scheduler.py`` wires them to APScheduler's jobs, the
job store and the leader lock; the slots are recorded in ``schedule_slots``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from distributor import pipeline
from distributor.config import ListConfig, Settings
from distributor.cron import fire_times, parse_cron
from distributor.errors import DistributorError
from distributor.leader import LeaderLock
from distributor.models import Subscriber
from distributor.report import RunReport
from distributor.service import daily, editions, post_metrics, posts
from distributor.service.context import Context
from distributor.service.outcomes import poll_outcome, slot_outcome
from distributor.store import Store
from distributor.store.repository import ReaderProfile
from distributor.store.schedule import ScheduleStore, Slot

__all__ = [
    "Runner",
    "SchedulerStopping",
    "Slot",
    "StopAfterBatch",
    "local_send_time",
    "pause",
    "paused",
    "recent_slots",
    "resume",
]

log = logging.getLogger("distributor.scheduler")

# UTC offsets run from -12:00 to +14:00: a wall-clock time reaches every zone
# within this window around it.
_EARLIEST_OFFSET = timedelta(hours=14)
_LATEST_OFFSET = timedelta(hours=12)


class SchedulerStopping(DistributorError):
    """A stop was requested; raised between batches so the batch in flight is recorded."""


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

    def context(self) -> AbstractContextManager[Context]:
        """The service's context on this scheduler's store (left open), clock and stop."""
        return Context.open(
            self.settings,
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
        with self.context() as ctx:
            pipeline.fetch_sources(ctx, report)
            if channels:
                hours = max((c.max_age_hours for c in self.settings.lists.values()), default=48)
                excluded = pipeline.excluded_stories(ctx)
                stories = [
                    s
                    for s in self.store.published_stories(
                        now=now, since=now - timedelta(hours=hours)
                    )
                    if not excluded(s)
                ]
                pipeline.publish_social(ctx, stories, report, dry_run=False, only_channels=channels)
            # lists an editor approves: the draft is made `draft_lead` hours before the slot
            for made in editions.draft_due(ctx):
                log.info("list %s: edition %s drafted for approval", made.list_name, made.key)
            # editions an editor scheduled (a one-off at 14:00) go at their time
            daily.deliver_due(ctx, report)
            posts.post_due(ctx, report, by="scheduler")  # every channel's queue (issue 18)
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


# ---------------------------------------------------- pause, resume, the slots
def paused(ctx: Context) -> set[str]:
    """The lists an editor paused."""
    return ScheduleStore(ctx.store).paused()


def pause(ctx: Context, list_name: str) -> None:
    """Stop a list's slots until :func:`resume`."""
    ScheduleStore(ctx.store).pause(list_name, ctx.clock())


def resume(ctx: Context, list_name: str) -> None:
    ScheduleStore(ctx.store).resume(list_name)


def recent_slots(ctx: Context, list_name: str, limit: int = 20) -> list[Slot]:
    """A list's latest slots, newest first."""
    return ScheduleStore(ctx.store).slots(list_name, limit=limit)
