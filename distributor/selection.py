"""Which stories go into which edition of a list.

A pure function of its inputs (candidate stories, recipients, what was sent
before, the clock), so every rule can be tested without a database.

An edition has one *variant* per reader language and reader segment (the
set of topics a reader chose; readers without topics form the segment
``""``).  For each variant, in this order:

1. only published stories, with a publish time not in the future;
2. inside the list's window: published since the last edition (or first seen
   since then, for stories a source delivered late), and never older than
   ``max_age`` for the first edition or for late arrivals;
3. per translation group, the version in the reader's language, else the
   next language of the fallback chain (``pt-BR -> pt -> list fallback ->
   newsroom default``); a language also takes its regional variants
   (``en`` readers get an ``en-GB`` story);
4. not already carried by an earlier edition of this list for this variant,
   unless the story is flagged ``resend`` by an editor and was updated after
   it was sent; nor a story whose URL or normalized title was sent;
5. for a segment, only stories in one of its topics (story sections);
6. ranked language first: the stories in the reader's own language (its
   chain without the list fallbacks: ``pt-BR -> pt``) lead and fill first,
   so the lead story and the subject line come from them whenever one
   exists; then editor pin, priority, recency.  A pin (and an exclusion, made
   by the caller) applies to the whole translation group, in every language;
7. stories in other languages only after, as the list's ``fallback`` says:
   ``section`` (the default) and ``fill`` keep them after the reader's own,
   ``none`` leaves them out;
8. duplicates removed (same canonical URL or same normalized title; the
   better-ranked one stays);
9. at most ``max_stories``.

A variant with no story is left out, unless the list sends empty editions.
A variant with no story in its own language follows ``empty_language``:
``fallback`` (the default) sends the stories of the fallback languages,
``skip`` sends nothing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Literal, Protocol

from distributor.models import Story, StoryStatus, Subscriber
from distributor.sources.normalize import normalized_title

Fallback = Literal["section", "fill", "none"]
EmptyLanguage = Literal["skip", "fallback"]


class LanguageOptions(Protocol):
    """A list's language options (a :class:`~distributor.config.ListConfig` has them)."""

    @property
    def fallback(self) -> Fallback: ...

    @property
    def empty_language(self) -> EmptyLanguage: ...


@dataclass(frozen=True, slots=True)
class LanguagePolicy:
    """The default language options: a separate part for other languages; never empty."""

    fallback: Fallback = "section"
    empty_language: EmptyLanguage = "fallback"


DEFAULT_POLICY = LanguagePolicy()


@dataclass(frozen=True, slots=True)
class Candidate:
    """A stored story with what the store knows beyond the source's fields."""

    story: Story
    first_seen_at: datetime | None = None
    pinned: bool = False
    priority: int = 0
    resend: bool = False  # an editor flagged it: send its updates again


@dataclass(frozen=True, slots=True)
class SentHistory:
    """What earlier editions of one list variant carried."""

    groups: Mapping[str, datetime] = field(default_factory=dict)  # group -> last sent at
    urls: frozenset[str] = frozenset()
    titles: frozenset[str] = frozenset()  # normalized


@dataclass(frozen=True, slots=True)
class Window:
    """The list's window: since ``last_edition_at``, never older than ``max_age``."""

    now: datetime
    max_age: timedelta
    last_edition_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class EditionPlan:
    """The stories and recipients of one language (and segment) variant of an edition."""

    language: str
    stories: tuple[Story, ...]
    recipients: tuple[Subscriber, ...]
    segment: str = ""
    #: how many readers the variant has (streamed runs leave ``recipients`` empty)
    readers: int = 0

    @property
    def own_language(self) -> tuple[Story, ...]:
        """The stories in the variant's own language (they come first)."""
        return tuple(s for s in self.stories if speaks(self.language, s.language))


def normalize_language(tag: str) -> str:
    """``pt_br`` / ``PT-br`` -> ``pt-BR``; ``zh-hant`` -> ``zh-Hant``."""
    parts = tag.replace("_", "-").split("-")
    out = [parts[0].lower()]
    for p in parts[1:]:
        out.append(p.upper() if len(p) == 2 else p.title() if len(p) == 4 else p.lower())
    return "-".join(out)


def language_chain(language: str, *fallbacks: str | None) -> list[str]:
    """The languages to try for a reader, most wanted first, without repeats."""
    chain: list[str] = []
    lang = normalize_language(language)
    parts = lang.split("-")
    for i in range(len(parts), 0, -1):
        chain.append("-".join(parts[:i]))
    for fb in fallbacks:
        if fb:
            chain.append(normalize_language(fb))
    return list(dict.fromkeys(chain))


def own_chain(language: str) -> list[str]:
    """A reader's own languages, without the list fallbacks: ``pt-BR`` -> ``pt-BR, pt``."""
    return language_chain(language)


