"""The JSON API of the social queue (issue 18): ``/api/posts``, the live count, the
calendar and the per-post counts.

Each route calls one function of :mod:`distributor.service.posts` (or its siblings
``calendar`` and ``post_metrics``).  Every change (edit, approve, schedule, move,
post now, cancel) needs an ``Idempotency-Key`` header and carries the ``version`` it
was made on, as for planned editions: a stale version is 409, a text the network
would refuse is 422.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any

from flask import Response, g, jsonify, request

from distributor.errors import (
    ConfigError,
    ConflictError,
    DistributorError,
    NotFoundError,
    PostError,
    PostStateError,
    PostTextError,
)
from distributor.models import PostState
from distributor.redact import settings_redactor
from distributor.service import Context, calendar, post_metrics
from distributor.service import posts as service
from distributor.web.api import Invalid, body_object, bp, problem
from distributor.web.api_editions import _changing
from distributor.web.common import deps

BASE = "/posts"


def _error(err: DistributorError) -> Response:
    if isinstance(err, NotFoundError):
        return problem(404, "not found", str(err))
    if isinstance(err, ConflictError):
        return problem(409, "post changed since your version", str(err))
    if isinstance(err, PostStateError):
        return problem(409, "not in this state", str(err))
    if isinstance(err, PostTextError):
        return problem(422, "the network would refuse this text", str(err))
    if isinstance(err, PostError | ConfigError):
        return problem(422, "invalid request", str(err))
    return problem(500, "failed", str(err))


def _version(body: dict[str, Any]) -> int:
    value = body.get("version")
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid("'version' (an integer: the version you read) is required")
    return value


def _who() -> str:
    return f"api:{g.api_token}"


def _time(ctx: Context, post_id: int, body: dict[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(f"'{name}' must be a time (ISO 8601, or HH:MM in the channel's zone)")
    return service.parse_time(ctx, service.get(ctx, post_id).channel, value)


def _change(action: Callable[[Context, dict[str, Any]], dict[str, Any]]) -> Any:
    return _changing(action, on_error=_error)


def _reading(read: Callable[[Context], Any]) -> Any:
    d = deps()
    try:
        with d.context() as ctx:
            return jsonify(read(ctx))
    except DistributorError as err:
        return _error(err)


@bp.get(BASE)
def posts_list() -> Any:
    state = request.args.get("state")
    states = None
    if state:
        if state not in {str(s) for s in PostState}:
            raise Invalid(f"'state' must be one of {[str(s) for s in PostState]}")
        states = [PostState(state)]

    def read(ctx: Context) -> dict[str, Any]:
        found = service.listing(ctx, channel=request.args.get("channel") or None, states=states)
        return {"posts": [service.describe(ctx, p) for p in found]}

    return _reading(read)


@bp.get(BASE + "/<int:post_id>")
def posts_get(post_id: int) -> Any:
    def read(ctx: Context) -> dict[str, Any]:
        data = service.preview(ctx, post_id)
        data["changes"] = [
            {
                "at": c.at.isoformat(),
                "who": c.who,
                "action": c.action,
                "text_version": c.text_version,
                "text": c.text,
            }
            for c in service.changes(ctx, post_id)
        ]
        return data

    return _reading(read)


@bp.post(BASE + "/count")
def posts_count() -> Any:
    """The live count: a text as the channel's network counts it (no change made)."""
    body = body_object()
    channel, text = body.get("channel"), body.get("text")
    if not isinstance(channel, str) or not isinstance(text, str):
        raise Invalid("'channel' and 'text' (strings) are required")
    return _reading(lambda ctx: service.check_text(ctx, channel, text).to_dict())


