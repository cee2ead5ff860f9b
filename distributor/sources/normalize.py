"""Normalization shared by every kind of source.

A source turns each item it reads into a :class:`RawItem` (fields as the
source wrote them) and hands the lot to :func:`normalize`, which applies the
same rules everywhere: a stable id, a canonical URL, plain-text titles,
sanitized HTML, a lead image, a BCP 47 language, UTC-aware times, a status
and a translation group.  Bad items are dropped with a reason; nothing here
raises for one item.
"""

from __future__ import annotations

import hashlib
import html
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import langcodes
import nh3

from distributor.models import Story, StoryStatus
from distributor.sources.dates import DateError, UnknownDateForm, read_date

_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")
_TRACKING = re.compile(
    r"^(utm_[a-z0-9_]+|fbclid|gclid|dclid|gbraid|wbraid|msclkid|yclid|mc_cid|mc_eid|igshid"
    r"|_ga|_gl|ref_src)$",
    re.I,
)
# before this a date is a CMS default (0 = 1970-01-01), not a publish time
EPOCH_FLOOR = datetime(1971, 1, 1, tzinfo=UTC)
# further ahead than this a date is suspicious (kept as scheduled, reported)
FAR_FUTURE = timedelta(days=366)

_STATUS_WORDS: dict[str, StoryStatus] = {
    "published": StoryStatus.PUBLISHED,
    "publish": StoryStatus.PUBLISHED,
    "live": StoryStatus.PUBLISHED,
    "public": StoryStatus.PUBLISHED,
    "draft": StoryStatus.DRAFT,
    "pending": StoryStatus.DRAFT,
    "private": StoryStatus.DRAFT,
    "review": StoryStatus.DRAFT,
    "scheduled": StoryStatus.SCHEDULED,
    "future": StoryStatus.SCHEDULED,
    "embargoed": StoryStatus.SCHEDULED,
}


def bounded_int(digits: str) -> int | float:
    """A JSON integer; one of hundreds of digits is read as a float (infinite, if need be).

    Python refuses to read integers of thousands of digits (a ``ValueError`` for the
    whole document); this keeps the problem to the one value (``json.loads(parse_int=)``).
    """
    return int(digits) if len(digits) <= 300 else float(digits)


def plain_text(value: str) -> str:
    """Markup to plain text: tags stripped, entities decoded, whitespace collapsed."""
    text = nh3.clean(value, tags=set())
    return _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", text))).strip()


_URL_ATTRIBUTES = frozenset({"href", "src", "cite", "longdesc"})


def safe_html(value: str, base: str | None = None) -> str:
    """Untrusted HTML sanitized to a safe subset (no scripts, no event handlers).

    With ``base``, relative ``href``/``src`` values are made absolute against
    it (an archive page on our own host must not point at our host).
    """
    if not base:
        return nh3.clean(value, link_rel="noopener noreferrer").strip()

    def absolute(tag: str, attribute: str, url: str) -> str | None:
        if attribute not in _URL_ATTRIBUTES or not url or url.startswith("#"):
            return url
        try:
            return urljoin(base, url.strip())
        except ValueError:  # e.g. a bad IPv6 host: drop the link, keep the text
            return None

    return nh3.clean(value, link_rel="noopener noreferrer", attribute_filter=absolute).strip()


def text_to_html(value: str) -> str:
    """Plain text as HTML paragraphs, escaped."""
    paras = [p.strip() for p in re.split(r"\n\s*\n", value) if p.strip()]
    return "".join(f"<p>{html.escape(p)}</p>" for p in paras)


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """An absolute http(s) URL without tracking parameters or fragment, host lowercased.

    ``None`` when ``url`` is empty or not http(s).
    """
    if not url or not url.strip():
        return None
    try:
        return _canonical(url.strip(), base)
    except ValueError:  # an out-of-range port, a bad IPv6 host: not a usable URL
        return None


def _canonical(url: str, base: str | None) -> str | None:
    if base:
        url = urljoin(base, url)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    netloc = parts.hostname.lower()
    if ":" in netloc:  # an IPv6 address keeps its brackets
        netloc = f"[{netloc}]"
    if parts.port and not (
        (parts.scheme.lower() == "http" and parts.port == 80)
        or (parts.scheme.lower() == "https" and parts.port == 443)
    ):
        netloc = f"{netloc}:{parts.port}"
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    query = urlencode(
        [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if not _TRACKING.match(k)
        ]
    )
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", query, ""))


