"""Which stories go into which edition of a list.

A pure function of its inputs (candidate stories, recipients, what was sent
before), so every rule can be tested without a database.

Rules:
- only stories the store calls published, with a publish time not in the future
  and inside the list's window (``max_age_hours``);
- stories are grouped by translation group; a group already carried by an
  earlier edition of this list *in this language* is not sent again;
- each reader language gets one edition; its stories are, per group, the
  version in the reader's language, else the next language of the fallback
  chain (``pt-BR -> pt -> list fallback -> newsroom default``);
- newest first, at most ``max_stories``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from distributor.models import Story, Subscriber


@dataclass(frozen=True, slots=True)
class EditionPlan:
    """The stories and recipients of one language variant of an edition."""

    language: str
    stories: tuple[Story, ...]
    recipients: tuple[Subscriber, ...]


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


def plan_editions(
    *,
    candidates: Sequence[Story],
    recipients: Sequence[Subscriber],
    sent_groups: Mapping[str, set[str]],
    max_stories: int,
    fallbacks: Sequence[str | None],
) -> list[EditionPlan]:
    """One plan per reader language that has at least one new story.

    ``candidates`` are already limited to published stories inside the window;
    ``sent_groups`` maps an edition language to the groups it already carried.
    """
    by_group: dict[str, dict[str, Story]] = defaultdict(dict)
    for story in candidates:
        versions = by_group[story.group]
        lang = normalize_language(story.language)
        # two stories of one group in one language: keep the newest
        old = versions.get(lang)
        if old is None or _newer(story, old):
            versions[lang] = story

    readers: dict[str, list[Subscriber]] = defaultdict(list)
    for sub in recipients:
        readers[normalize_language(sub.language)].append(sub)

    plans = []
    for language in sorted(readers):
        chain = language_chain(language, *fallbacks)
        already = sent_groups.get(language, set())
        chosen: list[Story] = []
        for group, versions in by_group.items():
            if group in already:
                continue
            for lang in chain:
                if lang in versions:
                    chosen.append(versions[lang])
                    break
        chosen.sort(key=lambda s: (s.published_at is not None, s.published_at, s.id), reverse=True)
        chosen = _dedupe(chosen)[:max_stories]
        if chosen:
            plans.append(EditionPlan(language, tuple(chosen), tuple(readers[language])))
    return plans


def _newer(a: Story, b: Story) -> bool:
    return (a.updated_at or a.published_at or 0) > (b.updated_at or b.published_at or 0)  # type: ignore[operator]


def _dedupe(stories: list[Story]) -> list[Story]:
    """Drop stories whose URL or title repeats an earlier (newer) one."""
    seen_urls: set[str] = set()
    seen_titles: set[str] = set()
    out = []
    for s in stories:
        title = " ".join(s.title.casefold().split())
        if s.url in seen_urls or title in seen_titles:
            continue
        seen_urls.add(s.url)
        seen_titles.add(title)
        out.append(s)
    return out
