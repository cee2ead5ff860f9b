"""The daily job: sources -> selection -> share -> render -> dispatch -> ledger.

One function per stage; :func:`run` composes them and returns a
:class:`~distributor.report.RunReport`.  Nothing here prints: the CLI, the
scheduler and the web app are thin doors onto these functions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import requests

from distributor.config import ListConfig, Settings
from distributor.dispatch import MAX_ATTEMPTS, Clock, deliver_edition, publish_posts
from distributor.errors import ConfigError, DistributorError, ShareError, SourceError
from distributor.mail.base import MailBackend, build_mail_backend
from distributor.models import Edition, Post, ShareCard, ShareLink, Story
from distributor.render.digest import DigestRenderer
from distributor.report import EditionReport, RunReport, SourceReport
from distributor.selection import EditionPlan, plan_editions
from distributor.share.cards import CardMaker
from distributor.share.links import share_links, with_utm
from distributor.share.posts import compose_post
from distributor.social.base import SocialChannel, build_channel
from distributor.sources.base import build_source
from distributor.store import ClaimedPost, Store
from distributor.subscribers import read_subscribers_csv


class Progress:
    """Hooks a front end can use to show progress; the default shows nothing."""

    def start(self, label: str, total: int) -> None:
        """A stage with ``total`` steps begins."""

    def advance(self, label: str, steps: int = 1) -> None:
        """``steps`` more steps of ``label`` are done."""


def system_clock() -> datetime:
    return datetime.now(UTC)


@dataclass
class Context:
    """Everything a run needs, passed in: no global state."""

    settings: Settings
    store: Store
    session: requests.Session
    clock: Clock = system_clock
    progress: Progress = field(default_factory=Progress)
    mail_backends: dict[str, MailBackend] = field(default_factory=dict)
    channels: dict[str, SocialChannel] = field(default_factory=dict)

    def mail_backend(self, name: str) -> MailBackend:
        if name not in self.mail_backends:
            self.mail_backends[name] = build_mail_backend(name, self.settings)
        return self.mail_backends[name]

    def enabled_channels(self) -> dict[str, SocialChannel]:
        for name, cfg in self.settings.social.items():
            if cfg.enabled and name not in self.channels:
                self.channels[name] = build_channel(name, self.settings)
        return self.channels

    def close(self) -> None:
        for backend in self.mail_backends.values():
            backend.close()
        for channel in self.channels.values():
            channel.close()


# ------------------------------------------------------------------- stages
def fetch_sources(ctx: Context, report: RunReport, only: str | None = None) -> None:
    """Fetch every enabled source and store its stories; a broken source never stops the run."""
    names = [n for n, c in ctx.settings.sources.items() if c.enabled and (only in (None, n))]
    ctx.progress.start("sources", len(names))
    for name in names:
        sr = SourceReport(name)
        report.sources.append(sr)
        try:
            source = build_source(name, ctx.settings.sources[name], ctx.settings, ctx.session)
            result = source.fetch(ctx.clock())
            counts = ctx.store.upsert_stories(result.stories, ctx.clock())
        except SourceError as err:
            sr.error = err.reason
            report.error("source", name, err.reason)
        else:
            sr.fetched, sr.new, sr.updated = len(result.stories), counts.new, counts.updated
            sr.problems = list(result.problems)
            report.stories_fetched += sr.fetched
            for problem in result.problems:
                report.warn("source", name, problem)
        ctx.progress.advance("sources")


def sync_subscribers(ctx: Context, list_name: str, cfg: ListConfig, report: RunReport) -> None:
    """Import the list's subscribers file, if it has one: new addresses only."""
    if not cfg.subscribers_file:
        return
    path = ctx.settings.resolve(cfg.subscribers_file)
    subs, rejected = read_subscribers_csv(
        path, default_language=ctx.settings.newsroom.default_language
    )
    added, _kept = ctx.store.add_subscribers(list_name, subs, ctx.clock())
    report.subscribers_added += added
    for r in rejected:
        report.warn("subscribers", f"{path.name} line {r.line}", f"{r.value!r}: {r.reason}")


def select(ctx: Context, list_name: str, cfg: ListConfig) -> list[EditionPlan]:
    """Plan the new editions of one list (one per reader language)."""
    now = ctx.clock()
    since = now - timedelta(hours=cfg.max_age_hours)
    candidates = ctx.store.published_stories(now=now, since=since)
    recipients = ctx.store.recipients(list_name)
    languages = {r.language for r in recipients}
    sent = {lang: ctx.store.sent_groups(list_name, lang) for lang in languages}
    return plan_editions(
        candidates=candidates,
        recipients=recipients,
        sent_groups=sent,
        max_stories=cfg.max_stories,
        fallbacks=(cfg.fallback_language, ctx.settings.newsroom.default_language),
    )


