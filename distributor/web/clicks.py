"""Click links (issue 17): ``GET /r/<token>`` redirects (302) to the story or share page
and counts the click; ``/o/<token>.gif`` is the open pixel of lists that ask for it.

A forged, cut, expired or orphaned token gets a plain page with the newsroom's link
(404/410), never a 5xx and never a redirect elsewhere.  Each request is one call to
:class:`distributor.service.clicks.ClickRecorder`, made once per app.
"""

from __future__ import annotations

import threading
from typing import Any, cast

from flask import Blueprint, Flask, Response, current_app, request
from markupsafe import escape

from distributor.service.clicks import ClickOutcome, ClickRecorder
from distributor.web.common import deps

bp = Blueprint("clicks", __name__)
_MAKE = threading.Lock()
_TITLES = {
    "expired": "This link has expired",
    "gone": "This story is no longer here",
}


def recorder() -> ClickRecorder:
    """The app's recorder, made on first use (``app.extensions['distributor']['clicks']``)."""
    ext = current_app.extensions["distributor"]
    found = ext.get("clicks")
    if found is None:
        with _MAKE:
            found = ext.get("clicks")
            if found is None:
                d = deps()
                found = ClickRecorder(d.settings, d.store, d.clock)
                ext["clicks"] = found
    return cast(ClickRecorder, found)


def _answer(outcome: ClickOutcome) -> Response:
    if outcome.action == "redirect":
        resp = Response(status=302)
        resp.headers["Location"] = outcome.location
        resp.headers["Referrer-Policy"] = "no-referrer"
    elif outcome.action == "pixel":
        resp = Response(outcome.body, status=200, mimetype="image/gif")
    else:
        title = _TITLES.get(outcome.problem, "This link does not work")
        body = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
            "<p>The link you followed is not (or no longer) one of ours. "
            f'Our stories are at <a href="{escape(outcome.newsroom_url)}">'
            f"{escape(outcome.newsroom)}</a>.</p></body></html>"
        )
        resp = Response(body, status=outcome.status, mimetype="text/html")
        resp.headers["Content-Security-Policy"] = "default-src 'none'"
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    return resp


def _who() -> dict[str, Any]:
    return {
        "reader": request.args.get("u"),
        "method": request.method,
        "user_agent": request.headers.get("User-Agent", ""),
        "client": request.remote_addr or "",
    }


@bp.route("/r/<path:token>", methods=["GET", "HEAD"])
def follow(token: str) -> Response:
    return _answer(recorder().follow(token, **_who()))


@bp.route("/o/<path:name>", methods=["GET", "HEAD"])
def opened(name: str) -> Response:
    return _answer(recorder().opened(name.removesuffix(".gif"), **_who()))


def close_clicks(app: Flask) -> None:
    """Stop the app's click writer and write what it still holds (``distributor serve``)."""
    found = app.extensions["distributor"].pop("clicks", None)
    if found is not None:
        cast(ClickRecorder, found).close()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
