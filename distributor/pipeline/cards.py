"""Share cards, story archive pages and share links (with their UTM tags)."""

from __future__ import annotations

from collections.abc import Sequence

from distributor.config import ShareConfig
from distributor.errors import DistributorError, ShareError
from distributor.models import ShareLink, Story
from distributor.pipeline.runs import RunCache
from distributor.render.digest import DigestRenderer
from distributor.render.story_page import CAMPAIGN as STORY_PAGE_CAMPAIGN
from distributor.render.story_page import write_story_page
from distributor.report import RunReport
from distributor.service.context import Context
from distributor.share.cards import CardMaker, CardSet
from distributor.share.fetch import AddressPolicy, FetchLimits
from distributor.share.links import NETWORKS, UtmPolicy, share_links
from distributor.store.social import translations_of


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
