"""The JSON API of editions an editor shapes (issue 14): ``/api/planned-editions``.

Each route calls one function of :mod:`distributor.service.editions`.  Every state
change (create, edit, approve, schedule, cancel, send, test) needs an
``Idempotency-Key`` header: the same key replays the first answer
(``Idempotent-Replayed: true``), the same key with another request is refused (422).
Edits and state changes carry the ``version`` they were made on: a stale one is 409.
(``/api/editions`` stays the delivery history: the ledger's sent variants.)
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from flask import Response, g, jsonify, request

from distributor.errors import (
    ConflictError,
    DistributorError,
    EditionError,
    EditionStateError,
    NotFoundError,
    UnknownListError,
)
from distributor.models import PlanState
from distributor.service import Context, daily
from distributor.service import editions as service
from distributor.web.api import Invalid, body_object, bp, problem
from distributor.web.common import deps
from distributor.web.openapi import keyed_change

BASE = "/planned-editions"


def _error(err: DistributorError) -> Response:
    if isinstance(err, NotFoundError | UnknownListError):
        return problem(404, "not found", str(err))
    if isinstance(err, ConflictError):
        return problem(409, "edition changed since your version", str(err))
    if isinstance(err, EditionStateError):
        return problem(409, "not in this state", str(err))
    if isinstance(err, EditionError):
        return problem(422, "invalid request", str(err))
    return problem(500, "failed", str(err))


def _version(body: dict[str, Any]) -> int:
    value = body.get("version")
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid("'version' (an integer: the version you read) is required")
    return value


def _strings(body: dict[str, Any], name: str) -> list[str]:
    value = body.get(name, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid(f"'{name}' must be a list of story ids")
    return value


def _by_lang(body: dict[str, Any], name: str) -> dict[str, str] | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise Invalid(f"'{name}' must map languages to text")
    return {str(k): v for k, v in value.items()}


def _changing(
    action: Callable[[Context, dict[str, Any]], dict[str, Any]],
    created: bool = False,
    on_error: Callable[[DistributorError], Response] | None = None,
) -> Any:
    """Run a state change once per Idempotency-Key and answer with its result."""
    d = deps()
    body = body_object()
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key:
        return problem(400, "Idempotency-Key header required", "send a unique key per change")
    if len(key) > 200:
        raise Invalid("Idempotency-Key is longer than 200 characters")
    try:
        with d.context() as ctx:
            outcome = daily.once(
                ctx,
                scope=f"api:{g.api_token}",
                key=key,
                request={"path": request.path, "body": body},
                action=lambda: action(ctx, body),
            )
    except DistributorError as err:
        return (on_error or _error)(err)
    if outcome.conflict:
        return problem(422, "Idempotency-Key reused with another request")
    if outcome.in_progress:
        return problem(409, "a change with this Idempotency-Key is still running")
    resp = jsonify(outcome.response)
    resp.status_code = 201 if created and not outcome.replayed else 200
    if outcome.replayed:
        resp.headers["Idempotent-Replayed"] = "true"
    return resp


@bp.get(BASE)
def planned_list() -> Any:
    d = deps()
    state = request.args.get("state")
    states = None
    if state:
        if state not in {str(s) for s in PlanState}:
            raise Invalid(f"'state' must be one of {[str(s) for s in PlanState]}")
        states = [PlanState(state)]
    try:
        with d.context() as ctx:
            found = service.listing(ctx, list_name=request.args.get("list") or None, states=states)
            return jsonify(editions=[service.describe(ctx, e) for e in found])
    except DistributorError as err:
        return _error(err)


@bp.post(BASE)
def planned_create() -> Any:
    def create(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        list_name = body.get("list")
        if not isinstance(list_name, str):
            raise Invalid("'list' (the list's name) is required")
        stories = _strings(body, "stories")
        who = f"api:{g.api_token}"
        if stories:
            made = service.one_off(ctx, list_name, stories, by=who, social=bool(body.get("social")))
        else:
            made = service.draft(ctx, list_name, by=who, fetch=bool(body.get("fetch")))
        return service.describe(ctx, made)

    return _changing(create, created=True)


@bp.get(BASE + "/<int:edition_id>")
def planned_get(edition_id: int) -> Any:
    d = deps()
    try:
        with d.context() as ctx:
            data = service.describe(ctx, service.get(ctx, edition_id))
            data["changes"] = [
                {"at": c.at.isoformat(), "who": c.who, "action": c.action, "detail": c.detail}
                for c in service.changes(ctx, edition_id)
            ]
            return jsonify(data)
    except DistributorError as err:
        return _error(err)


@bp.patch(BASE + "/<int:edition_id>")
def planned_edit(edition_id: int) -> Any:
    def edit(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        order = body.get("order")
        if order is not None:
            order = _strings(body, "order")
        fallback = body.get("intro_fallback")
        changes = service.Changes(
            order=order,
            add=_strings(body, "add"),
            remove=_strings(body, "remove"),
            pin=_strings(body, "pin"),
            intros=_by_lang(body, "intros"),
            subjects=_by_lang(body, "subjects"),
            intro_fallback=fallback if isinstance(fallback, bool) else None,
        )
        done = service.update(
            ctx, edition_id, version=_version(body), changes=changes, by=f"api:{g.api_token}"
        )
        return service.describe(ctx, done)

    return _changing(edit)


@bp.post(BASE + "/<int:edition_id>/approve")
def planned_approve(edition_id: int) -> Any:
    def approve(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        done = service.approve(ctx, edition_id, version=_version(body), by=f"api:{g.api_token}")
        return service.describe(ctx, done)

    return _changing(approve)


@bp.post(BASE + "/<int:edition_id>/schedule")
def planned_schedule(edition_id: int) -> Any:
    def schedule(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        at = body.get("send_at")
        if not isinstance(at, str):
            raise Invalid("'send_at' (ISO 8601 with its offset) is required")
        try:
            when = datetime.fromisoformat(at)
        except ValueError as err:
            raise Invalid(f"'send_at': {at!r} is not an ISO 8601 time") from err
        done = service.schedule(
            ctx, edition_id, version=_version(body), send_at=when, by=f"api:{g.api_token}"
        )
        return service.describe(ctx, done)

    return _changing(schedule)


@bp.post(BASE + "/<int:edition_id>/cancel")
def planned_cancel(edition_id: int) -> Any:
    def cancel(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        reason = body.get("reason", "")
        done = service.cancel(
            ctx,
            edition_id,
            version=_version(body),
            by=f"api:{g.api_token}",
            reason=reason if isinstance(reason, str) else "",
        )
        return service.describe(ctx, done)

    return _changing(cancel)


@bp.post(BASE + "/<int:edition_id>/send")
def planned_send(edition_id: int) -> Any:
    def send(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        outcome = service.send_now(
            ctx,
            edition_id,
            version=_version(body),
            by=f"api:{g.api_token}",
            social=bool(body.get("social")),
        )
        data = service.describe(ctx, outcome.edition)
        data["report"] = outcome.report.to_dict()
        return data

    return _changing(send)


@bp.post(BASE + "/<int:edition_id>/test")
def planned_test(edition_id: int) -> Any:
    def test(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
        language = body.get("language")
        outcome = service.test_send(
            ctx,
            edition_id,
            addresses=_strings(body, "addresses"),
            language=language if isinstance(language, str) else None,
            by=f"api:{g.api_token}",
        )
        return {
            "edition": edition_id,
            "language": outcome.language,
            "results": [
                {"to": to, "state": str(r.state), "error": r.error}
                for to, r in zip(outcome.addresses, outcome.results, strict=True)
            ],
        }

    return _changing(test)


@bp.get(BASE + "/<int:edition_id>/preview")
def planned_preview(edition_id: int) -> Any:
    d = deps()
    try:
        with d.context() as ctx:
            shown = service.preview(
                ctx,
                edition_id,
                language=request.args.get("lang") or None,
                segment=request.args.get("segment", ""),
            )
    except DistributorError as err:
        return _error(err)
    return jsonify(
        edition=edition_id,
        language=shown.variant.language,
        subject=shown.message.subject,
        html=shown.message.html,
        text=shown.message.text,
        stories=[s.id for s in shown.stories],
    )


def openapi_paths(ref: Callable[[str], dict[str, str]], errors: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI paths of these routes (merged into ``/api/openapi.json``)."""
    ident = {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    one = {
        "description": "the edition",
        "content": {"application/json": {"schema": ref("PlannedEdition")}},
    }
    state_errors = {
        **errors,
        "404": {"description": "no such edition"},
        "409": {"description": "stale version, or not in a state that allows it"},
    }

    def change(summary: str, body: dict[str, Any]) -> dict[str, Any]:
        return {
            "post": keyed_change(summary, body, {"200": one, **state_errors}, parameters=[ident])
        }

    versioned = {
        "type": "object",
        "required": ["version"],
        "properties": {"version": {"type": "integer"}},
    }
    return {
        BASE: {
            "get": {
                "summary": "Editions an editor shapes, newest first",
                "parameters": [
                    {"name": "list", "in": "query", "schema": {"type": "string"}},
                    {
                        "name": "state",
                        "in": "query",
                        "schema": {"type": "string", "enum": [str(s) for s in PlanState]},
                    },
                ],
                "responses": {"200": {"description": "the editions"}, **errors},
            },
            "post": keyed_change(
                "Draft the list's next edition, or a one-off of chosen stories",
                {
                    "type": "object",
                    "required": ["list"],
                    "properties": {
                        "list": {"type": "string"},
                        "stories": {"type": "array", "items": {"type": "string"}},
                        "social": {"type": "boolean"},
                        "fetch": {"type": "boolean"},
                    },
                },
                {"201": one, **state_errors},
            ),
        },
        BASE + "/{id}": {
            "get": {
                "summary": "One edition with its change log",
                "parameters": [ident],
                "responses": {"200": one, **state_errors},
            },
            "patch": keyed_change(
                "Shape an edition (an approved one goes back to draft)",
                {
                    "type": "object",
                    "required": ["version"],
                    "properties": {
                        "version": {"type": "integer"},
                        **{
                            k: {"type": "array", "items": {"type": "string"}}
                            for k in ("order", "add", "remove", "pin")
                        },
                        "intros": {"type": "object"},
                        "subjects": {"type": "object"},
                        "intro_fallback": {"type": "boolean"},
                    },
                },
                {"200": one, **state_errors},
                parameters=[ident],
            ),
        },
        BASE + "/{id}/approve": change("Approve an edition for its slot", versioned),
        BASE + "/{id}/schedule": change(
            "Schedule (and approve) an edition",
            {
                "type": "object",
                "required": ["version", "send_at"],
                "properties": {
                    "version": {"type": "integer"},
                    "send_at": {"type": "string", "format": "date-time"},
                },
            },
        ),
        BASE + "/{id}/cancel": change("Cancel an edition before it starts", versioned),
        BASE + "/{id}/send": change(
            "Send an edition now (approving it)",
            {
                "type": "object",
                "required": ["version"],
                "properties": {"version": {"type": "integer"}, "social": {"type": "boolean"}},
            },
        ),
        BASE + "/{id}/test": change(
            "Send a [TEST] copy to the desk or to addresses (never in the ledger)",
            {
                "type": "object",
                "properties": {
                    "addresses": {"type": "array", "items": {"type": "string"}},
                    "language": {"type": "string"},
                },
            },
        ),
        BASE + "/{id}/preview": {
            "get": {
                "summary": "A variant rendered exactly as it will be sent",
                "parameters": [
                    ident,
                    {"name": "lang", "in": "query", "schema": {"type": "string"}},
                    {"name": "segment", "in": "query", "schema": {"type": "string"}},
                ],
                "responses": {"200": {"description": "subject, html and text"}, **state_errors},
            }
        },
    }


PLANNED_EDITION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "list": {"type": "string"},
        "key": {"type": "string"},
        "kind": {"type": "string", "enum": ["regular", "one_off"]},
        "state": {"type": "string", "enum": [str(s) for s in PlanState]},
        "send_at": {"type": ["string", "null"], "format": "date-time"},
        "version": {"type": "integer"},
        "recipients": {"type": "integer"},
        "variants": {"type": "array", "items": {"type": "object"}},
        "intros": {"type": "object"},
        "subjects": {"type": "object"},
    },
}
