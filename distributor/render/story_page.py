"""Story archive pages: one static HTML page per story (and so per language).

A page sits at ``data_dir/archive/stories/<name>.html`` where ``<name>`` is
the first 16 hex digits of the SHA-256 of the story id (:func:`story_page_name`):
stable across runs and edits, safe in a URL and a file name, and it does not
reveal the source's id scheme.  The Open Graph card shown in ``og:image`` is
copied (hard-linked where possible) next to the pages, under
``archive/stories/cards/`` with its content-hash name, so a static file server
of the archive folder serves everything; the public URLs are
``web.archive_url`` (default ``web.base_url`` + ``/archive``) + ``/stories/...``.

The page has the headline, byline, section and a Babel-localized date, the
summary or body HTML (sanitized by nh3 at ingestion, and again here), a link
to the original story, the share links of every configured network (tagged
with UTM, campaign ``archive`` unless ``[share] utm_campaign`` says otherwise),
``lang``/``dir``, and in ``<head>`` the tags of :func:`distributor.share.meta.og_tags`
(image size, alt, ``og:locale`` and ``og:locale:alternate`` for the
translations) with ``twitter:card`` ``summary_large_image``.

Pages are cached by content: a page is rewritten only when its HTML changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from distributor.config import Settings
from distributor.errors import RenderError
from distributor.models import ShareCard, ShareLink, Story
from distributor.render import i18n
from distributor.render.digest import _NETWORK_LABELS, DigestRenderer
from distributor.share.meta import og_tags
from distributor.sources.normalize import safe_html

TEMPLATE = "archive/story.html.j2"
#: utm_campaign of the share links on story pages (unless ``[share] utm_campaign`` is set)
CAMPAIGN = "archive"


@dataclass(frozen=True, slots=True)
class StoryPage:
    """A written (or unchanged) story page: where it is, its public URL."""

    story_id: str
    path: Path
    url: str
    written: bool


def story_page_name(story_id: str) -> str:
    """The stable file name (without ``.html``) of a story's page."""
    return hashlib.sha256(story_id.encode("utf-8")).hexdigest()[:16]


def archive_base(settings: Settings) -> str:
    """The public URL of ``data_dir/archive``."""
    web = settings.web
    return (web.archive_url or f"{web.base_url.rstrip('/')}/archive").rstrip("/")


def story_page_url(settings: Settings, story_id: str) -> str:
    """Where the page of a story is served."""
    return f"{archive_base(settings)}/stories/{story_page_name(story_id)}.html"


def story_page_path(settings: Settings, story_id: str) -> Path:
    """Where the page of a story is written."""
    return settings.data_path("archive") / "stories" / f"{story_page_name(story_id)}.html"


def _publish_card(settings: Settings, card: ShareCard) -> str:
    """Put the card next to the story pages (once: its name is a content hash); its URL."""
    source = Path(card.path)
    target = settings.data_path("archive") / "stories" / "cards" / source.name
    if not target.is_file():
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.unlink(missing_ok=True)
        try:
            os.link(source, tmp)
        except OSError:  # another file system, or no hard links: a copy
            shutil.copyfile(source, tmp)
        os.replace(tmp, target)
    return f"{archive_base(settings)}/stories/cards/{source.name}"


def render_story_page(
    renderer: DigestRenderer,
    story: Story,
    *,
    links: Sequence[ShareLink],
    card: ShareCard | None,
    card_url: str | None,
    translations: Sequence[Story] = (),
    timezone: str = "UTC",
) -> str:
    """The HTML of one story page."""
    settings = renderer.settings
    lang = story.language
    translations_ = renderer.catalogs.translations(lang)
    others = [t for t in translations if t.id != story.id and t.language != lang]
    body = story.body_html or story.summary_html
    ctx: dict[str, Any] = {
        "story": story,
        "lang": lang,
        "dir": i18n.direction(lang),
        "font_stack": i18n.font_stack(lang),
        "newsroom": settings.newsroom,
        "date": (
            i18n.short_datetime(story.published_at, lang, timezone) if story.published_at else ""
        ),
        # relative links and images absolute against the story's own URL: on our
        # archive host they would point at us (stories stored before issue 16 have them)
        "body_html": safe_html(body, base=story.url) if body else "",
        "links": list(links),
        "share_label": lambda n: str(translations_.gettext("Email")) if n == "email" else _label(n),
        "meta": og_tags(
            story,
            site_name=settings.newsroom.name,
            card=card,
            card_url=card_url,
            translations=translations,
        ),
        "card": card,
        "card_url": card_url,
        "page_url": story_page_url(settings, story.id),
        "alternates": [(t.language, story_page_url(settings, t.id)) for t in others],
    }
    try:
        page = renderer.environment(lang).get_template(TEMPLATE).render(ctx)
    except Exception as err:  # jinja2 TemplateError and errors raised while rendering
        raise RenderError(f"story page {story.id}: {err}") from err
    return page if page.endswith("\n") else page + "\n"


def _label(network: str) -> str:
    return _NETWORK_LABELS.get(network, network.replace("_", " ").title())


def write_story_page(
    renderer: DigestRenderer,
    story: Story,
    *,
    links: Sequence[ShareLink],
    card: ShareCard | None,
    translations: Sequence[Story] = (),
    timezone: str = "UTC",
) -> StoryPage:
    """Render the page of ``story`` and write it (atomically) if it changed."""
    settings = renderer.settings
    try:
        card_url = _publish_card(settings, card) if card is not None else None
    except OSError as err:
        raise RenderError(f"card of story page {story.id}: {err}") from err
    page = render_story_page(
        renderer,
        story,
        links=links,
        card=card,
        card_url=card_url,
        translations=translations,
        timezone=timezone,
    )
    path = story_page_path(settings, story.id)
    url = story_page_url(settings, story.id)
    data = page.encode("utf-8")
    try:
        if path.is_file() and path.read_bytes() == data:
            return StoryPage(story.id, path, url, written=False)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    except OSError as err:
        raise RenderError(f"story page {story.id}: {err}") from err
    return StoryPage(story.id, path, url, written=True)
