"""Share links per network, percent-encoded, with UTM parameters."""

from __future__ import annotations

from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from distributor.models import ShareLink, Story

# network -> (medium, URL pattern with {url} and {text}, already-encoded values)
NETWORKS: dict[str, tuple[str, str]] = {
    "x": ("social", "https://x.com/intent/post?text={text}&url={url}"),
    "facebook": ("social", "https://www.facebook.com/sharer/sharer.php?u={url}"),
    "linkedin": ("social", "https://www.linkedin.com/sharing/share-offsite/?url={url}"),
    "whatsapp": ("social", "https://wa.me/?text={text}%20{url}"),
    "telegram": ("social", "https://t.me/share/url?url={url}&text={text}"),
    "email": ("email", "mailto:?subject={text}&body={url}"),
}


def with_utm(url: str, *, source: str, medium: str, campaign: str) -> str:
    """``url`` with ``utm_*`` set, keeping the rest of its own query."""
    parts = urlsplit(url)
    query = [
        (k, v)
        for k, v in parse_qsl(parts.query, keep_blank_values=True)
        if not k.startswith("utm_")
    ]
    query += [("utm_source", source), ("utm_medium", medium), ("utm_campaign", campaign)]
    return urlunsplit(parts._replace(query=urlencode(query)))


def share_links(
    story: Story, *, campaign: str, networks: tuple[str, ...] = tuple(NETWORKS)
) -> tuple[ShareLink, ...]:
    """One share link per network for a story."""
    out = []
    for network in networks:
        medium, pattern = NETWORKS[network]
        target = with_utm(story.url, source=network, medium=medium, campaign=campaign)
        out.append(
            ShareLink(
                network,
                pattern.format(url=quote(target, safe=""), text=quote(story.title, safe="")),
            )
        )
    return tuple(out)
