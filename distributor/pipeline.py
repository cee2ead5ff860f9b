"""The daily job: sources -> selection -> share -> render -> dispatch -> ledger.

One function per stage; :func:`run` composes them and returns a
:class:`~distributor.report.RunReport`.  Nothing here prints: the CLI, the
scheduler and the web app are thin doors onto these functions.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from jinja2 import Environment

from distributor.clock import system_clock as system_clock  # re-exported for old callers
from distributor.config import ListConfig, Settings, ShareConfig
from distributor.dispatch import MAX_ATTEMPTS, deliver_edition
from distributor.errors import ConfigError, DistributorError, RenderError, ShareError, SourceError
from distributor.mail.base import MailBackend
from distributor.models import Edition, Post, ShareLink, Story, Subscriber
from distributor.render import i18n as digest_i18n
from distributor.render.archive import write_archive_page
from distributor.render.digest import DigestRenderer
from distributor.render.story_page import CAMPAIGN as STORY_PAGE_CAMPAIGN
from distributor.render.story_page import write_story_page
from distributor.report import EditionReport, RunReport, SourceReport
from distributor.selection import (
    WEEKLY,
    Candidate,
    EditionPlan,
    Window,
    normalize_language,
    plan_editions,
    plan_variants,
    resolve_language,
    segment_for_topics,
    segment_of,
)
from distributor.service.context import Context
from distributor.service.context import Progress as Progress  # re-exported
from distributor.share.cards import CardMaker, CardSet
from distributor.share.fetch import AddressPolicy, FetchLimits
from distributor.share.links import NETWORKS, UtmPolicy, edition_campaign, share_links
from distributor.share.posts import ComposedPost, compose_post, composed_view
from distributor.social.base import SocialChannel
from distributor.sources.base import build_source, contained
from distributor.sources.normalize import held_far_ahead
from distributor.store import LedgerCounts
from distributor.store import sources as source_store
from distributor.store.repository import NewVariant, ReaderProfile
from distributor.store.social import translations_of
from distributor.store.web import WebStore
from distributor.subscribers import read_subscribers_csv


# ------------------------------------------------------------------- stages
def fetch_sources(ctx: Context, report: RunReport, only: str | None = None) -> None:
    """Fetch every enabled source and store its stories; a broken source never stops the run.

    Each source is asked only for changes (conditional GET); a 304 costs
    nothing and keeps what is stored.  Nothing stored is ever deleted here.
    """
    if only is not None and only not in ctx.settings.sources:
        known = ", ".join(sorted(ctx.settings.sources))
        raise ConfigError(f"no source named {only!r} (known: {known})")
    names = [
        n for n, c in ctx.settings.sources.items() if (c.enabled or only) and only in (None, n)
    ]
    ctx.progress.start("sources", len(names))
    for name in names:
        report.sources.append(fetch_source(ctx, name, report))
        ctx.progress.advance("sources")


def fetch_source(ctx: Context, name: str, report: RunReport) -> SourceReport:
    """Fetch one source, store its stories, and say what happened."""
    cfg = ctx.settings.sources[name]
    sr = SourceReport(name, kind=cfg.kind)
    location = str(getattr(cfg, "url", None) or getattr(cfg, "path", ""))
    try:
        with contained(name):
            source = build_source(name, cfg, ctx.settings, ctx.session)
            result = source.fetch(ctx.clock(), source_store.validators(ctx.store, name, location))
        if result.not_modified:
            sr.not_modified = True
            source_store.record_fetch(ctx.store, name, location, now=ctx.clock(), outcome="304")
            return sr
        counts = ctx.store.upsert_stories(result.stories, ctx.clock())
    except SourceError as err:
        sr.error = err.reason
        report.error("source", name, err.reason)
        source_store.record_fetch(ctx.store, name, location, now=ctx.clock(), outcome=err.reason)
        return sr
    source_store.record_fetch(
        ctx.store,
        name,
        location,
        now=ctx.clock(),
        outcome="ok",
        kept=result.validators,
    )
    sr.fetched, sr.new, sr.updated = len(result.stories), counts.new, counts.updated
    sr.problems = list(result.problems)
    report.stories_fetched += sr.fetched
    for problem in result.problems:
        report.warn("source", name, problem)
    report.notes.extend(f"{name}: {note}" for note in held_far_ahead(result.stories, ctx.clock()))
    return sr


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


def edition_languages(settings: Settings, cfg: ListConfig) -> tuple[str, ...]:
    """The languages a list's editions are made in.

    Every language the digest has a catalog for, those offered on the sign-up
    form (``[web] languages``), the list's fallback and the newsroom's default.
    A reader in another language (``xx``, ``zh-Hant-TW``, an empty tag) joins
    the nearest of these (:func:`resolve_language`: ``pt-PT`` -> ``pt``), else
    the list's default: the same answer on every run,
    so a reader's variant and its sent history never change with the day's
    stories.
    """
    offered = [*digest_i18n.catalog_languages(), *settings.web.languages]
    return tuple(
        dict.fromkeys(
            normalize_language(x) for x in [*offered, list_default_language(settings, cfg)]
        )
    )


def list_default_language(settings: Settings, cfg: ListConfig) -> str:
    """The language a reader gets when none is near theirs: the list's fallback, else the
    newsroom's default."""
    return normalize_language(cfg.fallback_language or settings.newsroom.default_language)