def speaks(reader: str, story: str) -> bool:
    """Whether a story in ``story``'s language is in ``reader``'s own language.

    The reader's tag and its parents match (a ``pt-BR`` reader reads ``pt``),
    and so do regional tags under them (an ``en`` reader reads ``en-GB``).
    """
    lang = normalize_language(story) if story else ""
    for own in own_chain(reader) if reader else []:
        if lang == own or lang.startswith(own + "-"):
            return True
    return False


def resolve_language(tag: str, offered: Sequence[str], default: str) -> str:
    """The configured language nearest to a reader's ``tag``; ``default`` when none is near.

    ``zh-Hant-TW`` -> ``zh`` when ``zh`` is offered; ``xx`` or ``""`` -> ``default``.
    Never raises: a bad tag is just far from every language.
    """
    offered_norm = [normalize_language(o) for o in offered if o]
    if not tag or not tag.strip():
        return normalize_language(default)
    lang = normalize_language(tag.strip())
    if lang in offered_norm:
        return lang
    for parent in own_chain(lang)[1:]:
        if parent in offered_norm:
            return parent
    base = lang.split("-")[0]
    regional = sorted(o for o in offered_norm if o.split("-")[0] == base)
    if regional:
        return regional[0]
    return normalize_language(default)


def topic_key(topic: str) -> str:
    """A topic or section name as compared: case and spacing ignored."""
    return " ".join(topic.casefold().split())


WEEKLY = "weekly"


def segment_of(subscriber: Subscriber, *, weekly: bool = False) -> str:
    """The segment of a reader: their topics, sorted and joined by ``+``; ``""`` for none.

    Readers who chose the weekly digest form their own segments, ``weekly`` or
    ``weekly/<topics>``, with their own history and a week-long window.
    """
    return segment_for_topics(subscriber.topics, weekly=weekly)


def segment_for_topics(topics: Sequence[str], *, weekly: bool = False) -> str:
    """The segment of a reader with these topics (see :func:`segment_of`)."""
    topics = "+".join(sorted({topic_key(t) for t in topics if topic_key(t)}))
    if weekly:
        return f"{WEEKLY}/{topics}" if topics else WEEKLY
    return topics


def segment_topics(segment: str) -> set[str]:
    """The topics of a segment (``weekly/a+b`` -> ``{a, b}``; ``weekly`` -> none)."""
    if segment == WEEKLY:
        return set()
    topics = segment.removeprefix(f"{WEEKLY}/")
    return set(topics.split("+")) if topics else set()


def in_window(c: Candidate, window: Window) -> bool:
    """Rules 1 and 2: published, not in the future, inside the list's window."""
    s = c.story
    if s.status != StoryStatus.PUBLISHED or s.published_at is None:
        return False
    if s.published_at > window.now:
        return False
    oldest = window.now - window.max_age
    last = window.last_edition_at
    if last is None:
        return s.published_at >= oldest
    if s.published_at > last:
        return True
    # a story a source delivered late (the source failed last time, or the CMS
    # backdated it): first seen after the last edition, and not too old
    return c.first_seen_at is not None and c.first_seen_at > last and s.published_at >= oldest


def plan_editions(
    *,
    candidates: Sequence[Story | Candidate],
    recipients: Sequence[Subscriber],
    sent: Mapping[tuple[str, str], SentHistory],
    max_stories: int,
    fallbacks: Sequence[str | None],
    window: Window,
    send_empty: bool = False,
    segment_for: Callable[[Subscriber], str] = segment_of,
    window_for: Callable[[str], Window] | None = None,
    policy: LanguageOptions = DEFAULT_POLICY,
    languages: Sequence[str] = (),
    default_language: str = "en",
) -> list[EditionPlan]:
    """One plan per (reader language, segment) that has at least one new story.

    ``sent`` maps (edition language, segment) to what that variant already
    carried.  With ``send_empty``, variants without new stories get an empty
    plan instead of none.  ``segment_for`` names each reader's segment and
    ``window_for`` gives a segment its own window (weekly readers); by default
    every reader is segmented by topics and every variant uses ``window``.
    ``policy``: the list's ``fallback`` and ``empty_language`` (see the module docstring).  With
    ``languages`` (those the newsroom publishes in), a reader whose language
    is not one of them gets the nearest (:func:`resolve_language`), else
    ``default_language``.
    """
    readers: dict[tuple[str, str], list[Subscriber]] = defaultdict(list)
    for sub in recipients:
        lang = (
            resolve_language(sub.language, languages, default_language)
            if languages
            else normalize_language(sub.language)
        )
        readers[(lang, segment_for(sub))].append(sub)
    plans = plan_variants(
        candidates=candidates,
        variants={v: len(subs) for v, subs in readers.items()},
        sent=sent,
        max_stories=max_stories,
        fallbacks=fallbacks,
        window=window,
        send_empty=send_empty,
        window_for=window_for,
        policy=policy,
    )
    return [replace(p, recipients=tuple(readers[(p.language, p.segment)])) for p in plans]


