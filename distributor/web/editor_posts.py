"""The dashboard's social queue (issue 18): the queue per channel, each post as its
network would show it with an editor for its text (the count checked live, on the
server, by the composer's own rules), approve / schedule / move / post now / cancel,
and the calendar of mail editions and posts.

Each route calls one function of :mod:`distributor.service.posts`; every POST carries
the CSRF token (checked in ``editors.guard``) and the version the editor saw.  The
pages run one script of our own (``/editor/queue/count.js``) under a CSP that allows
nothing else.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

from flask import Response, g, jsonify, redirect, request, url_for

from distributor.errors import ConfigError, DistributorError, NotFoundError, PostError
from distributor.models import OPEN_POST_STATES, PostState
from distributor.service import calendar as calendar_service
from distributor.service import posts as service
from distributor.web.common import deps
from distributor.web.editors import _, _page, bp

SCRIPT = Path(__file__).with_name("editor_posts.js")
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'unsafe-inline'; "
    "img-src 'self' data:; form-action 'self'; frame-ancestors 'self'"
)


def _who() -> str:
    return str(g.editor.email)


def _guarded(resp: Any) -> Any:
    """The CSP and ``nosniff`` headers on a page of the queue."""
    body, status = resp if isinstance(resp, tuple) else (resp, 200)
    out = body if isinstance(body, Response) else Response(body, status=status)
    out.headers["Content-Security-Policy"] = CSP
    out.headers["X-Content-Type-Options"] = "nosniff"
    return out


def _back(post_id: int, *, result: str = "", problem: str = "") -> Any:
    return redirect(
        url_for(
            "editors.queue_post", post_id=post_id, result=result or None, problem=problem or None
        )
    )


def _version() -> int:
    try:
        return int(request.form.get("version", ""))
    except ValueError:
        return -1  # refused as stale by the service


@bp.get("/queue")
def queue() -> Any:
    d = deps()
    channel = request.args.get("channel") or None
    with d.context() as ctx:
        try:
            found = service.listing(ctx, channel=channel, limit=500)
        except NotFoundError as err:
            return _guarded(
                _page("message.html.j2", 404, title=_("No such channel"), body=str(err))
            )
        rows = [service.describe(ctx, p) for p in found]
    by_channel: dict[str, list[dict[str, Any]]] = {name: [] for name in d.settings.social}
    for r in rows:
        by_channel.setdefault(r["channel"], []).append(r)
    channels = {
        name: {
            "approval": cfg.approval,
            "timezone": cfg.timezone,
            "slots": list(cfg.slots),
            "enabled": cfg.enabled,
        }
        for name, cfg in d.settings.social.items()
        if channel in (None, name)
    }
    return _guarded(
        _page(
            "queue.html.j2",
            channels=channels,
            by_channel={k: v for k, v in by_channel.items() if k in channels},
            open_states=[str(s) for s in OPEN_POST_STATES],
            result=request.args.get("result"),
            problem=request.args.get("problem"),
        )
    )


@bp.get("/queue/<int:post_id>")
def queue_post(post_id: int) -> Any:
    d = deps()
    with d.context() as ctx:
        try:
            view = service.preview(ctx, post_id)
        except NotFoundError as err:
            return _guarded(_page("message.html.j2", 404, title=_("No such post"), body=str(err)))
        history = service.changes(ctx, post_id)
    post = view["post"]
    at_local = post["at_local"][:16] if post["at_local"] else ""
    return _guarded(
        _page(
            "queue_post.html.j2",
            view=view,
            post=post,
            history=history,
            is_open=post["state"] in [str(s) for s in OPEN_POST_STATES],
            at_local=at_local,
            result=request.args.get("result"),
            problem=request.args.get("problem"),
        )
    )


@bp.post("/queue/count")
def queue_count() -> Any:
    """The live count of the editor: the text as the channel's network counts it."""
    d = deps()
    channel = request.form.get("channel", "")
    text = request.form.get("text", "")
    with d.context() as ctx:
        try:
            check = service.check_text(ctx, channel, text)
        except NotFoundError as err:
            return _guarded(jsonify(error=str(err))), 404
    resp = _guarded(jsonify(check.to_dict()))
    return resp


@bp.get("/queue/count.js")
def queue_script() -> Any:
    resp = Response(SCRIPT.read_text("utf-8"), mimetype="text/javascript")
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


@bp.post("/queue/<int:post_id>/<action>")
def queue_change(post_id: int, action: str) -> Any:
    d = deps()
    with d.context() as ctx:
        try:
            result = _change(ctx, post_id, action)
        except NotFoundError as err:
            return _guarded(_page("message.html.j2", 404, title=_("Not found"), body=str(err)))
        except (PostError, ConfigError, DistributorError) as err:
            return _back(post_id, problem=str(err))
    return _back(post_id, result=result)


def _change(ctx: Any, post_id: int, action: str) -> str:
    version, by = _version(), _who()
    if action == "edit":
        service.edit(ctx, post_id, text=request.form.get("text", ""), version=version, by=by)
        return _("saved")
    if action == "approve":
        service.approve(ctx, post_id, version=version, by=by)
        return _("approved")
    if action == "schedule":
        post = service.get(ctx, post_id)
        at = service.parse_time(ctx, post.channel, request.form.get("at", "").replace("T", " "))
        service.schedule(ctx, post_id, at=at, version=version, by=by)
        return _("scheduled")
    if action == "move":
        service.move(ctx, post_id, to=None, version=version, by=by)
        return _("moved to the next free slot")
    if action == "post-now":
        done, _report = service.post_now(ctx, post_id, version=version, by=by)
        if done.state != PostState.POSTED:
            raise PostError(f"not posted: {done.error or done.state}")
        return _("posted")
    if action == "cancel":
        service.cancel(ctx, post_id, version=version, by=by, reason=request.form.get("reason", ""))
        return _("cancelled")
    raise NotFoundError(f"no action {action!r}")


@bp.get("/calendar")
def calendar() -> Any:
    d = deps()
    tz = request.args.get("tz") or next((cfg.timezone for cfg in d.settings.lists.values()), "UTC")
    try:
        start = request.args.get("from")
        first = date.fromisoformat(start) if start else None
        days = int(request.args.get("days", "7"))
        with d.context() as ctx:
            found = calendar_service.calendar(ctx, start=first, days=days, tz=tz)
    except (ValueError, ConfigError) as err:
        return _guarded(
            _page("message.html.j2", 400, title=_("Bad calendar request"), body=str(err))
        )
    channels = sorted({c for day in found for c in day.posts})
    return _guarded(_page("calendar.html.j2", days=found, channels=channels, tz=tz))