def select(ctx: Context, list_name: str, cfg: ListConfig) -> list[EditionPlan]:
    """Plan the new editions of one list with their recipients: one per reader language
    and topic segment.  Loads every recipient: for previews; a run uses :func:`plan_list`."""
    now = ctx.clock()
    # readers who chose the weekly digest: left out but on the list's weekly day, when
    # they get their own variants with everything of the week they have not had yet
    recipients = ctx.store.recipients(list_name)
    web = WebStore(ctx.store)
    weekly_ids = web.weekly_subscribers() & {r.id for r in recipients}
    if not _weekly_due(now, cfg):
        recipients = [r for r in recipients if r.id not in weekly_ids]
        weekly_ids = set()

    def segment_for(sub: Subscriber) -> str:
        return segment_of(sub, weekly=sub.id in weekly_ids)

    inputs = _selection_inputs(ctx, list_name, cfg, bool(weekly_ids))
    languages = edition_languages(ctx.settings, cfg)
    default = list_default_language(ctx.settings, cfg)
    variants = {
        (resolve_language(r.language, languages, default), segment_for(r)) for r in recipients
    }
    return plan_editions(
        candidates=inputs.candidates,
        recipients=recipients,
        sent={v: source_store.sent_history(ctx.store, list_name, *v) for v in variants},
        max_stories=cfg.max_stories,
        fallbacks=(cfg.fallback_language, ctx.settings.newsroom.default_language),
        window=inputs.window,
        send_empty=cfg.empty_edition == "send",
        policy=cfg,
        segment_for=segment_for,
        window_for=inputs.window_for,
        languages=languages,
        default_language=default,
    )


@dataclass(frozen=True)
class Selection:
    """The new editions of one list, planned without loading the readers.

    ``plans`` carry their number of readers; :meth:`variant_of` names the
    variant of a reader profile, so the ledger can be written while the
    readers are streamed (:meth:`Store.create_editions`). A reader's language
    is resolved to one of ``languages`` (:func:`edition_languages`), else
    ``default_language``; with no ``languages`` it is only normalized.
    """

    plans: list[EditionPlan]
    weekly_due: bool
    languages: tuple[str, ...] = ()
    default_language: str = "en"

    @classmethod
    def of_list(
        cls,
        settings: Settings,
        cfg: ListConfig,
        plans: list[EditionPlan] | None = None,
        *,
        weekly_due: bool = False,
    ) -> Selection:
        """The selection of a list, its readers' languages resolved the list's way."""
        return cls(
            plans or [],
            weekly_due,
            edition_languages(settings, cfg),
            list_default_language(settings, cfg),
        )

    def variant_of(self, profile: ReaderProfile) -> tuple[str, str] | None:
        if profile.weekly and not self.weekly_due:
            return None  # weekly readers wait for the list's weekly day
        language = (
            resolve_language(profile.language, self.languages, self.default_language)
            if self.languages
            else normalize_language(profile.language)
        )
        return language, segment_for_topics(profile.topics, weekly=profile.weekly)

    @property
    def variants(self) -> list[NewVariant]:
        return [NewVariant(p.language, p.segment, p.stories) for p in self.plans]


