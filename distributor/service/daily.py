"""The daily job and the delivery of stored editions: fetch, select, shape, send, record.

:func:`run` is what ``distributor run``, a scheduled slot and "send now" of a list do.
Per list it resumes unfinished editions, sends the stored editions whose time has come
(approved or scheduled by an editor), and makes the list's new edition: sent at once
with ``approval = "auto"`` (recorded as an edition), drafted and *held* for an editor
with ``approval = "editor"`` (the report says so).  Safe to repeat: a second run
delivers nothing new.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from distributor import pipeline
from distributor.config import ListConfig
from distributor.errors import (
    ConfigError,
    DistributorError,
    EditionError,
    StoreError,
    UnknownListError,
)
from distributor.models import Edition, PlannedEdition, PlanState, Story
from distributor.redact import settings_redactor
from distributor.render.digest import DigestRenderer
from distributor.report import RunReport
from distributor.selection import WEEKLY
from distributor.service import plans
from distributor.service.context import Context
from distributor.share.links import edition_campaign
from distributor.store.editions import EditionStore, NewPlan
from distributor.store.repository import NewVariant
from distributor.store.schedule import ScheduleStore, Slot
from distributor.store.web import WebStore


def run(
    ctx: Context,
    *,
    list_names: Sequence[str] | None = None,
    dry_run: bool = False,
    edition_key: str | None = None,
) -> RunReport:
    """The daily job. ``edition_key`` (a scheduler's slot) names the edition to make
    instead of the date; if the list already has an edition under that key, none is
    made again and only unfinished ones are resumed."""
    settings, store = ctx.settings, ctx.store
    started = ctx.clock()
    report = RunReport(started_at=started.isoformat(), dry_run=dry_run)
    for name in list_names or ():
        if name not in settings.lists:
            known = ", ".join(sorted(settings.lists))
            raise UnknownListError(f"no list named {name!r} (known: {known})")
    lists = list(list_names) if list_names else list(settings.lists)
    run_id = None if dry_run else store.start_run(started, dry_run=dry_run)

    pipeline.fetch_sources(ctx, report)
    if not dry_run:
        plans.settle(ctx)
    posted_candidates: dict[str, Story] = {}
    cache = pipeline.RunCache()

    for list_name in lists:
        cfg = settings.lists[list_name]
        try:
            pipeline.sync_subscribers(ctx, list_name, cfg, report)
        except ConfigError as err:
            report.error("subscribers", list_name, str(err))

        now = ctx.clock()
        since = now - timedelta(hours=cfg.max_age_hours)
        for story in store.published_stories(now=now, since=since):
            posted_candidates.setdefault(story.id, story)
        _list_run(ctx, list_name, cfg, edition_key, report, cache, dry_run=dry_run)

    excluded = pipeline.excluded_stories(ctx)
    stories = [s for s in posted_candidates.values() if not excluded(s)]
    pipeline.publish_social(ctx, stories, report, dry_run=dry_run, cache=cache)

    if not dry_run:
        plans.settle(ctx)
    report.finished_at = ctx.clock().isoformat()
    if report.dry_run:
        report.notes.append("dry run: nothing was delivered or recorded")
    elif not report.delivered_anything and not report.errors and not report.held:
        report.notes.append("nothing new to deliver")
    if run_id is not None:
        # the stored report never holds a secret (webhook URLs, tokens in URLs)
        report.redact(settings_redactor(ctx.settings))
        store.finish_run(run_id, report.to_dict(), ctx.clock())
    return report


def fetch_now(ctx: Context) -> RunReport:
    """Fetch every source and each list's subscribers file now (previews are current)."""
    report = RunReport(started_at=ctx.clock().isoformat(), dry_run=True)
    pipeline.fetch_sources(ctx, report)
    for name, cfg in ctx.settings.lists.items():
        try:
            pipeline.sync_subscribers(ctx, name, cfg, report)
        except DistributorError as err:
            report.error("subscribers", name, str(err))
    return report


def _list_run(
    ctx: Context,
    list_name: str,
    cfg: ListConfig,
    edition_key: str | None,
    report: RunReport,
    cache: pipeline.RunCache,
    *,
    dry_run: bool,
) -> None:
    store = ctx.store
    now = ctx.clock()
    resumed = [] if dry_run else pipeline.resume_editions(ctx, list_name)
    due = [] if dry_run else EditionStore(store).due(now, list_name)

    selection = pipeline.plan_list(ctx, list_name, cfg)
    new_plans = selection.plans
    base = pipeline.edition_date_key(now, cfg)
    if edition_key is None:
        key = plans.free_key(ctx, list_name, base)
    else:
        key = edition_key
        if plans.free_key(ctx, list_name, key) != key:
            report.notes.append(f"list {list_name}: edition {key} exists; not made again")
            new_plans = []
    if cfg.approval == "editor" and not dry_run:
        # the editor decides: a draft for the slot (if none is open), held until approved
        if new_plans and not _has_open_regular(ctx, list_name):
            EditionStore(store).create(
                NewPlan(
                    list_name=list_name,
                    key=key,
                    kind=plans.REGULAR,
                    state=PlanState.DRAFT,
                    variants=[
                        plans.planned_variant(p.language, p.segment, p.stories, p.readers)
                        for p in new_plans
                    ],
                    send_at=now,
                    created_by="run",
                ),
                now,
            )
        new_plans = []
        plans.hold_report(ctx, list_name, report)

    if not new_plans and not resumed and not due:
        if not report.held or cfg.approval != "editor":
            report.notes.append(f"list {list_name}: no new stories; no edition made")
        return
    report.stories_selected += len({s.id for p in new_plans for s in p.stories})
    if dry_run:
        links = pipeline.make_links(
            [s for p in new_plans for s in p.stories],
            edition_campaign(list_name, key),
            ctx.settings.share,
        )
        renderer = DigestRenderer(ctx.settings)
        for p in new_plans:
            pipeline.dry_render(renderer, p, cfg, list_name, key, links, now, report)
        return

    editions: list[tuple[Edition, bool]] = list(resumed)
    for planned in due:
        editions += _claim_and_write(ctx, planned, cfg, report)
    if new_plans:
        variants = [NewVariant(p.language, p.segment, p.stories) for p in new_plans]
        made = plans.record_run_edition(
            ctx,
            list_name,
            key,
            [plans.planned_variant(p.language, p.segment, p.stories, p.readers) for p in new_plans],
            by="run",
        )
        report.sent_editions.append(made.id)
        editions += [
            (e, False)
            for e, _rows in store.create_editions(
                list_name=list_name,
                key=key,
                variants=variants,
                variant_of=selection.variant_of,
                now=now,
            )
        ]
    send_editions(ctx, cfg, editions, report, cache)


def send_editions(
    ctx: Context,
    cfg: ListConfig,
    editions: list[tuple[Edition, bool]],
    report: RunReport,
    cache: pipeline.RunCache,
) -> None:
    """Send (or, with ``[queue]``, enqueue) ledger editions through the list's transport."""
    if not editions:
        return
    try:
        backend = ctx.mail_backend(cfg.mail)
    except DistributorError as err:
        report.error("mail", cfg.mail, str(err))
        return
    if ctx.settings.queue is not None:  # workers (issue 9): batch tasks, not sent here
        pipeline.enqueue_for_workers(ctx, backend, editions, cfg, report, cache)
    else:
        pipeline.deliver_editions(ctx, backend, editions, cfg, report, cache)


def _has_open_regular(ctx: Context, list_name: str) -> bool:
    found = EditionStore(ctx.store).listing(list_name=list_name, states=plans.OPEN_STATES)
    return any(e.kind == plans.REGULAR for e in found)


def _claim_and_write(
    ctx: Context, planned: PlannedEdition, cfg: ListConfig, report: RunReport, by: str = "run"
) -> list[tuple[Edition, bool]]:
    """Claim a due edition (``sending``) and write its ledger from the stored variants; an
    edition someone else claimed first gives nothing (never sent twice)."""
    claimed = EditionStore(ctx.store).claim(
        planned.id,
        from_states=(PlanState.APPROVED, PlanState.SCHEDULED),
        to_state=PlanState.SENDING,
        who=by,
        action="send",
        now=ctx.clock(),
    )
    if claimed is None:
        return []
    variants = plans.ledger_variants(ctx, claimed)
    weekly = any(v.segment.startswith(WEEKLY) for v in variants)
    try:
        made = ctx.store.create_editions(
            list_name=claimed.list_name,
            key=claimed.key,
            variants=variants,
            variant_of=_selection_of(ctx, claimed.list_name, weekly).variant_of,
            now=ctx.clock(),
        )
    except (StoreError, EditionError) as err:
        report.error("editions", f"{claimed.list_name}/{claimed.key}", str(err))
        return []
    report.sent_editions.append(claimed.id)
    report.stories_selected += len({s.id for v in variants for s in v.stories})
    return [(e, False) for e, _rows in made]


def deliver(
    ctx: Context, edition_id: int, *, report: RunReport, by: str = "schedule"
) -> PlannedEdition | None:
    """Deliver one approved or scheduled edition now: claim it, write its ledger from the
    stored variants, send (or enqueue), and settle it; ``social`` editions also post
    their stories (never excluded ones).  ``None`` when someone else claimed it first."""
    store = EditionStore(ctx.store)
    planned = store.get(edition_id)
    cfg = plans.list_config(ctx, planned.list_name)
    cache = pipeline.RunCache()
    editions = _claim_and_write(ctx, planned, cfg, report, by=by)
    if edition_id not in report.sent_editions:
        # another scheduler claimed it first (it sends it), or its ledger could not be
        # written (reported): nothing was delivered here
        return None
    send_editions(ctx, cfg, editions, report, cache)
    if planned.social:
        excluded = pipeline.excluded_stories(ctx)
        stories = [s for s in plans.stories_of(ctx, planned).values() if not excluded(s)]
        pipeline.publish_social(ctx, stories, report, dry_run=False, cache=cache)
    plans.settle(ctx)
    return store.get(edition_id)


def deliver_due(ctx: Context, report: RunReport, list_name: str | None = None) -> int:
    """Deliver every approved or scheduled edition whose time has come; how many went."""
    sent = 0
    for planned in EditionStore(ctx.store).due(ctx.clock(), list_name):
        if planned.list_name in ctx.settings.lists and deliver(ctx, planned.id, report=report):
            sent += 1
    return sent


def slot_summary(report: RunReport) -> dict[str, Any]:
    """What a slot's row keeps of its run's report."""
    return {
        "editions": len(report.editions),
        "sent": report.emails.sent,
        "failed": report.emails.failed,
        "unknown": report.emails.unknown,
        "pending": report.emails.skipped,
        "posts": report.posts.sent,
        "tasks_enqueued": report.tasks_enqueued,  # with [queue]: the workers send
        "held": list(report.held),
        "notes": report.notes[:10],
        "errors": [f"[{p.stage}] {p.subject}: {p.cause}" for p in report.errors][:10],
    }


def send_list_now(
    ctx: Context, list_name: str, *, owner: str = "send --now"
) -> tuple[Slot, RunReport]:
    """One edition of a list now, outside its schedule (every door's "send now" of a list).

    Everyone gets it at once (local-time delivery is for scheduled slots).  It is
    recorded as a slot, so ``schedule list`` shows it, and its key is the date in the
    list's zone (``.2``, ``.3``... if that day already has an edition)."""
    cfg = plans.list_config(ctx, list_name)
    schedule = ScheduleStore(ctx.store)
    now = ctx.clock()
    slot, _made = schedule.begin_slot(
        list_name,
        now,
        base_key=plans.free_key(ctx, list_name, pipeline.edition_date_key(now, cfg)),
        local_time=False,
        owner=owner,
        now=now,
    )
    try:
        report = run(ctx, list_names=[list_name], edition_key=slot.edition_key)
    except DistributorError as err:
        schedule.finish_slot(list_name, now, state="failed", now=ctx.clock(), reason=str(err))
        raise
    schedule.finish_slot(
        list_name, now, state="done", now=ctx.clock(), summary=slot_summary(report)
    )
    done = schedule.slot(list_name, now)
    assert done is not None
    return done, report


@dataclass(frozen=True, slots=True)
class OnceOutcome:
    """What a keyed "send now" did, or, for a repeated key, what the first call did."""

    key: str
    replayed: bool
    in_progress: bool
    response: dict[str, Any] | None
    conflict: bool = False


def request_hash(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def once(
    ctx: Context,
    *,
    scope: str,
    key: str,
    request: Mapping[str, Any],
    action: Callable[[], dict[str, Any]],
    wait: float = 0.0,
) -> OnceOutcome:
    """Run ``action`` at most once per (scope, key): every state change of the API and the
    dashboard goes through here.

    The key is claimed in the database (unique constraint) before anything runs: a
    double click or a retry with the same key gets the first call's result, never a
    second run; it waits up to ``wait`` seconds for a first call still running, then
    answers "in progress".  The same key with another request is a conflict."""
    web = WebStore(ctx.store)
    digest = request_hash(request)
    earlier = web.claim_idempotency_key(scope, key, digest, ctx.clock())
    if earlier is not None and earlier.status != "done" and earlier.request_hash == digest:
        deadline = time.monotonic() + wait
        while earlier is not None and earlier.status != "done" and time.monotonic() < deadline:
            time.sleep(0.2)
            earlier = web.idempotency_record(scope, key)
    if earlier is not None:
        return OnceOutcome(
            key,
            replayed=True,
            in_progress=earlier.status != "done",
            response=earlier.response,
            conflict=earlier.request_hash != digest,
        )
    try:
        response = action()
    except Exception as err:
        web.finish_idempotency_key(
            scope, key, {"ok": False, "error": f"{type(err).__name__}: {err}"}
        )
        raise
    web.finish_idempotency_key(scope, key, response)
    return OnceOutcome(key, replayed=False, in_progress=False, response=response)


def send_list_now_once(
    ctx: Context, list_name: str, *, key: str, scope: str, wait: float = 0.0
) -> OnceOutcome:
    """ "Send now" of a list from the dashboard or the API, at most once per key."""
    plans.list_config(ctx, list_name)

    def action() -> dict[str, Any]:
        slot, report = send_list_now(ctx, list_name, owner=scope.split(":", 1)[0])
        return {
            "list": list_name,
            "edition_key": slot.edition_key,
            "ok": report.ok,
            "report": report.to_dict(),
        }

    return once(ctx, scope=scope, key=key, request={"list": list_name}, action=action, wait=wait)


def _selection_of(ctx: Context, list_name: str, weekly: bool) -> pipeline.Selection:
    """The list's reader-to-variant mapping (a list since removed: languages as stored)."""
    cfg = ctx.settings.lists.get(list_name)
    if cfg is None:
        return pipeline.Selection([], weekly)
    return pipeline.Selection.of_list(ctx.settings, cfg, weekly_due=weekly)