def plan_variants(
    *,
    candidates: Sequence[Story | Candidate],
    variants: Mapping[tuple[str, str], int],
    sent: Mapping[tuple[str, str], SentHistory],
    max_stories: int,
    fallbacks: Sequence[str | None],
    window: Window,
    send_empty: bool = False,
    window_for: Callable[[str], Window] | None = None,
    policy: LanguageOptions = DEFAULT_POLICY,
) -> list[EditionPlan]:
    """:func:`plan_editions` without the readers: ``variants`` maps (language, segment)
    to its number of readers; the plans carry that number and no recipients."""
    fallback, empty_language = policy.fallback, policy.empty_language
    wrapped = [c if isinstance(c, Candidate) else Candidate(c) for c in candidates]
    by_group: dict[str, dict[str, Candidate]] = defaultdict(dict)
    for c in wrapped:
        s = c.story
        if s.status != StoryStatus.PUBLISHED or s.published_at is None:
            continue
        if s.published_at > window.now:
            continue
        versions = by_group[s.group]
        lang = normalize_language(s.language)
        old = versions.get(lang)
        if old is None or _newer(s, old.story):  # two of one group in one language: the newest
            versions[lang] = c
    # a pin or a priority set on one version holds for every translation of the story
    pinned_groups = {g for g, vs in by_group.items() if any(c.pinned for c in vs.values())}
    priority = {g: max(c.priority for c in vs.values()) for g, vs in by_group.items()}

    plans = []
    for language, segment in sorted(variants):
        history = sent.get((language, segment), SentHistory())
        topics = segment_topics(segment)
        variant_window = window_for(segment) if window_for else window
        chain = language_chain(language, *fallbacks)
        chosen: list[Candidate] = []
        for group, versions in by_group.items():
            pick = _version(versions, chain)
            if pick is None or not _wanted(pick, group, history, variant_window):
                continue
            if topics and not topics & {topic_key(t) for t in pick.story.sections}:
                continue
            if fallback == "none" and not speaks(language, pick.story.language):
                continue
            chosen.append(
                replace(pick, pinned=group in pinned_groups, priority=priority[group])
                if pick.pinned != (group in pinned_groups) or pick.priority != priority[group]
                else pick
            )
        chosen.sort(key=lambda c: _rank(c, language))
        resent = {c.story.id for c in chosen if c.story.group in history.groups}
        stories = _dedupe([c.story for c in chosen], history, resent)[:max_stories]
        if (
            stories
            and empty_language == "skip"
            and not any(speaks(language, s.language) for s in stories)
        ):
            stories = []
        if stories or send_empty:
            plans.append(
                EditionPlan(
                    language, tuple(stories), (), segment, readers=variants[(language, segment)]
                )
            )
    return plans


def _version(versions: Mapping[str, Candidate], chain: Sequence[str]) -> Candidate | None:
    """The version for the first language of the chain that has one.

    A language matches its own tag, then any regional tag under it (an ``en``
    reader takes an ``en-GB`` story when there is no plain ``en`` one).
    """
    for lang in chain:
        if lang in versions:
            return versions[lang]
        regional = sorted(v for v in versions if v.startswith(lang + "-"))
        if regional:
            return versions[regional[0]]
    return None


def _wanted(c: Candidate, group: str, history: SentHistory, window: Window) -> bool:
    sent_at = history.groups.get(group)
    if sent_at is None:
        return in_window(c, window)
    # sent before: only an update an editor flagged for resending, made after the sending
    updated = c.story.updated_at
    return c.resend and updated is not None and updated > sent_at


def _rank(c: Candidate, language: str) -> tuple[int, int, int, float, str]:
    """Own language first, then pin, priority, recency (the id breaks ties)."""
    published = c.story.published_at.timestamp() if c.story.published_at else 0.0
    own = 0 if speaks(language, c.story.language) else 1
    return (own, 0 if c.pinned else 1, -c.priority, -published, c.story.id)


def _newer(a: Story, b: Story) -> bool:
    return (a.updated_at or a.published_at or 0) > (b.updated_at or b.published_at or 0)  # type: ignore[operator]


def _dedupe(stories: list[Story], history: SentHistory, resent: set[str]) -> list[Story]:
    """Drop stories whose URL or normalized title repeats a better-ranked or sent one.

    Flagged updates (``resent``) are compared only with this edition's stories.
    """
    seen_urls: set[str] = set()
    seen_titles: set[str] = set()
    out = []
    for s in stories:
        title = normalized_title(s.title)
        if s.url in seen_urls or title in seen_titles:
            continue
        if s.id not in resent and (s.url in history.urls or title in history.titles):
            continue
        seen_urls.add(s.url)
        seen_titles.add(title)
        out.append(s)
    return out
