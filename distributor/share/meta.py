"""``og:*`` and ``twitter:*`` tags for a story page (for archive pages that show a story).

Give it the story, its card and its translations; it returns (property, content)
pairs in order, ready for ``<meta property=... content=...>`` (escape them
where they land; Jinja2's autoescape does).
"""

from __future__ import annotations

from collections.abc import Sequence

from distributor.models import ShareCard, Story


def locale(language: str) -> str:
    """An ``og:locale`` value from a BCP 47 tag: ``pt-BR`` -> ``pt_BR``, ``ar`` -> ``ar``."""
    parts = language.split("-")
    if len(parts) > 1 and len(parts[1]) == 2:
        return f"{parts[0].lower()}_{parts[1].upper()}"
    return parts[0].lower()


def og_tags(
    story: Story,
    *,
    site_name: str,
    card: ShareCard | None,
    card_url: str | None,
    translations: Sequence[Story] = (),
) -> list[tuple[str, str]]:
    """Open Graph and Twitter card tags of one story page."""
    tags = [
        ("og:type", "article"),
        ("og:site_name", site_name),
        ("og:title", story.title),
        ("og:url", story.url),
        ("og:locale", locale(story.language)),
    ]
    if story.summary_text:
        tags.append(("og:description", story.summary_text[:300]))
    tags += [
        ("og:locale:alternate", locale(t.language))
        for t in translations
        if t.language != story.language
    ]
    if card is not None and card_url:
        tags += [
            ("og:image", card_url),
            ("og:image:type", "image/jpeg" if card.path.endswith(".jpg") else "image/png"),
            ("og:image:width", str(card.width)),
            ("og:image:height", str(card.height)),
            ("og:image:alt", card.alt_text),
        ]
    tags += [
        ("twitter:card", "summary_large_image"),
        ("twitter:title", story.title),
    ]
    if card is not None and card_url:
        tags += [("twitter:image", card_url), ("twitter:image:alt", card.alt_text)]
    return tags
