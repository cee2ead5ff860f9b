"""Small builders of the OpenAPI 3.1 document's pieces, shared by the API's routes
(``web/api.py`` and ``web/api_editions.py``): a state change is a POST (or PATCH) with
an ``Idempotency-Key`` header and a JSON body."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

IDEMPOTENCY_KEY: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": True,
    "schema": {"type": "string", "maxLength": 200},
}


def json_content(schema: Mapping[str, Any], description: str = "OK") -> dict[str, Any]:
    """A response whose body is JSON of ``schema``."""
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def problem() -> dict[str, Any]:
    """The content of an RFC 9457 problem answer."""
    return {"application/problem+json": {"schema": {"type": "object"}}}


def keyed_change(
    summary: str,
    body: Mapping[str, Any],
    responses: Mapping[str, Any],
    *,
    parameters: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    """An operation that changes state: ``parameters`` and the Idempotency-Key header,
    a required JSON ``body``."""
    return {
        "summary": summary,
        "parameters": [*parameters, IDEMPOTENCY_KEY],
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": body}},
        },
        "responses": dict(responses),
    }
