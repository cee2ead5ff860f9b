"""Mail editions: resume earlier ones, deliver them or enqueue them for the workers, and
the dry run's render.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from distributor.config import ListConfig
from distributor.dispatch import MAX_ATTEMPTS, deliver_edition
from distributor.errors import DistributorError, RenderError
from distributor.mail.base import MailBackend
from distributor.models import Edition, ShareLink, Story, Subscriber
from distributor.pipeline.cards import make_links, write_story_pages
from distributor.pipeline.runs import RunCache
from distributor.render.archive import write_archive_page
from distributor.render.digest import DigestRenderer
from distributor.report import EditionReport, RunReport
from distributor.selection import (
    EditionPlan,
)
from distributor.service.context import Context
from distributor.share.links import edition_campaign
from distributor.store import LedgerCounts


def resume_editions(ctx: Context, list_name: str) -> list[tuple[Edition, bool]]:
    """Editions of earlier runs with work left (a crash, a transport outage, retries)."""
    ctx.store.requeue_failed(list_name, max_attempts=MAX_ATTEMPTS, now=ctx.clock())
    return [(e, True) for e in ctx.store.unfinished_editions(list_name, now=ctx.clock())]


def _edition_report(
    ctx: Context, edition: Edition, resumed: bool, report: RunReport
) -> tuple[list[Story], EditionReport, LedgerCounts]:
    """The edition's stories, its line in the report (added) and its ledger counts now."""
    by_id = ctx.store.stories_by_id(edition.story_ids)
    stories = [by_id[i] for i in edition.story_ids if i in by_id]
    counts = ctx.store.delivery_counts([edition.id])
    er = EditionReport(
        edition.list_name,
        edition.key,
        edition.language,
        len(stories),
        counts.pending + counts.sending,
        resumed=resumed,
        segment=edition.segment,
        edition_id=edition.id,
    )
    report.editions.append(er)
    return stories, er, counts


def _archive(
    ctx: Context,
    renderer: DigestRenderer,
    edition: Edition,
    stories: Sequence[Story],
    cfg: ListConfig,
    report: RunReport,
    cache: RunCache,
) -> dict[str, tuple[ShareLink, ...]]:
    """The edition's share links (its own campaign: a resumed edition keeps its key), its
    archive page and its stories' pages; a page that cannot be written is reported."""
    links = make_links(
        stories, edition_campaign(edition.list_name, edition.key), ctx.settings.share
    )
    try:
        pages = write_story_pages(ctx, stories, report, cache)
        write_archive_page(renderer, edition, stories, links, cfg, pages)
    except (OSError, RenderError) as err:
        report.error("archive", f"{edition.list_name}/{edition.key}/{edition.language}", str(err))
    return links


def deliver_editions(
    ctx: Context,
    backend: MailBackend,
    editions: list[tuple[Edition, bool]],
    cfg: ListConfig,
    report: RunReport,
    cache: RunCache | None = None,
) -> None:
    renderer = DigestRenderer(ctx.settings)
    cache = cache if cache is not None else RunCache()
    total = ctx.store.delivery_counts([e.id for e, _ in editions]).pending
    ctx.progress.start("emails", total)
    stopped: str | None = None
    for edition, resumed in editions:
        stories, er, counts_before = _edition_report(ctx, edition, resumed, report)
        if stopped:
            er.pending = counts_before.pending
            report.emails.skipped += counts_before.pending
            continue
        ed_links = _archive(ctx, renderer, edition, stories, cfg, report, cache)
        out = deliver_edition(
            store=ctx.store,
            backend=backend,
            renderer=renderer,
            edition=edition,
            stories=stories,
            links=ed_links,
            list_config=cfg,
            clock=ctx.clock,
            progress=lambda n: ctx.progress.advance("emails", n),
        )
        er.sent, er.failed, er.unknown, er.pending = (
            out.sent,
            out.failed,
            out.unknown,
            out.left_pending,
        )
        report.emails.sent += out.sent
        report.emails.failed += out.failed
        report.emails.unknown += out.unknown
        report.emails.skipped += out.left_pending
        if out.recovered:
            state = "resent" if backend.idempotent else "marked unknown"
            report.notes.append(
                f"edition {edition.list_name}/{edition.key}/{edition.language}: "
                f"{out.recovered} messages interrupted by an earlier crash were {state}"
            )
        subject = f"{edition.list_name}/{edition.key}/{edition.language}"
        for line in out.warnings:
            report.warn("render", subject, line)
        for line in out.errors:
            report.error("mail", subject, line)
        if out.errors_left_out:
            report.error(
                "mail", subject, f"{out.errors_left_out} more errors like these, not listed"
            )
        if out.stopped:
            stopped = out.stopped
            report.notes.append(
                f"mail transport {backend.name} stopped ({out.stopped}); "
                f"undelivered messages stay pending for the next run"
            )


def enqueue_for_workers(
    ctx: Context,
    backend: MailBackend,
    editions: list[tuple[Edition, bool]],
    cfg: ListConfig,
    report: RunReport,
    cache: RunCache,
) -> None:
    """Split each edition into batch tasks for the workers (``[queue]``); send nothing here."""
    from distributor.queue import batch_size, enqueue_editions

    try:
        queue = ctx.task_queue()
    except DistributorError as err:
        report.error("queue", "broker", str(err))
        return
    renderer = DigestRenderer(ctx.settings)
    size = batch_size(ctx.settings, backend.batch_size)
    enqueued = 0
    for edition, resumed in editions:
        stories, er, counts = _edition_report(ctx, edition, resumed, report)
        er.pending = counts.pending + counts.sending
        subject = f"{edition.list_name}/{edition.key}/{edition.language}"
        _archive(ctx, renderer, edition, stories, cfg, report, cache)
        try:
            er.tasks = enqueue_editions(queue, ctx.store, [edition], size)
        except DistributorError as err:
            report.error("queue", subject, str(err))
            continue
        except Exception as err:  # the broker's own errors (connection refused, ...)
            report.error("queue", subject, f"cannot enqueue: {type(err).__name__}: {err}")
            continue
        report.tasks_enqueued += er.tasks
        enqueued += er.tasks
    if enqueued:
        report.notes.append(
            f"list {cfg.title}: {enqueued} batch tasks enqueued for the workers "
            f"({size} recipients each at most)"
        )


#: the reader a dry run personalizes one message for (no reader is loaded)
_SAMPLE_READER = Subscriber(0, "reader@example.invalid", "Reader", "en")


def dry_render(
    renderer: DigestRenderer,
    plan: EditionPlan,
    cfg: ListConfig,
    list_name: str,
    key: str,
    links: dict[str, tuple[ShareLink, ...]],
    now: datetime,
    report: RunReport,
) -> None:
    edition = Edition(
        0, list_name, key, plan.language, tuple(s.id for s in plan.stories), now, plan.segment
    )
    variant = renderer.render(edition, plan.stories, links, cfg)
    if variant.shortening:
        report.warn("render", f"{list_name}/{key}/{plan.language}", variant.shortening.describe())
    readers = plan.readers or len(plan.recipients)
    if readers:  # one message, as a reader of this variant would get it
        sample = plan.recipients[0] if plan.recipients else _SAMPLE_READER
        renderer.personalize(
            variant, sample, f"{list_name}/{key}/{plan.language}/{sample.id}", cfg, now
        )
    report.editions.append(
        EditionReport(
            list_name,
            key,
            plan.language,
            len(plan.stories),
            readers,
            pending=readers,
            segment=plan.segment,
        )
    )
    report.emails.skipped += readers
