"""RSS and Atom feeds, parsed by feedparser."""

from __future__ import annotations

import calendar
import hashlib
import re
from datetime import UTC, datetime
from typing import Any

import feedparser

from distributor.errors import SourceError
from distributor.models import Story, StoryStatus
from distributor.sources.base import FetchResult, Source, plain_text, safe_html

_HTTP = re.compile(r"^https?://[^\s/]+", re.I)


class FeedSource(Source):
    """An RSS 0.9x/1.0/2.0 or Atom 1.0 feed from a URL or a local file."""

    def fetch(self, now: datetime) -> FetchResult:
        data = self.read(self.config.url)
        parsed = feedparser.parse(data, sanitize_html=False, resolve_relative_uris=False)
        if not parsed.entries:
            why = parsed.get("bozo_exception")
            detail = f": {why}" if why else ""
            version = parsed.get("version") or ""
            if parsed.get("bozo") or not version:
                raise SourceError(self.name, f"not a readable RSS or Atom feed{detail}")
            return FetchResult(self.name, ())
        feed_lang = (
            parsed.feed.get("language")
            or self.config.language
            or self.settings.newsroom.default_language
        )
        problems: list[str] = []
        stories: list[Story] = []
        seen: set[str] = set()
        for index, entry in enumerate(parsed.entries, start=1):
            try:
                story = self._story(entry, feed_lang, now)
            except ValueError as err:
                problems.append(f"item {index}: {err}; skipped")
                continue
            if story.id in seen:
                problems.append(f"item {index}: duplicate id {story.id!r}; skipped")
                continue
            seen.add(story.id)
            stories.append(story)
        malformed = parsed.get("bozo") and not isinstance(
            parsed.get("bozo_exception"), feedparser.CharacterEncodingOverride
        )
        if malformed and not stories:
            raise SourceError(
                self.name, f"not a readable RSS or Atom feed: {parsed.get('bozo_exception')}"
            )
        if malformed:
            problems.insert(0, f"malformed XML, read leniently: {parsed.get('bozo_exception')}")
        return FetchResult(
            self.name, tuple(_group_translations(stories, parsed.entries)), tuple(problems)
        )

    def _story(self, entry: Any, feed_lang: str, now: datetime) -> Story:
        title = plain_text(entry.get("title", ""))
        if not title:
            raise ValueError("no title")
        url = _own_link(entry)
        if not url:
            raise ValueError(f"no link ({title[:60]!r})")
        if not _HTTP.match(url):
            raise ValueError(f"no link: {url[:80]!r} is not an absolute http(s) URL")
        language = (
            (entry.get("title_detail") or {}).get("language") or entry.get("language") or feed_lang
        )
        # dict.get: bypass feedparser's deprecated updated<->published fallback mapping
        updated = _when(dict.get(entry, "updated_parsed"))
        published = _when(dict.get(entry, "published_parsed")) or updated
        if published is None:
            raise ValueError(f"no publish date ({title[:60]!r})")
        if str(entry.get("app_draft", "")).strip().lower() == "yes":
            status = StoryStatus.DRAFT
        elif published > now:
            status = StoryStatus.SCHEDULED
        else:
            status = StoryStatus.PUBLISHED
        summary = entry.get("summary", "")
        body = ""
        if entry.get("content"):
            body = entry["content"][0].get("value", "")
        summary_html = safe_html(summary)
        story_id = entry.get("id") or url or hashlib.sha256((title + summary).encode()).hexdigest()
        return Story(
            id=str(story_id),
            source=self.name,
            url=url,
            title=title,
            language=str(language),
            status=status,
            published_at=published,
            updated_at=updated,
            summary_html=summary_html,
            summary_text=plain_text(summary_html),
            body_html=safe_html(body),
            image_url=_image(entry),
            author=entry.get("author") or None,
            sections=tuple(t["term"] for t in entry.get("tags", []) if t.get("term")),
        )


def _when(parsed: Any) -> datetime | None:
    if not parsed:
        return None
    return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)


def _own_link(entry: Any) -> str:
    """The entry's own page: the first alternate link without ``hreflang``."""
    for link in entry.get("links", []):
        if link.get("rel", "alternate") == "alternate" and not link.get("hreflang"):
            return str(link.get("href", ""))
    return str(entry.get("link", ""))


def _image(entry: Any) -> str | None:
    for link in entry.get("links", []):
        if link.get("rel") == "enclosure" and str(link.get("type", "")).startswith("image/"):
            return str(link["href"])
    for media in entry.get("media_content", []) + entry.get("media_thumbnail", []):
        if media.get("url"):
            return str(media["url"])
    return None


def _group_translations(stories: list[Story], entries: Any) -> list[Story]:
    """Stories linked by ``hreflang`` alternates share one translation group."""
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        parent.setdefault(x, x)
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def union(a: str, b: str) -> None:
        ra, rb = find(a), find(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    alternates: dict[str, list[str]] = {}
    for entry in entries:
        own = _own_link(entry)
        alternates[own] = [
            str(link["href"])
            for link in entry.get("links", [])
            if link.get("rel") == "alternate" and link.get("hreflang") and link.get("href")
        ]
    for story in stories:
        find(story.url)
        for alt in alternates.get(story.url, []):
            union(story.url, alt)
    sizes: dict[str, int] = {}
    for story in stories:
        root = find(story.url)
        sizes[root] = sizes.get(root, 0) + 1
    out = []
    for story in stories:
        root = find(story.url)
        linked = sizes[root] > 1 or bool(alternates.get(story.url))
        group = "g:" + hashlib.sha256(root.encode()).hexdigest()[:20] if linked else None
        out.append(_replace_group(story, group))
    return out


def _replace_group(story: Story, group: str | None) -> Story:
    from dataclasses import replace

    return replace(story, translation_group=group)