def language_tag(value: Any) -> str | None:
    """A valid BCP 47 tag in its standard form (``en_us`` -> ``en-US``), else ``None``."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        tag = str(langcodes.standardize_tag(value.strip()))
    except (ValueError, LookupError):
        return None
    return tag if langcodes.tag_is_valid(tag) else None


def parse_time(value: Any, zone: ZoneInfo) -> datetime | None:
    """A UTC-aware datetime from a datetime, a date, an epoch number or a date string.

    Times without a zone are read in ``zone`` (the source's configured zone).
    Raises :class:`~distributor.sources.dates.DateError` (a ``ValueError``)
    for a value that is present but cannot be read exactly.  See
    :mod:`distributor.sources.dates` for the forms and the notes.
    """
    read = read_date(value, zone)
    return read.when if read else None


class _FirstImage(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.src: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img" and self.src is None:
            self.src = dict(attrs).get("src") or None


def first_image(body_html: str) -> str | None:
    """The ``src`` of the first ``<img>`` in some HTML."""
    if "<img" not in body_html:
        return None
    finder = _FirstImage()
    finder.feed(body_html)
    return finder.src


def normalized_title(title: str) -> str:
    """A title reduced for duplicate detection: case, accents' forms, punctuation, spaces."""
    text = unicodedata.normalize("NFKC", title).casefold()
    text = "".join(" " if unicodedata.category(c).startswith("P") else c for c in text)
    return " ".join(text.split())


@dataclass
class RawItem:
    """One item as a source wrote it, before normalization."""

    index: int
    guid: str | None = None
    url: str | None = None
    title: str = ""
    title_is_text: bool = False  # an Atom type="text" title: angle brackets are text
    # no title: a headline is taken from the summary or body (JSON Feed 1.1 allows it)
    headline_from_summary: bool = False
    summary: str = ""
    summary_is_text: bool = False
    body: str = ""
    body_is_text: bool = False
    image: str | None = None
    author: str | None = None
    sections: Sequence[str] = ()
    language: str | None = None
    published: Any = None
    updated: Any = None
    status: str | None = None
    draft: bool = False
    translation_group: str | None = None
    alternates: Sequence[str] = ()  # hreflang alternate links (other languages)
    # the base of relative URLs: xml:base in effect, else the document's URL
    base: str | None = None
    # feedparser's own reading of a date in a form we do not know (used with a note)
    published_lenient: datetime | None = None
    updated_lenient: datetime | None = None


@dataclass(frozen=True, slots=True)
class Defaults:
    """What a source falls back on, and its rules."""

    source: str
    language: str
    zone: ZoneInfo
    translation_pattern: str | None = None
    base_url: str | None = None
    status_values: dict[str, str] = field(default_factory=dict)
    max_items: int | None = None


class Skip(ValueError):
    """Why one item is skipped: ``kind`` names the rule (for a summary), the message the item."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class Normalized:
    """What :func:`normalize` found: the stories, the problems and why items were skipped."""

    stories: list[Story]
    problems: list[str]
    items: int = 0
    skipped: dict[str, int] = field(default_factory=dict)  # kind of skip -> items

    def every_item_skipped(self) -> str | None:
        """When items were read and none became a story: why, in words; else ``None``."""
        if self.stories or not self.items:
            return None
        reasons = ", ".join(
            f"{kind} ({count})" for kind, count in sorted(self.skipped.items(), key=_most)
        )
        first = next((p for p in self.problems if p.endswith("; skipped")), "")
        return f"every item was skipped ({self.items} read): {reasons}" + (
            f"; the first: {first.removesuffix('; skipped')}" if first else ""
        )


def _most(item: tuple[str, int]) -> tuple[int, str]:
    return (-item[1], item[0])


def normalize(
    items: Iterable[RawItem], defaults: Defaults, now: datetime
) -> tuple[list[Story], list[str]]:
    """Normalized stories and the problems found, item by item."""
    found = normalize_all(items, defaults, now)
    return found.stories, found.problems


def normalize_all(items: Iterable[RawItem], defaults: Defaults, now: datetime) -> Normalized:
    """Like :func:`normalize`, with the count of items and of each reason to skip one.

    At most ``defaults.max_items`` items are read; the rest are reported, once.
    """
    stories: list[Story] = []
    alternates: dict[str, Sequence[str]] = {}
    problems: list[str] = []
    seen: dict[str, int] = {}
    skipped: dict[str, int] = {}
    items = list(items)
    cap = defaults.max_items
    if cap is not None and len(items) > cap:
        problems.append(
            f"the source has {len(items)} items; only the first {cap} were read (max_items)"
        )
        items = items[:cap]
    for raw in items:
        where = f"item {raw.index}"
        try:
            story, notes = _story(raw, defaults, now)
        except Skip as err:
            skipped[err.kind] = skipped.get(err.kind, 0) + 1
            problems.append(f"{where}: {err}; skipped")
            continue
        except DateError as err:
            skipped["unreadable date"] = skipped.get("unreadable date", 0) + 1
            problems.append(f"{where}: {err}; skipped")
            continue
        except (ValueError, OverflowError) as err:  # a value no rule above foresaw
            skipped["unreadable item"] = skipped.get("unreadable item", 0) + 1
            problems.append(f"{where}: could not be read ({type(err).__name__}); skipped")
            continue
        problems.extend(f"{where}: {note}" for note in notes)
        if story.id in seen:
            skipped["duplicate id"] = skipped.get("duplicate id", 0) + 1
            problems.append(
                f"{where}: duplicate id {story.id!r} (first in item {seen[story.id]}); skipped"
            )
            continue
        seen[story.id] = raw.index
        stories.append(story)
        alternates[story.url] = raw.alternates
    grouped = _group_translations(stories, alternates, defaults.translation_pattern)
    return Normalized(grouped, problems, len(items), skipped)


def held_far_ahead(stories: Iterable[Story], now: datetime) -> list[str]:
    """A note per story whose publish date is more than a year ahead (an embargo, or a
    typo in the year): it is kept, as scheduled, and never selected before that date.
    These are notes, not warnings: nothing was skipped."""
    return [
        f"{s.id}: publish date {s.published_at:%Y-%m-%d} is far in the future; "
        f"held as scheduled ({s.title[:60]!r})"
        for s in stories
        if s.published_at is not None and s.published_at > now + FAR_FUTURE
    ]


def _story(raw: RawItem, d: Defaults, now: datetime) -> tuple[Story, list[str]]:
    notes: list[str] = []
    title = _SPACE.sub(" ", raw.title).strip() if raw.title_is_text else plain_text(raw.title or "")
    if not title and raw.headline_from_summary:
        title = headline(raw.summary if raw.summary_is_text else plain_text(raw.summary or ""))
        title = title or headline(raw.body if raw.body_is_text else plain_text(raw.body or ""))
        if title:
            notes.append(f"no title; headline taken from the summary ({title[:60]!r})")
    label = f" ({title[:60]!r})" if title else ""
    if not title:
        raise Skip("no title", "no title")
    url = canonical_url(raw.url, raw.base or d.base_url)
    if url is None:
        if raw.url:
            raise Skip(
                "no link",
                f"no link: {raw.url[:80]!r} is not an absolute http(s) URL{label}",
            )
        raise Skip("no link", f"no link{label}")
    published, note = _time(raw.published, raw.published_lenient, d.zone)
    if note:
        notes.append(f"{note}{label}")
    try:
        updated, note = _time(raw.updated, raw.updated_lenient, d.zone)
    except DateError as err:
        if published is None:
            raise
        updated, note = None, f"update date ignored: {err}"
    if note:
        notes.append(f"{note}{label}")
    published = published or updated
    if published is None:
        raise Skip("no publish date", f"no publish date{label}")
    if published < EPOCH_FLOOR:
        raise Skip(
            "implausible date",
            f"publish date {published:%Y-%m-%d} is not plausible (an unset date?){label}",
        )
    if updated is not None and updated < EPOCH_FLOOR:
        updated = None
    status = _status(raw, d)
    if status is None:
        notes.append(f"unknown status {raw.status!r}, treated as a draft{label}")
        status = StoryStatus.DRAFT
    if status == StoryStatus.PUBLISHED and published > now:
        status = StoryStatus.SCHEDULED
    if published > now + FAR_FUTURE and status == StoryStatus.PUBLISHED:
        status = StoryStatus.SCHEDULED  # said as a note by held_far_ahead: the item is kept

    language = language_tag(raw.language)
    if raw.language and language is None:
        notes.append(f"language {raw.language!r} is not a BCP 47 tag; using {d.language}{label}")
    base = raw.base or url
    summary_html = (
        text_to_html(raw.summary) if raw.summary_is_text else safe_html(raw.summary or "", base)
    )
    body_html = text_to_html(raw.body) if raw.body_is_text else safe_html(raw.body or "", base)
    if not summary_html and body_html:
        summary_text = plain_text(body_html)
        summary_text = summary_text[:297] + "..." if len(summary_text) > 300 else summary_text
    else:
        summary_text = plain_text(summary_html)
    image = canonical_url(raw.image, base) if raw.image else None
    if image is None:
        image = canonical_url(first_image(body_html) or first_image(summary_html), base)
    story_id = (raw.guid or "").strip() or url
    if not story_id:  # pragma: no cover - url is always set above
        story_id = hashlib.sha256((title + summary_text).encode()).hexdigest()
    sections = tuple(dict.fromkeys(plain_text(s) for s in raw.sections if s and plain_text(s)))
    return (
        Story(
            id=story_id[:512],
            source=d.source,
            url=url,
            title=title,
            language=language or d.language,
            status=status,
            published_at=published,
            updated_at=updated,
            summary_html=summary_html,
            summary_text=summary_text,
            body_html=body_html,
            image_url=image,
            author=plain_text(raw.author) if raw.author else None,
            sections=sections,
            translation_group=(
                f"t:{raw.translation_group.strip()}"
                if raw.translation_group and raw.translation_group.strip()
                else None
            ),
        ),
        notes,
    )


def _time(
    value: Any, lenient: datetime | None, zone: ZoneInfo
) -> tuple[datetime | None, str | None]:
    """A time and a note; a form we do not know falls back on feedparser's reading, said so."""
    try:
        read = read_date(value, zone)
    except UnknownDateForm:
        if lenient is None:
            raise
        return lenient, (
            f"date {str(value)[:60]!r} is in no standard form; read leniently as "
            f"{lenient:%Y-%m-%d %H:%M} UTC"
        )
    return (read.when, read.note) if read else (None, None)


HEADLINE_CHARS = 100
# a sentence ends at . ! ? before a space or the end, or at a CJK full stop, ! or ?
_SENTENCE = re.compile(r"^(.+?(?:[.!?](?=\s|$)|[\u3002\uff01\uff1f]))")


def headline(text: str) -> str:
    """A headline from a summary: its first sentence, at most :data:`HEADLINE_CHARS`."""
    text = _SPACE.sub(" ", text).strip()
    m = _SENTENCE.match(text)
    if m and len(m.group(1)) <= HEADLINE_CHARS:
        return m.group(1)
    if len(text) <= HEADLINE_CHARS:
        return text
    cut = text[: HEADLINE_CHARS - 1]
    if " " in cut[HEADLINE_CHARS // 2 :]:
        cut = cut[: cut.rindex(" ")]
    return cut.rstrip(" ,;:") + "\u2026"


def _status(raw: RawItem, d: Defaults) -> StoryStatus | None:
    if raw.draft:
        return StoryStatus.DRAFT
    if raw.status is None or raw.status == "":
        return StoryStatus.PUBLISHED
    value = str(raw.status).strip()
    if value in d.status_values:
        return StoryStatus(d.status_values[value])
    return _STATUS_WORDS.get(value.lower())


def _group_translations(
    stories: list[Story], alternates: dict[str, Sequence[str]], pattern: str | None
) -> list[Story]:
    """Translation groups: an explicit field, else the configured URL pattern, else hreflang."""
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

    for story in stories:
        find(story.url)
        for alt in alternates.get(story.url, ()):
            other = canonical_url(alt, story.url)
            if other:
                union(story.url, other)
    sizes: dict[str, int] = {}
    for story in stories:
        sizes[find(story.url)] = sizes.get(find(story.url), 0) + 1
    regex = re.compile(pattern) if pattern else None
    out = []
    for story in stories:
        group = story.translation_group
        if group is None and regex is not None:
            m = regex.search(story.url)
            if m:
                key = m.groupdict().get("key") or (m.group(1) if m.groups() else m.group(0))
                group = f"p:{key}"
        if group is None:
            root = find(story.url)
            if sizes[root] > 1 or alternates.get(story.url):
                group = "g:" + hashlib.sha256(root.encode()).hexdigest()[:20]
        out.append(replace(story, translation_group=group))
    return out