def edition_date_key(now: datetime, cfg: ListConfig) -> str:
    return now.astimezone(ZoneInfo(cfg.timezone)).date().isoformat()


def make_cards(ctx: Context, stories: Sequence[Story], report: RunReport) -> dict[str, ShareCard]:
    """One share card per story; already-made cards are reused from the cache."""
    maker = CardMaker(
        ctx.settings.data_path("cards"),
        brand_name=ctx.settings.newsroom.name,
        brand_color=ctx.settings.newsroom.brand_color,
    )
    cards: dict[str, ShareCard] = {}
    ctx.progress.start("cards", len(stories))
    for story in stories:
        try:
            card = maker.card(story)
        except ShareError as err:
            report.error("share", story.id, str(err))
        else:
            cards[story.id] = card
            if card.cached:
                report.cards_cached += 1
            else:
                report.cards_made += 1
        ctx.progress.advance("cards")
    return cards


def make_links(stories: Sequence[Story], campaign: str) -> dict[str, tuple[ShareLink, ...]]:
    return {s.id: share_links(s, campaign=campaign) for s in stories}


# --------------------------------------------------------------------- run
def run(
    ctx: Context,
    *,
    list_names: Sequence[str] | None = None,
    dry_run: bool = False,
    edition_key: str | None = None,
) -> RunReport:
    """The daily job. Safe to repeat: a second run delivers nothing new.

    ``edition_key`` (the scheduler's slot) names the editions to make instead
    of the date; if the list already has editions under that key, none are
    made again and only unfinished ones are resumed.
    """
    settings, store = ctx.settings, ctx.store
    started = ctx.clock()
    report = RunReport(started_at=started.isoformat(), dry_run=dry_run)
    for name in list_names or ():
        if name not in settings.lists:
            known = ", ".join(sorted(settings.lists))
            raise ConfigError(f"no list named {name!r} (known: {known})")
    lists = list(list_names) if list_names else list(settings.lists)
    run_id = None if dry_run else store.start_run(started, dry_run=dry_run)

    fetch_sources(ctx, report)
    posted_candidates: dict[str, Story] = {}

    for list_name in lists:
        cfg = settings.lists[list_name]
        try:
            sync_subscribers(ctx, list_name, cfg, report)
        except ConfigError as err:
            report.error("subscribers", list_name, str(err))

        now = ctx.clock()
        since = now - timedelta(hours=cfg.max_age_hours)
        for story in store.published_stories(now=now, since=since):
            posted_candidates.setdefault(story.id, story)

        plans = select(ctx, list_name, cfg)
        resumed = [] if dry_run else _resume(ctx, list_name)
        if not plans and not resumed:
            report.notes.append(f"list {list_name}: no new stories; no edition made")
            continue
        if edition_key is None:
            key = store.next_edition_key(list_name, edition_date_key(now, cfg))
        else:
            key = edition_key
            if store.next_edition_key(list_name, key) != key:
                report.notes.append(f"list {list_name}: edition {key} exists; not made again")
                plans = []
        selected_ids = {s.id for p in plans for s in p.stories}
        report.stories_selected += len(selected_ids)
        links = make_links([s for p in plans for s in p.stories], campaign=f"{list_name}-{key}")

        if dry_run:
            renderer = DigestRenderer(settings)
            for plan in plans:
                _dry_render(renderer, plan, cfg, list_name, key, links, now, report)
            continue

        try:
            backend = ctx.mail_backend(cfg.mail)
        except DistributorError as err:
            report.error("mail", cfg.mail, str(err))
            continue
        editions = list(resumed)
        for plan in plans:
            edition = store.create_edition(
                list_name=list_name,
                key=key,
                language=plan.language,
                stories=plan.stories,
                recipients=plan.recipients,
                now=now,
            )
            editions.append((edition, False))
        _deliver(ctx, backend, editions, cfg, links, report)

    _publish(ctx, list(posted_candidates.values()), report, dry_run=dry_run)

    report.finished_at = ctx.clock().isoformat()
    if report.dry_run:
        report.notes.append("dry run: nothing was delivered or recorded")
    elif not report.delivered_anything and not report.errors:
        report.notes.append("nothing new to deliver")
    if run_id is not None:
        store.finish_run(run_id, report.to_dict(), ctx.clock())
    return report


