"""The JSON API: bearer tokens (``distributor tokens create``), editions, subscribers.

``POST /api/editions`` runs the job for one list and honors an
``Idempotency-Key`` header: the same key replays the first answer (with
``Idempotent-Replayed: true``), the same key with another body is refused
(422), a key whose first call is still running gets 409.  The OpenAPI
document is served at ``/api/openapi.json`` (no token needed).
"""

from __future__ import annotations

from typing import Any

from email_validator import EmailNotValidError, validate_email
from flask import Blueprint, Response, g, jsonify, request
from werkzeug.exceptions import HTTPException

from distributor import __version__
from distributor.errors import DistributorError
from distributor.models import Subscriber
from distributor.service import readers
from distributor.service.languages import normalize_language
from distributor.service.readers import FREQUENCIES, Preferences
from distributor.web.common import deps
from distributor.web.editions import send_now
from distributor.web.openapi import json_content as _json
from distributor.web.openapi import keyed_change
from distributor.web.openapi import problem as _problem

bp = Blueprint("api", __name__)
PUBLIC = {"api.openapi"}


def problem(status: int, title: str, detail: str = "") -> Response:
    """An error as RFC 9457 problem JSON."""
    resp = jsonify(type="about:blank", title=title, status=status, detail=detail)
    resp.status_code = status
    resp.mimetype = "application/problem+json"
    if status == 401:
        resp.headers["WWW-Authenticate"] = 'Bearer realm="distributor"'
    return resp


@bp.before_request
def authenticate() -> Any:
    if request.endpoint in PUBLIC:
        return None
    auth = request.headers.get("Authorization", "")
    scheme, _, token = auth.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return problem(401, "missing bearer token")
    d = deps()
    name = readers.api_token_name(d.ctx, token.strip())
    if name is None:
        return problem(401, "invalid bearer token")
    g.api_token = name
    return None


@bp.errorhandler(HTTPException)
def http_error(err: HTTPException) -> Response:
    return problem(err.code or 500, err.name, err.description or "")


def body_object() -> dict[str, Any]:
    """The request's JSON body, which must be an object."""
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise Invalid("the body must be a JSON object")
    return data


class Invalid(Exception):
    """A request the API refuses with 422 and this message."""


_body, _Invalid = body_object, Invalid


@bp.errorhandler(Invalid)
def invalid(err: Invalid) -> Response:
    return problem(422, "invalid request", str(err))


# -------------------------------------------------------------------- editions
@bp.get("/editions")
def editions() -> Any:
    d = deps()
    limit = min(max(request.args.get("limit", 50, type=int) or 50, 1), 500)
    rows = readers.edition_figures(d.ctx, list_name=request.args.get("list") or None, limit=limit)
    return jsonify(editions=[r.to_dict() for r in rows])


@bp.get("/editions/<int:edition_id>")
def edition(edition_id: int) -> Any:
    d = deps()
    rows = readers.edition_figures(d.ctx, edition_id=edition_id, limit=1)
    if not rows:
        return problem(404, "no such edition")
    out = rows[0].to_dict()
    out["story_ids"] = readers.edition_story_ids(d.ctx, edition_id)
    return jsonify(out)


@bp.post("/editions")
def trigger() -> Any:
    d = deps()
    body = _body()
    list_name = body.get("list")
    if not isinstance(list_name, str) or list_name not in d.settings.lists:
        raise _Invalid(f"'list' must be one of {sorted(d.settings.lists)}")
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return problem(400, "Idempotency-Key header required", "send a unique key per send")
    if len(key) > 200:
        raise _Invalid("Idempotency-Key is longer than 200 characters")
    try:
        outcome = send_now(
            d,
            list_name=list_name,
            idempotency_key=key,
            scope=f"api:{g.api_token}",
        )
    except DistributorError as err:
        return problem(500, "send failed", str(err))
    if outcome.conflict:
        return problem(422, "Idempotency-Key reused with another request body")
    if outcome.in_progress:
        return problem(409, "a send with this Idempotency-Key is still running")
    resp = jsonify(outcome.response)
    resp.status_code = 200 if outcome.replayed else 201
    if outcome.replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


# ----------------------------------------------------------------- subscribers
@bp.get("/subscribers")
def subscribers() -> Any:
    d = deps()
    rows = readers.entries(
        d.ctx,
        list_name=request.args.get("list") or None,
        query=request.args.get("q") or None,
        status=request.args.get("status") or None,
        limit=min(request.args.get("limit", 100, type=int) or 100, 1000),
        offset=max(request.args.get("offset", 0, type=int) or 0, 0),
    )
    return jsonify(subscribers=[r.to_dict() for r in rows])


