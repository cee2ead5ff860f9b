"""The JSON API of reach and engagement (issue 17): ``/api/stats/editions``.

Both routes call :mod:`distributor.service.stats`; the figures are the dashboard's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Response, jsonify, request

from distributor.errors import NotFoundError
from distributor.service import stats as service
from distributor.web.api import bp, problem
from distributor.web.clicks import recorder
from distributor.web.common import deps
from distributor.web.editions import web_context

BASE = "/stats/editions"


@bp.get(BASE)
def stats_editions() -> Any:
    d = deps()
    limit = min(max(request.args.get("limit", 20, type=int) or 20, 1), 200)
    with web_context(d.settings, d.store, d.clock) as ctx:
        rows = service.editions(
            ctx, list_name=request.args.get("list") or None, limit=limit, recorder=recorder()
        )
    return jsonify(editions=[r.to_dict() for r in rows])


@bp.get(BASE + "/<list_name>/<key>")
def stats_edition(list_name: str, key: str) -> Response:
    d = deps()
    try:
        with web_context(d.settings, d.store, d.clock) as ctx:
            found = service.edition(ctx, list_name, key, recorder=recorder())
    except NotFoundError as err:
        return problem(404, "no such edition", str(err))
    return jsonify(found.to_dict())


def openapi_paths(ref: Callable[[str], dict[str, str]], errors: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI paths of these routes (merged into ``/api/openapi.json``)."""
    one = {
        "description": "the edition's figures",
        "content": {"application/json": {"schema": ref("EditionStats")}},
    }
    return {
        BASE: {
            "get": {
                "summary": "Reach of the newest editions: delivered, unique readers, click rate, "
                "per language and story",
                "parameters": [
                    {"name": "list", "in": "query", "schema": {"type": "string"}},
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
                },
            }
        },
        BASE + "/{list}/{key}": {
            "get": {
                "summary": "Reach of one edition",
                "parameters": [
                    {"name": "list", "in": "path", "required": True, "schema": {"type": "string"}},
                    {"name": "key", "in": "path", "required": True, "schema": {"type": "string"}},
                ],
                "responses": {"200": one, **errors, "404": {"description": "no such edition"}},
            }
        },
    }


_COUNTS = {"type": "object", "additionalProperties": {"type": "integer"}}
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
        "social": {"type": "array", "items": {"type": "object"}},
    },
}