def _resume(ctx: Context, list_name: str) -> list[tuple[Edition, bool]]:
    """Editions of earlier runs with work left (a crash, a transport outage, retries)."""
    ctx.store.requeue_failed(list_name, max_attempts=MAX_ATTEMPTS, now=ctx.clock())
    return [(e, True) for e in ctx.store.unfinished_editions(list_name, now=ctx.clock())]


def _deliver(
    ctx: Context,
    backend: MailBackend,
    editions: list[tuple[Edition, bool]],
    cfg: ListConfig,
    links: dict[str, tuple[ShareLink, ...]],
    report: RunReport,
) -> None:
    renderer = DigestRenderer(ctx.settings)
    total = ctx.store.delivery_counts([e.id for e, _ in editions]).pending
    ctx.progress.start("emails", total)
    stopped: str | None = None
    for edition, resumed in editions:
        stories_by_id = ctx.store.stories_by_id(edition.story_ids)
        stories = [stories_by_id[i] for i in edition.story_ids if i in stories_by_id]
        counts_before = ctx.store.delivery_counts([edition.id])
        er = EditionReport(
            edition.list_name,
            edition.key,
            edition.language,
            len(stories),
            counts_before.pending + counts_before.sending,
            resumed=resumed,
        )
        report.editions.append(er)
        if stopped:
            er.pending = counts_before.pending
            report.emails.skipped += counts_before.pending
            continue
        ed_links = {**make_links(stories, f"{edition.list_name}-{edition.key}"), **links}
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
        for line in out.errors:
            report.error("mail", subject, line)
        if out.stopped:
            stopped = out.stopped
            report.notes.append(
                f"mail transport {backend.name} stopped ({out.stopped}); "
                f"undelivered messages stay pending for the next run"
            )


def _dry_render(
    renderer: DigestRenderer,
    plan: EditionPlan,
    cfg: ListConfig,
    list_name: str,
    key: str,
    links: dict[str, tuple[ShareLink, ...]],
    now: datetime,
    report: RunReport,
) -> None:
    edition = Edition(0, list_name, key, plan.language, tuple(s.id for s in plan.stories), now)
    variant = renderer.render(edition, plan.stories, links, cfg)
    for sub in plan.recipients[:1]:
        renderer.personalize(variant, sub, f"{list_name}/{key}/{plan.language}/{sub.id}", cfg, now)
    report.editions.append(
        EditionReport(
            list_name,
            key,
            plan.language,
            len(plan.stories),
            len(plan.recipients),
            pending=len(plan.recipients),
        )
    )
    report.emails.skipped += len(plan.recipients)


def _publish(ctx: Context, stories: list[Story], report: RunReport, *, dry_run: bool) -> None:
    """Share cards and one post per (story, channel, language) not posted before."""
    try:
        channels = ctx.enabled_channels()
    except DistributorError as err:
        report.error("social", "channels", str(err))
        return
    wanted = [(s, name) for name, ch in channels.items() for s in stories if ch.wants(s.language)]
    if not wanted:
        return
    cards = make_cards(ctx, list({s.id: s for s, _ in wanted}.values()), report)
    by_id = {s.id: s for s, _ in wanted}
    env = DigestRenderer(ctx.settings).env

    def compose(claimed: ClaimedPost) -> Post | None:
        story = by_id.get(claimed.story_id) or ctx.store.stories_by_id([claimed.story_id]).get(
            claimed.story_id
        )
        if story is None:
            return None
        channel = channels[claimed.channel]
        card = cards.get(story.id)
        url = with_utm(story.url, source=claimed.channel, medium="social", campaign="social")
        return compose_post(
            story,
            channel=claimed.channel,
            url=url,
            max_chars=channel.max_chars,
            env=env,
            card_path=card.path if card else None,
            alt_text=card.alt_text if card else "",
        )

    if dry_run:
        report.posts.skipped += len(wanted)
        return
    ctx.store.ensure_posts(((s.id, name, s.language) for s, name in wanted), ctx.clock())
    ctx.progress.start("posts", len(wanted))
    for name, channel in channels.items():
        out = publish_posts(
            store=ctx.store,
            channel=channel,
            compose=compose,
            clock=ctx.clock,
            progress=lambda n: ctx.progress.advance("posts", n),
        )
        report.posts.sent += out.sent
        report.posts.failed += out.failed
        report.posts.unknown += out.unknown
        for line in out.errors:
            report.error("social", name, line)