@bp.patch(BASE + "/<int:post_id>")
def posts_edit(post_id: int) -> Any:
    def edit(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        text = body.get("text")
        if not isinstance(text, str):
            raise Invalid("'text' (a string) is required")
        done = service.edit(ctx, post_id, text=text, version=_version(body), by=_who())
        return service.describe(ctx, done)

    return _change(edit)


@bp.post(BASE + "/<int:post_id>/approve")
def posts_approve(post_id: int) -> Any:
    def approve(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        return service.describe(
            ctx, service.approve(ctx, post_id, version=_version(body), by=_who())
        )

    return _change(approve)


@bp.post(BASE + "/<int:post_id>/schedule")
def posts_schedule(post_id: int) -> Any:
    def schedule(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        at = _time(ctx, post_id, body, "at")
        if at is None:
            raise Invalid("'at' (ISO 8601 with its offset) is required")
        done = service.schedule(ctx, post_id, at=at, version=_version(body), by=_who())
        return service.describe(ctx, done)

    return _change(schedule)


@bp.post(BASE + "/<int:post_id>/move")
def posts_move(post_id: int) -> Any:
    def move(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        to = _time(ctx, post_id, body, "to")
        done = service.move(ctx, post_id, to=to, version=_version(body), by=_who())
        return service.describe(ctx, done)

    return _change(move)


@bp.post(BASE + "/<int:post_id>/post-now")
def posts_post_now(post_id: int) -> Any:
    def post_now(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        done, report = service.post_now(ctx, post_id, version=_version(body), by=_who())
        report.redact(settings_redactor(ctx.settings))
        errors = report.to_dict().get("errors", [])
        return service.describe(ctx, done) | {"ok": report.ok, "errors": errors}

    return _change(post_now)


@bp.post(BASE + "/<int:post_id>/cancel")
def posts_cancel(post_id: int) -> Any:
    def cancel(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        reason = body.get("reason", "")
        if not isinstance(reason, str):
            raise Invalid("'reason' must be a string")
        done = service.cancel(ctx, post_id, version=_version(body), by=_who(), reason=reason)
        return service.describe(ctx, done)

    return _change(cancel)


@bp.get("/calendar")
def posts_calendar() -> Any:
    start = request.args.get("from")
    try:
        first = date.fromisoformat(start) if start else None
        days = int(request.args.get("days", "7"))
    except ValueError as err:
        raise Invalid("'from' must be YYYY-MM-DD and 'days' an integer") from err
    tz = request.args.get("tz", "UTC")

    def read(ctx: Context) -> dict[str, Any]:
        found = calendar.calendar(ctx, start=first, days=days, tz=tz)
        return {"timezone": tz, "days": [d.to_dict() for d in found]}

    return _reading(read)


@bp.get("/stats/posts")
def posts_stats() -> Any:
    try:
        days = int(request.args.get("days", "30"))
    except ValueError as err:
        raise Invalid("'days' must be an integer") from err

    def read(ctx: Context) -> dict[str, Any]:
        since = ctx.clock() - timedelta(days=days)
        rows = post_metrics.stats(ctx, channel=request.args.get("channel") or None, since=since)
        return {"posts": rows}

    return _reading(read)


QUEUED_POST_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "story": {"type": "string"},
        "title": {"type": ["string", "null"]},
        "channel": {"type": "string"},
        "network": {"type": ["string", "null"]},
        "language": {"type": "string"},
        "state": {"type": "string", "enum": [str(s) for s in PostState]},
        "text": {"type": "string"},
        "text_version": {"type": "integer"},
        "version": {"type": "integer"},
        "at": {"type": ["string", "null"], "format": "date-time"},
        "at_local": {"type": ["string", "null"]},
        "timezone": {"type": "string"},
        "approval": {"type": ["string", "null"], "enum": ["auto", "editor", None]},
        "reason": {"type": ["string", "null"]},
        "error": {"type": ["string", "null"]},
        "posted_version": {"type": ["integer", "null"]},
        "provider_id": {"type": ["string", "null"]},
        "counts": {"type": ["object", "null"]},
    },
}


def openapi_paths(ref: Callable[[str], dict[str, str]], errors: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI paths of these routes (merged into ``/api/openapi.json``)."""
    key = {
        "name": "Idempotency-Key",
        "in": "header",
        "required": True,
        "schema": {"type": "string", "maxLength": 200},
    }
    ident = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    one = {
        "description": "the post",
        "content": {"application/json": {"schema": ref("QueuedPost")}},
    }
    change_errors = {
        **errors,
        "404": {"description": "no such post"},
        "409": {"description": "stale version, or not in a state that allows it"},
        "422": {"description": "the network would refuse the text, or a bad time"},
    }

    def change(summary: str, extra: dict[str, Any], method: str = "post") -> dict[str, Any]:
        body = {
            "type": "object",
            "required": ["version", *[k for k in extra if k in ("text", "at")]],
            "properties": {"version": {"type": "integer"}, **extra},
        }
        return {
            method: {
                "summary": summary,
                "parameters": [ident, key],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": body}},
                },
                "responses": {"200": one, **change_errors},
            }
        }

    time_prop = {"type": "string", "description": "ISO 8601, or HH:MM in the channel's zone"}
    return {
        BASE: {
            "get": {
                "summary": "Queued social posts by time",
                "parameters": [
                    {"name": "channel", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "state",
                        "in": "query",
                        "schema": {"type": "string", "enum": [str(s) for s in PostState]},
                    },
                ],
                "responses": {"200": {"description": "the posts"}, **errors},
            }
        },
        BASE + "/count": {
            "post": {
                "summary": "Count a text as the channel's network counts it (the live count)",
                "requestBody": {
                    "required": True,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "required": ["channel", "text"],
                                "properties": {
                                    "channel": {"type": "string"},
                                    "text": {"type": "string"},
                                },
                            }
                        }
                    },
                },
                "responses": {
                    "200": {"description": "length, limit, unit, ok and the problems"},
                    **errors,
                    "404": {"description": "no such channel"},
                },
            }
        },
        BASE + "/{id}": {
            "get": {
                "summary": "One post as its network would show it, with its changes",
                "parameters": [ident],
                "responses": {"200": {"description": "the post's preview"}, **errors},
            },
            **change("Edit the text (a new text version)", {"text": {"type": "string"}}, "patch"),
        },
        BASE + "/{id}/approve": change("Approve a draft into the next free slot", {}),
        BASE + "/{id}/schedule": change("Pin a post to a time", {"at": time_prop}),
        BASE + "/{id}/move": change("Move a post to a slot (default: the next)", {"to": time_prop}),
        BASE + "/{id}/post-now": change("Post now (once)", {}),
        BASE + "/{id}/cancel": change("Cancel a post", {"reason": {"type": "string"}}),
        "/calendar": {
            "get": {
                "summary": "Upcoming mail editions and posts per day and channel",
                "parameters": [
                    {"name": "tz", "in": "query", "schema": {"type": "string"}},
                    {"name": "from", "in": "query", "schema": {"type": "string", "format": "date"}},
                    {"name": "days", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": {"description": "the days"}, **errors},
            }
        },
        "/stats/posts": {
            "get": {
                "summary": "Posts that went out, with the counts their networks expose",
                "parameters": [
                    {"name": "channel", "in": "query", "schema": {"type": "string"}},
                    {"name": "days", "in": "query", "schema": {"type": "integer"}},
                ],
                "responses": {"200": {"description": "the posts and their counts"}, **errors},
            }
        },
    }
