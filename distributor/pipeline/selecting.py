"""Selection: which new editions a list gets (one per reader language and topic segment),
planned from its readers or from its reader profiles, and their keys.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from distributor.config import ListConfig, Settings
from distributor.models import Edition, Subscriber
from distributor.render import i18n as digest_i18n
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
from distributor.store import sources as source_store
from distributor.store.repository import NewVariant, ReaderProfile
from distributor.store.web import WebStore


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
