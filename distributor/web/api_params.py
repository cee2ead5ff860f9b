"""The API refuses query parameters it does not know (400, naming them).

``GET /api/subscribers?search=ana`` used to answer every subscriber, as if the filter
had been applied (the parameter is ``q``).  The parameters each operation takes are
those its OpenAPI document declares (``in: query``), so the document and the check
cannot disagree.
"""

from __future__ import annotations

import re
from functools import cache

from flask import Response, request

from distributor.web.api import bp, openapi_document, problem

API_PREFIX = "/api"  # where distributor.web.site registers the blueprint
_FLASK_VARIABLE = re.compile(r"<(?:[^:<>]+:)?[^<>]+>")
_OPENAPI_VARIABLE = re.compile(r"\{[^}]+\}")


@cache
def allowed_query() -> dict[tuple[str, str], frozenset[str]]:
    """(path shape, method) -> the query parameters its operation declares."""
    allowed: dict[tuple[str, str], frozenset[str]] = {}
    for path, operations in openapi_document("")["paths"].items():
        shape = _OPENAPI_VARIABLE.sub("{}", path)
        for method, operation in operations.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            names = frozenset(
                p["name"]
                for p in operation.get("parameters", [])
                if isinstance(p, dict) and p.get("in") == "query"
            )
            allowed[(shape, method.upper())] = names
    return allowed


@bp.before_request
def refuse_unknown_query() -> Response | None:
    """400 with the unknown names (and the known ones) when a query has a stray parameter."""
    rule = request.url_rule
    if rule is None or not request.args:
        return None
    shape = _FLASK_VARIABLE.sub("{}", rule.rule.removeprefix(API_PREFIX))
    method = "GET" if request.method == "HEAD" else request.method
    known = allowed_query().get((shape, method))
    if known is None:  # not an operation of the document (the document itself)
        return None
    unknown = sorted(set(request.args) - known)
    if not unknown:
        return None
    takes = ", ".join(sorted(known)) or "none"
    return problem(
        400,
        "unknown query parameter" + ("s" if len(unknown) > 1 else ""),
        f"not known here: {', '.join(unknown)} (this operation takes: {takes})",
    )