def plan_list(ctx: Context, list_name: str, cfg: ListConfig) -> Selection:
    """Plan the new editions of one list (see :func:`select`) from its reader profiles:
    one ``GROUP BY``, whatever the number of readers."""
    now = ctx.clock()
    profiles = ctx.store.reader_profiles(list_name)
    due = _weekly_due(now, cfg)
    empty = Selection.of_list(ctx.settings, cfg, weekly_due=due)
    counts: dict[tuple[str, str], int] = {}
    for profile, n in profiles.items():
        variant = empty.variant_of(profile)
        if variant is not None:
            counts[variant] = counts.get(variant, 0) + n
    inputs = _selection_inputs(
        ctx, list_name, cfg, any(seg.startswith(WEEKLY) for _, seg in counts)
    )
    plans = plan_variants(
        candidates=inputs.candidates,
        variants=counts,
        sent={v: source_store.sent_history(ctx.store, list_name, *v) for v in counts},
        max_stories=cfg.max_stories,
        fallbacks=(cfg.fallback_language, ctx.settings.newsroom.default_language),
        window=inputs.window,
        send_empty=cfg.empty_edition == "send",
        policy=cfg,
        window_for=inputs.window_for,
    )
    return replace(empty, plans=plans)


def _weekly_due(now: datetime, cfg: ListConfig) -> bool:
    return now.astimezone(ZoneInfo(cfg.timezone)).strftime("%A").lower() == cfg.weekly_day


@dataclass(frozen=True)
class _Inputs:
    window: Window
    weekly_window: Window
    candidates: list[Candidate]

    def window_for(self, segment: str) -> Window:
        return self.weekly_window if segment.startswith(WEEKLY) else self.window


def _selection_inputs(ctx: Context, list_name: str, cfg: ListConfig, weekly: bool) -> _Inputs:
    """The windows and candidate stories of a list; ``weekly``: weekly readers are due."""
    now = ctx.clock()
    last = ctx.store.last_edition_at(list_name)
    window = Window(now=now, max_age=timedelta(hours=cfg.max_age_hours), last_edition_at=last)
    since = now - window.max_age if last is None else min(last, now - window.max_age)
    weekly_window = window
    if weekly:
        weekly_window = Window(
            now=now,
            max_age=max(timedelta(days=7), window.max_age),
            last_edition_at=source_store.last_weekly_edition_at(ctx.store, list_name),
        )
        since = min(since, now - weekly_window.max_age)
    candidates = source_store.candidates(ctx.store, now=now, since=since)
    # editors' choices (dashboard): excluded stories and their translations are left out
    _, excluded = WebStore(ctx.store).story_flags()
    candidates = [
        c for c in candidates if c.story.id not in excluded and c.story.group not in excluded
    ]
    return _Inputs(window, weekly_window, candidates)


def edition_value(list_name: str, key: str, variant: NewVariant, now: datetime) -> Edition:
    """The (unsaved) ledger edition a variant becomes: for previews and test sends, which
    render exactly what the ledger's edition of that variant will."""
    return Edition(
        0,
        list_name,
        key,
        variant.language,
        tuple(s.id for s in variant.stories),
        now,
        variant.segment,
        intro_html=variant.intro_html,
        intro_text=variant.intro_text,
        subject=variant.subject,
    )


def edition_date_key(now: datetime, cfg: ListConfig) -> str:
    return now.astimezone(ZoneInfo(cfg.timezone)).date().isoformat()


