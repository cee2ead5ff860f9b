"""Read one feed, JSON Feed, API page or Markdown folder without storing anything.

``distributor stories inspect`` uses this to show an editor what distributor
sees: each normalized story, whether it can be selected, and every problem.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import requests

from distributor.config import (
    ApiSourceConfig,
    FeedSourceConfig,
    JsonFeedSourceConfig,
    MarkdownSourceConfig,
    Settings,
)
from distributor.errors import SourceError
from distributor.models import Story, StoryStatus
from distributor.sources.api import ApiSource
from distributor.sources.base import build_source, contained
from distributor.sources.feed import FeedSource
from distributor.sources.jsonfeed import JsonFeedSource
from distributor.sources.normalize import held_far_ahead

INSPECT = "inspect"


@dataclass(frozen=True, slots=True)
class Inspection:
    """What one location gave, read as one kind of source."""

    location: str
    kind: str
    stories: tuple[Story, ...]
    problems: tuple[str, ...]

    def to_dict(self, now: datetime) -> dict[str, Any]:
        return {
            "location": self.location,
            "kind": self.kind,
            "stories": [story_dict(s, now) for s in self.stories],
            "problems": list(self.problems),
        }


def verdict(story: Story, now: datetime) -> str:
    """Whether selection can take this story, in words."""
    if story.status == StoryStatus.DRAFT:
        return "draft: never selected"
    if story.status == StoryStatus.SCHEDULED or (
        story.published_at is not None and story.published_at > now
    ):
        when = f"{story.published_at:%Y-%m-%d %H:%M} UTC" if story.published_at else "later"
        return f"scheduled: not selected before {when}"
    return "published: can be selected"


def story_dict(story: Story, now: datetime) -> dict[str, Any]:
    """A story as JSON-ready data, with its verdict."""
    return {
        "id": story.id,
        "source": story.source,
        "title": story.title,
        "url": story.url,
        "language": story.language,
        "status": story.status.value,
        "published_at": story.published_at.isoformat() if story.published_at else None,
        "updated_at": story.updated_at.isoformat() if story.updated_at else None,
        "translation_group": story.translation_group,
        "author": story.author,
        "sections": list(story.sections),
        "image_url": story.image_url,
        "summary_text": story.summary_text,
        "verdict": verdict(story, now),
    }


def inspect_location(
    location: str,
    *,
    settings: Settings,
    session: requests.Session,
    now: datetime,
    kind: str | None = None,
    like: str | None = None,
) -> Inspection:
    """Read ``location`` as ``kind`` (guessed when ``None``) or like the source ``like``.

    Raises :class:`SourceError` when the location cannot be read at all.
    """
    is_url = location.lower().startswith(("http://", "https://"))
    if not is_url:
        location = str(Path(location).expanduser().resolve())
    if like is not None:
        base = settings.sources[like]
        field = "path" if isinstance(base, MarkdownSourceConfig) else "url"
        cfg: Any = base.model_copy(update={field: location})
    elif kind == "markdown" or (kind is None and not is_url and Path(location).is_dir()):
        cfg = MarkdownSourceConfig(kind="markdown", path=location)
    elif kind == "api":
        cfg = ApiSourceConfig(kind="api", url=location)
    elif kind == "jsonfeed":
        cfg = JsonFeedSourceConfig(kind="jsonfeed", url=location)
    else:
        cfg = FeedSourceConfig(url=location)
    source = build_source(like or INSPECT, cfg, settings, session)
    if isinstance(source, FeedSource | JsonFeedSource | ApiSource):
        reader: FeedSource | JsonFeedSource | ApiSource = source
        fetched = reader.read(location)
        if kind is None and like is None and fetched.content.lstrip()[:1] in (b"{", b"["):
            reader = _json_source(fetched.content, settings, session, location)
        with contained(reader.name):
            stories, problems = reader.parse(fetched, now)
        held = held_far_ahead(stories, now)
        return Inspection(location, reader.config.kind, tuple(stories), (*problems, *held))
    with contained(source.name):
        result = source.fetch(now)
    held = held_far_ahead(result.stories, now)
    return Inspection(location, source.config.kind, result.stories, (*result.problems, *held))


def _json_source(
    content: bytes, settings: Settings, session: requests.Session, location: str
) -> JsonFeedSource:
    try:
        doc = json.loads(content)
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise SourceError(INSPECT, f"{location} looks like JSON but is not: {err}") from err
    except RecursionError as err:
        raise SourceError(INSPECT, f"{location} is JSON nested too deeply to read") from err
    except ValueError as err:  # a number of thousands of digits
        raise SourceError(INSPECT, f"{location} is JSON with a number too long to read") from err
    if isinstance(doc, dict) and str(doc.get("version", "")).startswith("https://jsonfeed.org/"):
        return JsonFeedSource(
            INSPECT, JsonFeedSourceConfig(kind="jsonfeed", url=location), settings, session
        )
    raise SourceError(
        INSPECT,
        f"{location} is JSON but not a JSON Feed; to read it as a CMS API, "
        "give --source NAME of an api source whose field mapping fits",
    )
