"""JSON Feed 1.0 and 1.1 (https://www.jsonfeed.org/version/1.1/)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from distributor.errors import SourceError
from distributor.models import Story
from distributor.sources.base import DocumentSource, Fetched
from distributor.sources.normalize import RawItem, bounded_int, normalize_all

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
            doc = json.loads(fetched.content, parse_int=bounded_int)
        except UnicodeDecodeError as err:
            raise SourceError(self.name, f"not a JSON Feed: not UTF-8 text ({err.reason})") from err
        except json.JSONDecodeError as err:
            raise SourceError(self.name, f"not a JSON Feed: invalid JSON: {err}") from err
        except RecursionError as err:
            raise SourceError(self.name, "not a JSON Feed: nested too deeply to read") from err
        except ValueError as err:  # a number of thousands of digits
            raise SourceError(self.name, "not a JSON Feed: a number too long to read") from err
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
        base = fetched.location if fetched.location.lower().startswith("http") else None
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
                    guid=_id(item.get("id")),
                    url=_str(item.get("url")) or _str(item.get("external_url")),
                    title=_str(item.get("title")) or "",
                    headline_from_summary=True,  # JSON Feed 1.1: the title is optional
                    summary=_str(summary) or "",
                    summary_is_text=summary_text,
                    body=_str(body) or "",
                    body_is_text=body_is_text,
                    image=_str(item.get("image")) or _str(item.get("banner_image")),
                    author=(_authors(item) or feed_authors or None),
                    sections=[t for t in _list(item.get("tags")) if isinstance(t, str)],
                    language=_str(item.get("language")) or _str(feed_lang),
                    published=item.get("date_published"),
                    updated=item.get("date_modified"),
                    status=_str(ext.get("status")),
                    translation_group=_str(ext.get("translation_group")),
                    base=base,
                )
            )
        found = normalize_all(raws, self.defaults(), now)
        why = found.every_item_skipped()
        if why:
            raise SourceError(self.name, why)
        return tuple(found.stories), tuple(problems + found.problems)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _id(value: Any) -> str | None:
    """An item's id: a string, or a number written as one (JSON Feed 1.0 feeds do)."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = repr(value)
        return text if len(text) <= 100 else None
    return None


def _authors(obj: dict[str, Any]) -> str:
    """``authors`` (1.1) or ``author`` (1.0), names joined."""
    authors = obj.get("authors")
    if not isinstance(authors, list):
        authors = [obj["author"]] if isinstance(obj.get("author"), dict) else []
    names = [a["name"] for a in authors if isinstance(a, dict) and isinstance(a.get("name"), str)]
    return ", ".join(names)
