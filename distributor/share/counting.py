"""How each network counts the length of a post, and escaping for each.

* **X**: twitter-text v3 weighted length (``twitter-text-parser``): every URL
  counts 23, CJK and emoji weigh 2, limit 280.
* **Bluesky**: at most 300 grapheme clusters and 3,000 UTF-8 bytes; links and
  hashtags are *facets* at UTF-8 byte offsets.
* **Mastodon**: grapheme clusters, every URL counts 23 and a mention counts
  only its ``@user`` part; the limit comes from ``/api/v2/instance``.
* **Threads**: 500, counted in UTF-16 code units (the strictest reading).
* **Telegram**: the visible text after HTML parsing, in UTF-16 code units:
  caption 1,024, message 4,096; sent with ``parse_mode=HTML`` and exactly the
  three escapes Telegram documents (``&lt; &gt; &amp;``).
* **LinkedIn**: "little text" commentary, 3,000 characters; reserved
  characters are escaped with a backslash.
* **Facebook**, **Discord** (2,000), **Slack** (40,000): code points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import regex
from twitter_text import parse_tweet

GRAPHEME = regex.compile(r"\X")
URL = regex.compile(r"https?://[^\s<>\"]+[^\s<>\".,;:!?)\]'’”]")
HASHTAG = regex.compile(r"(?<![\p{L}\p{N}_&/])#([\p{L}\p{M}\p{N}_]*\p{L}[\p{L}\p{M}\p{N}_]*)")
MENTION = regex.compile(r"(?<![\p{L}\p{N}_/])@([A-Za-z0-9_.\-]+)(?:@[A-Za-z0-9.\-]+\.[A-Za-z]+)?")
MASTODON_URL_LENGTH = 23


def graphemes(text: str) -> int:
    """Extended grapheme clusters in ``text``."""
    return len(GRAPHEME.findall(text))


def utf16_units(text: str) -> int:
    """UTF-16 code units of ``text``."""
    return len(text.encode("utf-16-le")) // 2


def x_weighted(text: str) -> int:
    """twitter-text v3 weighted length."""
    return int(parse_tweet(text).weightedLength)


def mastodon_length(text: str, url_length: int = MASTODON_URL_LENGTH) -> int:
    """Mastodon's count: URLs as ``url_length`` (23), remote mentions as their local
    part, grapheme clusters."""
    counted = URL.sub("x" * url_length, text)
    counted = MENTION.sub(lambda m: "@" + m.group(1), counted)
    return graphemes(counted)


def bluesky_length(text: str) -> int:
    return graphemes(text)


def telegram_escape(text: str) -> str:
    """Text for ``parse_mode=HTML``: only ``<``, ``>`` and ``&`` are escaped."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


LINKEDIN_RESERVED = "\\|{}@[]()<>#*_~"


def linkedin_escape(text: str) -> str:
    """LinkedIn "little text": reserved characters take a backslash."""
    return "".join("\\" + ch if ch in LINKEDIN_RESERVED else ch for ch in text)


def slack_escape(text: str) -> str:
    """Slack ``mrkdwn``: ``&``, ``<`` and ``>`` become entities."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass(frozen=True)
class Rules:
    """How one network counts a post and where the link goes."""

    network: str
    limit: int
    count: Callable[[str], int]
    byte_limit: int | None = None
    link_in_text: bool = True
    unit: str = "characters"

    def measure(self, text: str) -> int:
        return self.count(text)

    def fits(self, text: str) -> bool:
        if self.count(text) > self.limit:
            return False
        return self.byte_limit is None or len(text.encode("utf-8")) <= self.byte_limit


def rules_for(network: str, *, limit: int | None = None, caption: bool = True) -> Rules:
    """The counting rules of ``network`` (``limit`` overrides the default limit)."""
    table: dict[str, Rules] = {
        "x": Rules("x", 280, x_weighted, unit="weighted characters"),
        "bluesky": Rules("bluesky", 300, bluesky_length, byte_limit=3000, unit="graphemes"),
        "mastodon": Rules("mastodon", 500, mastodon_length, unit="characters (URL = 23)"),
        "threads": Rules("threads", 500, utf16_units, unit="UTF-16 units"),
        "telegram": Rules("telegram", 1024 if caption else 4096, utf16_units, unit="UTF-16 units"),
        "linkedin": Rules("linkedin", 3000, len, link_in_text=False),
        "facebook": Rules("facebook", 63206, len, link_in_text=False),
        "discord": Rules("discord", 2000, len),
        "slack": Rules("slack", 40000, len),
        "file": Rules("file", 500, len),
    }
    rules = table.get(network, Rules(network, 500, len))
    if limit is not None:
        rules = Rules(
            rules.network, limit, rules.count, rules.byte_limit, rules.link_in_text, rules.unit
        )
    return rules


@dataclass(frozen=True, slots=True)
class Facet:
    """A Bluesky rich-text facet: UTF-8 byte range and its feature."""

    byte_start: int
    byte_end: int
    kind: str  # "link" | "tag"
    value: str

    def to_record(self) -> dict[str, object]:
        feature: dict[str, str] = (
            {"$type": "app.bsky.richtext.facet#link", "uri": self.value}
            if self.kind == "link"
            else {"$type": "app.bsky.richtext.facet#tag", "tag": self.value}
        )
        return {
            "index": {"byteStart": self.byte_start, "byteEnd": self.byte_end},
            "features": [feature],
        }


def bluesky_facets(text: str) -> list[Facet]:
    """Link and hashtag facets of ``text`` at UTF-8 byte offsets."""
    facets: list[Facet] = []

    def span(start: int, end: int) -> tuple[int, int]:
        return len(text[:start].encode("utf-8")), len(text[:end].encode("utf-8"))

    taken: list[tuple[int, int]] = []
    for m in URL.finditer(text):
        b0, b1 = span(m.start(), m.end())
        facets.append(Facet(b0, b1, "link", m.group(0)))
        taken.append((m.start(), m.end()))
    for m in HASHTAG.finditer(text):
        if any(a <= m.start() < b for a, b in taken):
            continue
        tag = m.group(1)
        if len(tag) > 64:
            continue
        b0, b1 = span(m.start(), m.end())
        facets.append(Facet(b0, b1, "tag", tag))
    return sorted(facets, key=lambda f: f.byte_start)
