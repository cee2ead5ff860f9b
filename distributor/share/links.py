"""Share links per network, percent-encoded, with UTM parameters.

``utm_source`` is the network, ``utm_medium`` is ``social`` (``email`` for the
mailto link) and ``utm_campaign`` the edition; each can be changed per
network in ``[share]`` of the configuration.  The story URL's own query (and
fragment) are kept byte for byte; only earlier ``utm_*`` pairs are replaced.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from distributor.models import ShareLink, Story

# network -> (default medium, URL pattern; {url} and {text} are filled percent-encoded)
NETWORKS: dict[str, tuple[str, str]] = {
    "x": ("social", "https://x.com/intent/post?text={text}&url={url}"),
    "facebook": ("social", "https://www.facebook.com/sharer/sharer.php?u={url}"),
    "linkedin": ("social", "https://www.linkedin.com/sharing/share-offsite/?url={url}"),
    "whatsapp": ("social", "https://wa.me/?text={text}%20{url}"),
    "telegram": ("social", "https://t.me/share/url?url={url}&text={text}"),
    "reddit": ("social", "https://www.reddit.com/submit?url={url}&title={text}"),
    "bluesky": ("social", "https://bsky.app/intent/compose?text={text}%20{url}"),
    "threads": ("social", "https://www.threads.net/intent/post?text={text}%20{url}"),
    "email": ("email", "mailto:?subject={text}&body={url}"),
}


@dataclass(frozen=True)
class UtmPolicy:
    """How share links are tagged; per-network overrides of source and medium."""

    enabled: bool = True
    source: Mapping[str, str] = field(default_factory=dict)
    medium: Mapping[str, str] = field(default_factory=dict)
    campaign: str | None = None

    def tag(self, url: str, network: str, campaign: str) -> str:
        if not self.enabled:
            return url
        default_medium = NETWORKS[network][0] if network in NETWORKS else "social"
        return with_utm(
            url,
            source=self.source.get(network, network),
            medium=self.medium.get(network, default_medium),
            campaign=self.campaign or campaign,
        )


def with_utm(url: str, *, source: str, medium: str, campaign: str) -> str:
    """``url`` with ``utm_*`` set, keeping the rest of its own query as it was written."""
    parts = urlsplit(url)
    kept = [
        pair
        for pair in parts.query.split("&")
        if pair and not pair.split("=", 1)[0].lower().startswith("utm_")
    ]
    utm = urlencode(
        [("utm_source", source), ("utm_medium", medium), ("utm_campaign", campaign)],
        quote_via=quote,
    )
    return urlunsplit(parts._replace(query="&".join([*kept, utm])))


def edition_campaign(list_name: str, key: str) -> str:
    """An edition's ``utm_campaign`` (``daily-2026-12-02``): its share links carry it, and
    the click redirect rebuilds those links with it."""
    return f"{list_name}-{key}"


def share_links(
    story: Story,
    *,
    campaign: str,
    networks: Sequence[str] = tuple(NETWORKS),
    utm: UtmPolicy | None = None,
) -> tuple[ShareLink, ...]:
    """One share link per network for a story."""
    utm = utm or UtmPolicy()
    out = []
    for network in networks:
        _medium, pattern = NETWORKS[network]
        target = utm.tag(story.url, network, campaign)
        out.append(
            ShareLink(
                network,
                pattern.format(url=quote(target, safe=""), text=quote(story.title, safe="")),
            )
        )
    return tuple(out)