def card_maker(ctx: Context) -> CardMaker:
    """The card maker of this configuration (story images fetched through ``ctx.session``)."""
    share = ctx.settings.share
    return CardMaker(
        ctx.settings.data_path("cards"),
        brand_name=ctx.settings.newsroom.name,
        brand_color=ctx.settings.newsroom.brand_color,
        section_label=ctx.settings.web.topic_name,
        session=ctx.session,
        policy=AddressPolicy.allowing(*share.image_allow_networks),
        limits=FetchLimits(
            max_bytes=share.image_max_bytes,
            timeout=share.image_timeout,
            deadline=share.image_deadline,
        ),
        local_images=ctx.settings.newsroom_images(),
    )


def make_cards(
    ctx: Context,
    stories: Sequence[Story],
    report: RunReport,
    known: dict[str, CardSet] | None = None,
) -> dict[str, CardSet]:
    """The cards of each story; already-made cards are reused from the cache.

    ``known`` holds the cards made earlier in the same run: they are reused
    (and not counted again), and the new ones are added to it.
    """
    maker = card_maker(ctx)
    cards: dict[str, CardSet] = {}
    if known is not None:
        cards.update({s.id: known[s.id] for s in stories if s.id in known})
        stories = [s for s in stories if s.id not in known]
    ctx.progress.start("cards", len(stories))
    for story in stories:
        try:
            card = maker.card_set(story)
        except ShareError as err:
            report.error("share", story.id, str(err))
        else:
            cards[story.id] = card
            if card.image_problem:
                report.warn("share", story.id, card.image_problem)
            if card.cached:
                report.cards_cached += 1
            else:
                report.cards_made += 1
        ctx.progress.advance("cards")
    if known is not None:
        known.update(cards)
    return cards


@dataclass
class RunCache:
    """What one run already made: cards and story archive pages (story id -> URL)."""

    cards: dict[str, CardSet] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    renderer: DigestRenderer | None = None


def write_story_pages(
    ctx: Context, stories: Sequence[Story], report: RunReport, cache: RunCache
) -> dict[str, str]:
    """The archive page of each story, written once per run and only when it changed.

    Returns story id -> page URL for the stories that have one; a page that
    cannot be made is reported and never stops the run.
    """
    todo = list(
        {s.id: s for s in stories if s.id not in cache.pages and s.id not in cache.failed}.values()
    )
    if todo:
        settings = ctx.settings
        cards = make_cards(ctx, todo, report, known=cache.cards)
        links = make_links(todo, STORY_PAGE_CAMPAIGN, settings.share)
        if cache.renderer is None:
            cache.renderer = DigestRenderer(settings)
        timezone = next(iter(settings.lists.values())).timezone if settings.lists else "UTC"
        for story in todo:
            card = cards.get(story.id)
            try:
                page = write_story_page(
                    cache.renderer,
                    story,
                    links=links[story.id],
                    card=card.og if card else None,
                    translations=translations_of(ctx.store, story),
                    timezone=timezone,
                )
            except DistributorError as err:
                cache.failed.add(story.id)
                report.error("archive", story.id, str(err))
                continue
            cache.pages[story.id] = page.url
            if page.written:
                report.story_pages_written += 1
            else:
                report.story_pages_unchanged += 1
    return {s.id: cache.pages[s.id] for s in stories if s.id in cache.pages}


def utm_policy(share: ShareConfig | None) -> UtmPolicy:
    """The UTM tagging of share links from ``[share]``."""
    if share is None:
        return UtmPolicy()
    return UtmPolicy(
        enabled=share.utm,
        source=share.utm_source,
        medium=share.utm_medium,
        campaign=share.utm_campaign,
    )


def make_links(
    stories: Sequence[Story], campaign: str, share: ShareConfig | None = None
) -> dict[str, tuple[ShareLink, ...]]:
    """Share links of each story, tagged for ``campaign``."""
    networks = share.networks if share else tuple(NETWORKS)
    utm = utm_policy(share)
    return {s.id: share_links(s, campaign=campaign, networks=networks, utm=utm) for s in stories}


