"""RSS 0.9x/1.0/2.0 and Atom 1.0 feeds, parsed by feedparser."""

from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime
from typing import Any

import feedparser

from distributor.errors import SourceError
from distributor.sources.base import DocumentSource, Fetched
from distributor.sources.normalize import RawItem, normalize

_ZONED_RFC822 = re.compile(r"\d:\d\d(:\d\d)?\s+([A-Z]{1,5}|[+-]\d{4})\s*$", re.I)
_HTML = re.compile(rb"^\s*(<!--.*?-->\s*)*(<!doctype\s+html|<html)", re.I | re.S)


class FeedSource(DocumentSource):
    """An RSS or Atom feed from a URL or a local file."""

    accept = "application/atom+xml, application/rss+xml, application/xml;q=0.9, */*;q=0.5"

    def parse(self, fetched: Fetched, now: datetime) -> tuple[tuple[Any, ...], tuple[str, ...]]:
        """Stories and problems from the bytes of one feed."""
        data = fetched.content
        if not data.strip():
            raise SourceError(
                self.name, f"not a readable RSS or Atom feed: {fetched.location} is empty"
            )
        headers = {"content-type": fetched.content_type} if fetched.content_type else {}
        parsed = feedparser.parse(
            data, sanitize_html=False, resolve_relative_uris=False, response_headers=headers
        )
        version = parsed.get("version") or ""
        if not parsed.entries and not version:
            if _HTML.match(data) or "html" in fetched.content_type.lower():
                raise SourceError(
                    self.name,
                    f"not a readable RSS or Atom feed: {fetched.location} is an HTML page, "
                    "not a feed",
                )
            why = parsed.get("bozo_exception")
            raise SourceError(
                self.name, "not a readable RSS or Atom feed" + (f": {why}" if why else "")
            )
        problems: list[str] = []
        bozo = parsed.get("bozo_exception") if parsed.get("bozo") else None
        # what feedparser flags but reads correctly anyway
        harmless = isinstance(
            bozo, feedparser.CharacterEncodingOverride | feedparser.NonXMLContentType
        )
        if isinstance(bozo, feedparser.CharacterEncodingOverride):
            problems.append(
                f"wrong or missing encoding declaration, read as {parsed.get('encoding')}: {bozo}"
            )
        elif isinstance(bozo, feedparser.NonXMLContentType):
            problems.append(f"served with a non-feed content type ({bozo}); read anyway")
        elif bozo is not None:
            if not parsed.entries:
                raise SourceError(self.name, f"not a readable RSS or Atom feed: {bozo}")
            problems.append(f"malformed XML, read leniently: {bozo}")
        feed_lang = parsed.feed.get("language")
        items = [
            _raw(index, entry, feed_lang) for index, entry in enumerate(parsed.entries, start=1)
        ]
        stories, item_problems = normalize(items, self.defaults(), now)
        if bozo is not None and not harmless and not stories:
            raise SourceError(self.name, f"not a readable RSS or Atom feed: {bozo}")
        return tuple(stories), tuple(problems + item_problems)


def _raw(index: int, entry: Any, feed_lang: str | None) -> RawItem:
    body = ""
    if entry.get("content"):
        body = entry["content"][0].get("value", "")
    language = (
        (entry.get("title_detail") or {}).get("language") or entry.get("language") or feed_lang
    )
    return RawItem(
        index=index,
        guid=entry.get("id") or None,
        url=_own_link(entry) or None,
        title=entry.get("title", ""),
        summary=entry.get("summary", ""),
        body=body,
        image=_image(entry),
        author=entry.get("author") or None,
        sections=[t["term"] for t in entry.get("tags", []) if t.get("term")],
        language=language,
        published=_when(entry, "published"),
        updated=_when(entry, "updated"),
        draft=str(entry.get("app_draft", "")).strip().lower() == "yes",
        alternates=[
            str(link["href"])
            for link in entry.get("links", [])
            if link.get("rel") == "alternate" and link.get("hreflang") and link.get("href")
        ],
    )


def _when(entry: Any, key: str) -> Any:
    """The raw date string (so a missing zone means the source's zone), else feedparser's UTC."""
    # dict.get: bypass feedparser's deprecated updated<->published fallback mapping
    raw = dict.get(entry, key)
    parsed = dict.get(entry, f"{key}_parsed")
    if raw and parsed and _ZONED_RFC822.search(str(raw)):
        # feedparser knows RFC 822's zone names (EST, PDT...)
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    if raw:
        return str(raw)
    if parsed:
        return datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
    return None


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