def _email(value: Any) -> str:
    if not isinstance(value, str):
        raise _Invalid("'email' is required")
    try:
        return validate_email(value, check_deliverability=False).normalized.lower()
    except EmailNotValidError as err:
        raise _Invalid(f"invalid address: {err}") from err


def _list(value: Any) -> str:
    settings = deps().settings
    if value is None:
        return next(iter(settings.lists))
    if not isinstance(value, str) or value not in settings.lists:
        raise _Invalid(f"'list' must be one of {sorted(settings.lists)}")
    return value


@bp.post("/subscribers")
def add_subscriber() -> Any:
    d = deps()
    body = _body()
    email = _email(body.get("email"))
    list_name = _list(body.get("list"))
    prefs = _prefs(body, None)
    outcome, _sid = readers.add(
        d.ctx,
        list_name,
        Subscriber(0, email, prefs.name, prefs.language, prefs.timezone, prefs.topics),
        prefs.frequency,
    )
    if outcome in ("suppressed", "unsubscribed"):
        return problem(409, f"address is {outcome}", "it is never re-added by an API call")
    entry = readers.entries(d.ctx, list_name=list_name, query=email, limit=1)
    return jsonify(entry[0].to_dict() if entry else {}), 201 if outcome == "added" else 200


def _prefs(body: dict[str, Any], current: Preferences | None) -> Preferences:
    d = deps()
    default = current or Preferences(d.settings.newsroom.default_language, None, (), "daily", "")
    language = body.get("language", default.language)
    if not isinstance(language, str) or not language:
        raise _Invalid("'language' must be a language tag")
    frequency = body.get("frequency", default.frequency)
    if frequency not in FREQUENCIES:
        raise _Invalid(f"'frequency' must be one of {list(FREQUENCIES)}")
    topics = body.get("topics", list(default.topics))
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise _Invalid("'topics' must be a list of strings")
    tz = body.get("timezone", default.timezone)
    if tz is not None:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(str(tz))
        except (ZoneInfoNotFoundError, ValueError) as err:
            raise _Invalid(f"unknown time zone {tz!r}") from err
    name = body.get("name", default.name)
    if not isinstance(name, str):
        raise _Invalid("'name' must be a string")
    return Preferences(
        normalize_language(language), tz, tuple(topics), str(frequency), " ".join(name.split())
    )


@bp.patch("/subscribers/<email>")
def update_subscriber(email: str) -> Any:
    d = deps()
    sub = readers.subscriber_by_email(d.ctx, _email(email))
    if sub is None:
        return problem(404, "no such subscriber")
    body = _body()
    current = Preferences(
        sub.language, sub.timezone, sub.topics, readers.frequency(d.ctx, sub.id), sub.name
    )
    readers.update_preferences(d.ctx, sub.id, _prefs(body, current))
    return jsonify(subscribers=[e.to_dict() for e in readers.entries(d.ctx, query=sub.email)])


@bp.delete("/subscribers/<email>")
def remove_subscriber(email: str) -> Any:
    """Unsubscribe from one list (``?list=``), or from every list."""
    d = deps()
    sub = readers.subscriber_by_email(d.ctx, _email(email))
    if sub is None:
        return problem(404, "no such subscriber")
    lists = [_list(request.args["list"])] if request.args.get("list") else list(d.settings.lists)
    for name in lists:
        readers.unsubscribe(d.ctx, sub.id, name)
    return jsonify(subscribers=[e.to_dict() for e in readers.entries(d.ctx, query=sub.email)])


# --------------------------------------------------------------------- OpenAPI
@bp.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document(deps().settings.web.base_url))