def compose_for(
    ctx: Context,
    story: Story,
    channel: SocialChannel,
    cards: dict[str, CardSet],
    env: Environment,
) -> Post:
    """The post of ``story`` on ``channel``, with its cards and tagged link."""
    card = cards.get(story.id)
    # utm_source is the network; the file channel has none, so it is named by the channel
    source = channel.name if channel.network == "file" else channel.network
    url = utm_policy(ctx.settings.share).tag(story.url, source, "social")
    return compose_post(
        story,
        channel=channel.name,
        url=url,
        rules=channel.rules(),
        env=env,
        card_path=card.og.path if card else None,
        alt_text=card.og.alt_text if card else "",
        thumb_path=card.thumb.path if card else None,
    )


# --------------------------------------------------------------------- run
def run(
    ctx: Context,
    *,
    list_names: Sequence[str] | None = None,
    dry_run: bool = False,
    edition_key: str | None = None,
) -> RunReport:
    """The daily job: :func:`distributor.service.daily.run` (kept here for old callers)."""
    from distributor.service.daily import run as run_daily

    return run_daily(ctx, list_names=list_names, dry_run=dry_run, edition_key=edition_key)


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


def social_stories(ctx: Context, story_id: str | None = None) -> list[Story]:
    """The stories to post: one story by id, or every published story in any list's window."""
    now = ctx.clock()
    if story_id is not None:
        found = ctx.store.stories_by_id([story_id]).get(story_id)
        return [found] if found else []
    out: dict[str, Story] = {}
    for cfg in ctx.settings.lists.values():
        since = now - timedelta(hours=cfg.max_age_hours)
        for story in ctx.store.published_stories(now=now, since=since):
            out.setdefault(story.id, story)
    return list(out.values())


def excluded_stories(ctx: Context) -> Callable[[Story], bool]:
    """Whether an editor excluded a story (or its translation group): never posted."""
    _, excluded = WebStore(ctx.store).story_flags()
    return lambda story: story.id in excluded or story.group in excluded


def publish_social(
    ctx: Context,
    stories: list[Story],
    report: RunReport,
    *,
    dry_run: bool,
    only_channels: Collection[str] | None = None,
    cache: RunCache | None = None,
) -> list[tuple[str, Story, ComposedPost]]:
    """Share cards and one post per (story, channel, language) not posted before, on
    every channel or on ``only_channels``.

    A dry run composes for every defined channel, enabled or not, records
    nothing, and returns what each network would get.  A real run also
    writes the archive page of every story it posts (:func:`write_story_pages`).
    """
    unknown = sorted(set(only_channels or ()) - set(ctx.settings.social))
    if unknown:
        known = ", ".join(sorted(ctx.settings.social)) or "none"
        raise ConfigError(f"no social channel named {unknown[0]!r} (known: {known})")
    try:
        channels = ctx.all_channels() if dry_run else ctx.enabled_channels()
    except DistributorError as err:
        report.error("social", "channels", str(err))
        return []
    if only_channels is not None:
        channels = {k: v for k, v in channels.items() if k in only_channels}
    cache = cache if cache is not None else RunCache()
    if not dry_run:
        # the social queue (issue 18): the posts are queued, and those whose time has come
        # (at once on "auto" channels without slots) go through the ledger
        from distributor.service.posts import publish_stories

        publish_stories(ctx, stories, report, channels, cache)
        return []
    wanted = [(s, name) for name, ch in channels.items() for s in stories if ch.wants(s.language)]
    if not wanted:
        return []
    cards = make_cards(ctx, list({s.id: s for s, _ in wanted}.values()), report, cache.cards)
    env = DigestRenderer(ctx.settings).env
    previews = []
    for story, name in wanted:
        channel = channels[name]
        post = compose_for(ctx, story, channel, cards, env)
        rules = channel.rules()
        previews.append((name, story, composed_view(post.text, rules)))
    report.posts.skipped += len(wanted)
    return previews
