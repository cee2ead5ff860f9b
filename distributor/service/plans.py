"""What the editions' use cases and the daily job share: an edition's ledger variants
(stories, sanitized intro, subject), free keys, the held report, settling sent editions.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from html.parser import HTMLParser

import nh3
from markdown_it import MarkdownIt

from distributor import pipeline
from distributor.config import ListConfig
from distributor.errors import EditionError, UnknownListError
from distributor.models import (
    OPEN_PLAN_STATES,
    Edition,
    PlannedEdition,
    PlannedVariant,
    PlanState,
    Story,
)
from distributor.render.digest import DigestRenderer, Variant
from distributor.report import RunReport
from distributor.selection import normalize_language
from distributor.service.context import Context
from distributor.share.links import edition_campaign
from distributor.store.editions import EditionStore, NewPlan
from distributor.store.repository import NewVariant

REGULAR, ONE_OFF = "regular", "one_off"
OPEN_STATES = OPEN_PLAN_STATES
#: what the intro's Markdown may become (mail clients and our sanitizer agree on these)
INTRO_TAGS = {"p", "br", "strong", "em", "b", "i", "a", "ul", "ol", "li", "blockquote", "h3"}
_MARKDOWN = MarkdownIt("commonmark", {"html": True, "linkify": False})


def list_config(ctx: Context, list_name: str) -> ListConfig:
    if list_name not in ctx.settings.lists:
        known = ", ".join(sorted(ctx.settings.lists))
        raise UnknownListError(f"no list named {list_name!r} (known: {known})")
    return ctx.settings.lists[list_name]


def render_variant(
    ctx: Context, edition: Edition, stories: Sequence[Story], cfg: ListConfig
) -> tuple[DigestRenderer, Variant]:
    """One variant rendered once, with the run's own share links (``[share]``: UTM tags,
    networks): previews, test sends and the real send all render through here."""
    renderer = DigestRenderer(ctx.settings)
    campaign = edition_campaign(edition.list_name, edition.key)
    links = pipeline.make_links(list(stories), campaign, ctx.settings.share)
    return renderer, renderer.render(edition, list(stories), links, cfg)


def stories_of(ctx: Context, edition: PlannedEdition) -> dict[str, Story]:
    """Every story an edition's variants carry, by id."""
    ids = sorted({i for v in edition.variants for i in v.story_ids})
    return ctx.store.stories_by_id(ids)


def ledger_variants(ctx: Context, edition: PlannedEdition) -> list[NewVariant]:
    """The stored variants as the ledger writes them: stories, intro and subject."""
    cfg = list_config(ctx, edition.list_name)
    by_id = stories_of(ctx, edition)
    default = normalize_language(cfg.fallback_language or ctx.settings.newsroom.default_language)
    out = []
    for v in edition.variants:
        stories = [by_id[i] for i in v.story_ids if i in by_id]
        text = edition.intros.get(v.language)
        if text is None and edition.intro_fallback:
            text = edition.intros.get(default)
        out.append(
            NewVariant(
                v.language,
                v.segment,
                stories,
                intro_html=intro_html(text, v.language) if text else "",
                intro_text=text.strip() if text else "",
                subject=edition.subjects.get(v.language, ""),
            )
        )
    return out


def free_key(ctx: Context, list_name: str, base: str) -> str:
    """``base``, or ``base.2``, ``base.3``...: a key no edition of the list uses."""
    used = EditionStore(ctx.store).keys(list_name)
    key = ctx.store.next_edition_key(list_name, base)
    n = int(key.rsplit(".", 1)[1]) if key != base else 1
    while key in used:
        n += 1
        key = f"{base}.{n}"
    return key


def planned_variant(
    language: str, segment: str, stories: Sequence[Story], readers: int = 0
) -> PlannedVariant:
    return PlannedVariant(language, segment, tuple(s.id for s in stories), readers)


def record_run_edition(
    ctx: Context, list_name: str, key: str, variants: Sequence[PlannedVariant], by: str
) -> PlannedEdition:
    """The stored edition of a list with ``approval = "auto"`` made and sent at once by a
    run (today's behaviour, now visible as an edition)."""
    now = ctx.clock()
    return EditionStore(ctx.store).create(
        NewPlan(
            list_name=list_name,
            key=key,
            kind=REGULAR,
            state=PlanState.SENDING,
            variants=variants,
            send_at=now,
            created_by=by,
        ),
        now,
    )


def hold_report(ctx: Context, list_name: str, report: RunReport) -> None:
    """Say in the report which editions of the list wait for an editor (no silent skip)."""
    now = ctx.clock()
    for edition in EditionStore(ctx.store).listing(list_name=list_name, states=[PlanState.DRAFT]):
        if edition.send_at is not None and edition.send_at <= now:
            report.warn(
                "editions",
                f"{list_name}/{edition.key}",
                f"held: edition {edition.id} is not approved (its slot was "
                f"{edition.send_at.isoformat()}); nothing was sent",
            )
            report.held.append(edition.id)


#: a claimed edition with no ledger after this long was interrupted before it sent anything
INTERRUPTED_AFTER = timedelta(minutes=10)


def settle(ctx: Context) -> int:
    """Mark ``sent`` the editions in ``sending`` whose ledger rows are all closed.

    An edition claimed but without a ledger long after (a crash between the claim and
    the ledger's one transaction) sent nothing: it goes back to ``approved`` and the next
    run sends it.  Sending it twice is impossible: the ledger's editions are unique per
    (list, key, language, segment)."""
    store = EditionStore(ctx.store)
    done = 0
    now = ctx.clock()
    for edition in store.listing(states=[PlanState.SENDING], limit=1000):
        ids = ctx.store.edition_ids(edition.list_name, edition.key)
        if not ids:
            if edition.updated_at < now - INTERRUPTED_AFTER:
                store.claim(
                    edition.id,
                    from_states=(PlanState.SENDING,),
                    to_state=PlanState.APPROVED,
                    who="ledger",
                    action="interrupted",
                    now=now,
                    reason="interrupted before sending; sent by the next run",
                )
            continue
        counts = ctx.store.delivery_counts(ids)
        if counts.pending + counts.sending == 0 and store.claim(
            edition.id,
            from_states=(PlanState.SENDING,),
            to_state=PlanState.SENT,
            who="ledger",
            action="sent",
            now=ctx.clock(),
        ):
            done += 1
    return done


def intro_html(markdown: str, language: str) -> str:
    """The intro's Markdown as mail-safe HTML; refuses markup that would be dropped."""
    rendered = _MARKDOWN.render(markdown)
    found = _tags(rendered) - INTRO_TAGS
    if found:
        names = ", ".join(f"<{t}>" for t in sorted(found))
        raise EditionError(
            f"intro ({language}): {names} cannot go in a digest (allowed: Markdown text, "
            "links, emphasis and lists)"
        )
    return nh3.clean(
        rendered,
        tags=INTRO_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
    ).strip()


class _TagNames(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.names.add(tag)


def _tags(markup: str) -> set[str]:
    parser = _TagNames()
    parser.feed(markup)
    return parser.names
