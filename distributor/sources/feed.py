"""RSS 0.9x/1.0/2.0 and Atom 1.0 feeds, parsed by feedparser.

Relative URLs (links, enclosures, media, and those in HTML content) are
resolved against ``xml:base`` in effect (which feedparser tracks), joined to
the document's own URL.  Dates are read by :mod:`distributor.sources.dates`
from the text the feed wrote; feedparser's own reading is used only for a
form we do not know, and then with a note.
"""

from __future__ import annotations

import calendar
import io
import re
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin

import feedparser

from distributor.errors import SourceError
from distributor.sources.base import DocumentSource, Fetched
from distributor.sources.normalize import RawItem, normalize_all

_ABSOLUTE = re.compile(r"^https?://", re.I)
_DOCTYPE_SUBSET = re.compile(rb"<!DOCTYPE[^\[>]*\[.*?\]\s*>", re.I | re.S)
_PROLOG = 1 << 16  # the DOCTYPE is before the root element: looked for in the first 64 kB
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
        problems: list[str] = []
        # entities declared in the DOCTYPE are not expanded: expat stops a "billion
        # laughs" only after expanding megabytes, which costs seconds of Python callbacks
        subset = _DOCTYPE_SUBSET.search(data, 0, _PROLOG)
        if subset and b"<!ENTITY" in subset.group(0):
            data = data[: subset.start()] + data[subset.end() :]
            problems.append("the feed declares XML entities in its DOCTYPE; they were not expanded")
        headers = {"content-type": fetched.content_type} if fetched.content_type else {}
        # the document's URL is not given to feedparser: it would make every RSS guid
        # that is not a URL into one (changing the id of stories already stored); it
        # is joined below to the xml:base feedparser tracks
        document = fetched.location if _ABSOLUTE.match(fetched.location) else None
        # a stream, never the bytes themselves: feedparser opens a str or bytes that
        # names a file
        parsed = feedparser.parse(
            io.BytesIO(data),
            sanitize_html=False,
            resolve_relative_uris=False,
            response_headers=headers,
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
                raise SourceError(
                    self.name, f"not a readable RSS or Atom feed: malformed XML ({bozo})"
                )
            problems.append(f"malformed XML, read leniently: {bozo}")
        feed_lang = parsed.feed.get("language")
        atom = str(version).startswith("atom")
        items = [
            _raw(index, entry, feed_lang, atom=atom, document=document)
            for index, entry in enumerate(parsed.entries, start=1)
        ]
        found = normalize_all(items, self.defaults(), now)
        why = found.every_item_skipped()
        if why:
            if bozo is not None and not harmless:
                why += " (and the XML is malformed)"
            raise SourceError(self.name, f"not a readable RSS or Atom feed: {why}")
        return tuple(found.stories), tuple(problems + found.problems)


def _raw(
    index: int, entry: Any, feed_lang: str | None, *, atom: bool, document: str | None
) -> RawItem:
    body, body_is_text = "", False
    if entry.get("content"):
        body = entry["content"][0].get("value", "")
        body_is_text = atom and entry["content"][0].get("type") == "text/plain"
    title_detail = entry.get("title_detail") or {}
    summary_detail = entry.get("summary_detail") or {}
    language = title_detail.get("language") or entry.get("language") or feed_lang
    content_base = (entry.get("content") or [{}])[0].get("base")
    base = title_detail.get("base") or summary_detail.get("base") or content_base or ""
    try:
        base = urljoin(document, base) if document else base
    except ValueError:
        base = ""
    base = base if _ABSOLUTE.match(base) else None
    published, published_lenient = _when(entry, "published")
    updated, updated_lenient = _when(entry, "updated")
    return RawItem(
        index=index,
        guid=entry.get("id") or None,
        url=_own_link(entry) or None,
        title=entry.get("title", ""),
        # Atom says what a title is; an RSS title is HTML or text by feedparser's guess
        title_is_text=atom and title_detail.get("type") == "text/plain",
        summary=entry.get("summary", ""),
        summary_is_text=atom and summary_detail.get("type") == "text/plain",
        body=body,
        body_is_text=body_is_text,
        image=_image(entry),
        author=entry.get("author") or None,
        sections=[t["term"] for t in entry.get("tags", []) if t.get("term")],
        language=language,
        published=published,
        updated=updated,
        published_lenient=published_lenient,
        updated_lenient=updated_lenient,
        draft=str(entry.get("app_draft", "")).strip().lower() == "yes",
        alternates=[
            str(link["href"])
            for link in entry.get("links", [])
            if link.get("rel") == "alternate" and link.get("hreflang") and link.get("href")
        ],
        base=base,
    )


def _when(entry: Any, key: str) -> tuple[str | None, datetime | None]:
    """The date as the feed wrote it, and feedparser's UTC reading of it (for unknown forms).

    The text is read by our own rules (zones, offsets, partial dates exactly);
    feedparser's reading treats unknown zone names as UTC, so it is only a
    fallback, used with a note.
    """
    # dict.get: bypass feedparser's deprecated updated<->published fallback mapping
    raw = dict.get(entry, key)
    parsed = dict.get(entry, f"{key}_parsed")
    lenient = None
    if parsed:
        try:
            lenient = datetime.fromtimestamp(calendar.timegm(parsed), tz=UTC)
        except (OverflowError, OSError, ValueError):
            lenient = None
    return (str(raw) if raw else None), lenient


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
