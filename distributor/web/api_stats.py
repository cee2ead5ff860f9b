"""The JSON API of reach and engagement (issue 17): ``/api/stats/editions``.

Both routes call :mod:`distributor.service.stats`; the figures are the dashboard's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import jsonify, request

from distributor.service import stats as service
from distributor.web.api import bp, problem
from distributor.web.clicks import recorder
from distributor.web.common import deps

BASE = "/stats/editions"


@bp.get(BASE)
def stats_editions() -> Any:
    d = deps()
    limit = min(max(request.args.get("limit", 20, type=int) or 20, 1), 200)
    list_name, key = request.args.get("list") or None, request.args.get("key") or None
    if key and not list_name:
        return problem(422, "invalid request", "'key' needs 'list'")
    with d.context() as ctx:
        rows = service.editions(ctx, list_name=list_name, key=key, limit=limit, recorder=recorder())
    if key and not rows:
        return problem(404, "no such edition", f"no edition {key} of list {list_name!r} was sent")
    return jsonify(editions=[r.to_dict() for r in rows])


def openapi_paths(ref: Callable[[str], dict[str, str]], errors: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI paths of these routes (merged into ``/api/openapi.json``)."""
    return {
        BASE: {
            "get": {
                "summary": "Reach of the newest editions: delivered, unique readers, click rate, "
                "per language and story",
                "parameters": [
                    {"name": "list", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "key",
                        "in": "query",
                        "description": "one edition of ``list`` (404 when it was not sent)",
                        "schema": {"type": "string"},
                    },
                    {"name": "limit", "in": "query", "schema": {"type": "integer", "maximum": 200}},
                ],
                "responses": {
                    "200": {
                        "description": "newest first",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "properties": {
                                        "editions": {"type": "array", "items": ref("EditionStats")}
                                    },
                                }
                            }
                        },
                    },
                    **errors,
                    "404": {"description": "no such edition (with ``key``)"},
                },
            }
        },
    }


_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}
#: a network's count: null when not read yet or not exposed by that network
_MAYBE_INT = {"type": ["integer", "null"]}
EDITION_STATS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "list": {"type": "string"},
        "key": {"type": "string"},
        "created_at": {"type": "string", "format": "date-time"},
        "tracking": {"type": "string", "enum": ["aggregate", "per_reader", "off"]},
        "delivered": {"type": "integer"},
        "clicks": {"type": "integer"},
        "unique_readers": {"type": "integer"},
        "click_rate": {"type": "number", "description": "unique readers / delivered"},
        "machine": {"type": "integer", "description": "scanner, prefetch and flood requests"},
        "shares": _COUNTS,
        "languages": {"type": "object", "additionalProperties": {"type": "object"}},
        "top_stories": {"type": "array", "items": {"type": "object"}},
        "hourly": {"type": "array", "items": {"type": "integer"}, "maxItems": 48},
        "variants": {"type": "array", "items": {"type": "object"}},
        "social": {
            "type": "array",
            "description": "the edition's stories' social posts that went out, busiest first",
            "items": {
                "type": "object",
                "properties": {
                    "story_id": {"type": "string"},
                    "title": {"type": "string"},
                    "channel": {"type": "string"},
                    "language": {"type": "string"},
                    "posted_at": {"type": ["string", "null"], "format": "date-time"},
                    "likes": _MAYBE_INT,
                    "reposts": _MAYBE_INT,
                    "replies": _MAYBE_INT,
                    "quotes": _MAYBE_INT,
                    "fetched_at": {"type": ["string", "null"], "format": "date-time"},
                },
            },
        },
    },
}
