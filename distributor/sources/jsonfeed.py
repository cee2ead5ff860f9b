"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from distributor.errors import SourceError
from distributor.models import Story
from distributor.sources.base import DocumentSource, Fetched
from distributor.sources.normalize import RawItem, normalize

# our extension object on an item (JSON Feed extensions start with "_")
EXTENSION = "_distributor"


class JsonFeedSource(DocumentSource):
    """A JSON Feed from a URL or a local file.

    Besides the standard fields, an item may carry
    ``"_distributor": {"status": "draft", "translation_group": "..."}``.
    """

    accept = "application/feed+json, application/json;q=0.9, */*;q=0.5"

    def parse(self, fetched: Fetched, now: datetime) -> tuple[tuple[Story, ...], tuple[str, ...]]:
        """Stories and problems from the bytes of one JSON Feed."""
        try:
            doc = json.loads(fetched.content)
        except UnicodeDecodeError as err:
            raise SourceError(self.name, f"not a JSON Feed: not UTF-8 text ({err.reason})") from err
        except json.JSONDecodeError as err:
            raise SourceError(self.name, f"not a JSON Feed: invalid JSON: {err}") from err
        if not isinstance(doc, dict) or not str(doc.get("version", "")).startswith(
            "https://jsonfeed.org/version/"
        ):
            raise SourceError(
                self.name, "not a JSON Feed: no 'version' of https://jsonfeed.org/version/1.x"
            )
        items = doc.get("items")
        if not isinstance(items, list):
            raise SourceError(self.name, "not a JSON Feed: 'items' is not a list")
        problems: list[str] = []
        raws = []
        feed_lang = doc.get("language")
        feed_authors = _authors(doc)
        for index, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                problems.append(f"item {index}: not an object; skipped")
                continue
            found = item.get(EXTENSION)
            ext: dict[str, Any] = found if isinstance(found, dict) else {}
            summary, summary_text = item.get("summary"), True
            body, body_is_text = item.get("content_html"), False
            if not body and item.get("content_text"):
                body, body_is_text = item.get("content_text"), True
            raws.append(
                RawItem(
                    index=index,
                    guid=str(item["id"]) if item.get("id") not in (None, "") else None,
                    url=_str(item.get("url")) or _str(item.get("external_url")),
                    title=_str(item.get("title")) or "",
                    summary=_str(summary) or "",
                    summary_is_text=summary_text,
                    body=_str(body) or "",
                    body_is_text=body_is_text,
                    image=_str(item.get("image")) or _str(item.get("banner_image")),
                    author=(_authors(item) or feed_authors or None),
                    sections=[str(t) for t in item.get("tags", []) if isinstance(t, str | int)],
                    language=_str(item.get("language")) or _str(feed_lang),
                    published=item.get("date_published"),
                    updated=item.get("date_modified"),
                    status=_str(ext.get("status")),
                    translation_group=_str(ext.get("translation_group")),
                )
            )
        stories, item_problems = normalize(raws, self.defaults(), now)
        return tuple(stories), tuple(problems + item_problems)


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _authors(obj: dict[str, Any]) -> str:
    """``authors`` (1.1) or ``author`` (1.0), names joined."""
    authors = obj.get("authors")
    if not isinstance(authors, list):
        authors = [obj["author"]] if isinstance(obj.get("author"), dict) else []
    names = [a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]
    return ", ".join(names)