def openapi_document(base_url: str) -> dict[str, Any]:
    """The OpenAPI 3.1 description of this API."""
    from distributor.web import api_stats  # reach (issue 17): routes on this blueprint

    def ref(name: str) -> dict[str, str]:
        return {"$ref": f"#/components/schemas/{name}"}

    errors = {
        "401": {"description": "missing or invalid bearer token", "content": _problem()},
        "422": {"description": "invalid request", "content": _problem()},
    }
    subscriber_props: dict[str, Any] = {
        "email": {"type": "string", "format": "email"},
        "list": {"type": "string"},
        "name": {"type": "string"},
        "language": {"type": "string", "example": "en"},
        "timezone": {"type": ["string", "null"], "example": "Europe/Paris"},
        "topics": {"type": "array", "items": {"type": "string"}},
        "frequency": {"type": "string", "enum": list(FREQUENCIES)},
    }
    subscriber_in = {"type": "object", "properties": subscriber_props}
    email_param = {"name": "email", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "distributor API", "version": __version__},
        "servers": [{"url": base_url.rstrip("/") + "/api"}],
        "security": [{"bearer": []}],
        "paths": {
            **api_editions.openapi_paths(ref, errors),
            **api_posts.openapi_paths(ref, errors),
            **api_stats.openapi_paths(ref, errors),
            "/editions": {
                "get": {
                    "summary": "List editions with their delivery figures, newest first",
                    "parameters": [
                        {"name": "list", "in": "query", "schema": {"type": "string"}},
                        {"name": "limit", "in": "query", "schema": {"type": "integer"}},
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "editions": {"type": "array", "items": ref("Edition")}
                                },
                            }
                        ),
                        **errors,
                    },
                },
                "post": keyed_change(
                    "Run the job for one list now (at most once per Idempotency-Key)",
                    {
                        "type": "object",
                        "required": ["list"],
                        "properties": {"list": {"type": "string"}},
                    },
                    {
                        "201": _json(ref("SendResult"), "the run's report"),
                        "200": _json(ref("SendResult"), "replay of an earlier call with this key"),
                        "400": {"description": "no Idempotency-Key", "content": _problem()},
                        "409": {"description": "the first call is still running"},
                        **errors,
                    },
                ),
            },
            "/editions/{id}": {
                "get": {
                    "summary": "One edition with its figures and stories",
                    "parameters": [
                        {
                            "name": "id",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "integer"},
                        }
                    ],
                    "responses": {"200": _json(ref("Edition")), "404": {"description": "none"}},
                }
            },
            "/subscribers": {
                "get": {
                    "summary": "Search subscribers",
                    "parameters": [
                        {"name": n, "in": "query", "schema": {"type": t}}
                        for n, t in (
                            ("list", "string"),
                            ("q", "string"),
                            ("status", "string"),
                            ("limit", "integer"),
                            ("offset", "integer"),
                        )
                    ],
                    "responses": {
                        "200": _json(
                            {
                                "type": "object",
                                "properties": {
                                    "subscribers": {"type": "array", "items": ref("Subscriber")}
                                },
                            }
                        ),
                        **errors,
                    },
                },
                "post": {
                    "summary": "Add a subscriber (never re-adds a suppressed or unsubscribed one)",
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": subscriber_in}},
                    },
                    "responses": {
                        "201": _json(ref("Subscriber"), "added"),
                        "200": _json(ref("Subscriber"), "already on the list"),
                        "409": {"description": "suppressed or unsubscribed", "content": _problem()},
                        **errors,
                    },
                },
            },
            "/subscribers/{email}": {
                "patch": {
                    "summary": "Update language, topics, frequency, time zone or name",
                    "parameters": [email_param],
                    "requestBody": {"content": {"application/json": {"schema": subscriber_in}}},
                    "responses": {"200": {"description": "updated"}, **errors},
                },
                "delete": {
                    "summary": "Unsubscribe (from ?list=, or from every list)",
                    "parameters": [
                        email_param,
                        {"name": "list", "in": "query", "schema": {"type": "string"}},
                    ],
                    "responses": {"200": {"description": "unsubscribed"}, **errors},
                },
            },
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {
                "PlannedEdition": api_editions.PLANNED_EDITION_SCHEMA,
                "QueuedPost": api_posts.QUEUED_POST_SCHEMA,
                "EditionStats": api_stats.EDITION_STATS_SCHEMA,
                "Edition": {
                    "type": "object",
                    "properties": {
                        k: {"type": "integer"}
                        for k in (
                            "id",
                            "stories",
                            "recipients",
                            "pending",
                            "sent",
                            "failed",
                            "unknown",
                            "bounced",
                            "complained",
                            "unsubscribed",
                        )
                    }
                    | {
                        "list": {"type": "string"},
                        "key": {"type": "string"},
                        "language": {"type": "string"},
                        "created_at": {"type": "string", "format": "date-time"},
                    },
                },
                "Subscriber": {
                    "type": "object",
                    "properties": subscriber_props
                    | {
                        "id": {"type": "integer"},
                        "status": {
                            "type": "string",
                            "enum": ["pending", "subscribed", "unsubscribed", "suppressed"],
                        },
                    },
                },
                "SendResult": {
                    "type": "object",
                    "properties": {
                        "list": {"type": "string"},
                        "ok": {"type": "boolean"},
                        "report": {"type": "object"},
                    },
                },
            },
        },
    }


# the routes of editions an editor shapes (issue 14) and of the social queue (issue 18)
from distributor.web import api_editions, api_posts  # noqa: E402
