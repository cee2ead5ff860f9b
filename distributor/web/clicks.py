"""Click links (issue 17): ``GET /r/<token>`` redirects (302) to the story or share page
and counts the click; ``/o/<token>.gif`` is the open pixel of lists that ask for it.

A forged, cut, expired or orphaned token gets a plain page with the newsroom's link
(404/410), never a 5xx and never a redirect elsewhere.  Each request is one call to
:class:`distributor.service.clicks.ClickRecorder`, made once per app.

**The lean path.**  Clicks are the one hot path of the web app (every reader of every
edition), so ``GET``/``HEAD`` of ``/r/`` and ``/o/`` are answered by a small WSGI
middleware (:class:`LeanClicks`) in front of Flask: no request context, session,
routing or response object, the same answer and headers the Flask route gives (the
route stays, for ``app.test_client`` users and anything the middleware passes on: other
methods, a body over the cap).  Profiled on the 2-core machine, the Flask route spent
about 450 us a click, most of it in Flask's per-request machinery; the middleware about
60 us (``docs/privacy.md``, *Speed*).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from http import HTTPStatus
from typing import Any, cast
from urllib.parse import parse_qs

from flask import Blueprint, Flask, Response, current_app, request
from markupsafe import escape
from werkzeug.middleware.proxy_fix import ProxyFix

from distributor.clock import Clock, system_clock
from distributor.service.clicks import ClickOutcome, ClickRecorder
from distributor.web.common import CLOCK_KEY
from distributor.web.security import CSP

bp = Blueprint("clicks", __name__)
_MAKE = threading.Lock()
_TITLES = {
    "expired": "This link has expired",
    "gone": "This story is no longer here",
}
#: what every answer of ``/r/`` and ``/o/`` carries (``security._headers`` for the rest)
_COMMON = (
    ("Cache-Control", "no-store"),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "SAMEORIGIN"),
)

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def recorder_of(app: Flask) -> ClickRecorder:
    """The app's recorder, made on first use (``app.extensions['distributor']['clicks']``)."""
    ext = app.extensions["distributor"]
    found = ext.get("clicks")
    if found is None:
        with _MAKE:
            found = ext.get("clicks")
            if found is None:
                # tests set app.config[CLOCK_KEY] to a fixed clock; the default is the system's
                clock = cast(Clock, app.config.get(CLOCK_KEY) or system_clock)
                found = ClickRecorder(ext["settings"], ext["store"], clock)
                ext["clicks"] = found
    return cast(ClickRecorder, found)


def recorder() -> ClickRecorder:
    """The current app's recorder (inside a request or app context)."""
    return recorder_of(current_app)


def _page_body(outcome: ClickOutcome) -> str:
    title = _TITLES.get(outcome.problem, "This link does not work")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
        "<p>The link you followed is not (or no longer) one of ours. "
        f'Our stories are at <a href="{escape(outcome.newsroom_url)}">'
        f"{escape(outcome.newsroom)}</a>.</p></body></html>"
    )


def answer_parts(outcome: ClickOutcome) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of an outcome: the one answer of both paths."""
    if outcome.action == "redirect":
        headers = [
            ("Location", outcome.location),
            ("Referrer-Policy", "no-referrer"),
            ("Content-Security-Policy", f"{CSP}; frame-ancestors 'self'"),
        ]
        body = b""
    elif outcome.action == "pixel":
        headers = [
            ("Content-Type", "image/gif"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"),
            ("Content-Security-Policy", f"{CSP}; frame-ancestors 'self'"),
        ]
        body = outcome.body
    else:
        headers = [
            ("Content-Type", "text/html; charset=utf-8"),
            ("Referrer-Policy", "strict-origin-when-cross-origin"),
            ("Content-Security-Policy", "default-src 'none'"),
        ]
        body = _page_body(outcome).encode("utf-8")
    headers.extend(_COMMON)
    headers.append(("Content-Length", str(len(body))))
    return outcome.status, headers, body


def _answer(outcome: ClickOutcome) -> Response:
    status, headers, body = answer_parts(outcome)
    resp = Response(body, status=status)
    for name, value in headers:
        resp.headers[name] = value
    return resp


def who_of(environ: dict[str, Any]) -> dict[str, Any]:
    """Who clicked, from the WSGI environ (after ProxyFix, where there is one): the
    recorder's keyword arguments, the same for the Flask route and the lean path."""
    query = environ.get("QUERY_STRING", "")
    reader = parse_qs(query, keep_blank_values=True).get("u", [None])[0] if query else None
    return {
        "reader": reader,
        "method": environ.get("REQUEST_METHOD", "GET"),
        "user_agent": environ.get("HTTP_USER_AGENT", ""),
        "client": environ.get("REMOTE_ADDR") or "",
    }


def _who() -> dict[str, Any]:
    return who_of(request.environ)


@bp.route("/r/<path:token>", methods=["GET", "HEAD"])
def follow(token: str) -> Response:
    return _answer(recorder().follow(token, **_who()))


@bp.route("/o/<path:name>", methods=["GET", "HEAD"])
def opened(name: str) -> Response:
    return _answer(recorder().opened(name.removesuffix(".gif"), **_who()))


class LeanClicks:
    """``GET``/``HEAD`` of ``/r/<token>`` and ``/o/<token>.gif`` without Flask's
    per-request machinery; everything else goes on to ``inner`` (the Flask app)."""

    def __init__(self, app: Flask, inner: WSGIApp, trusted_proxies: int = 0) -> None:
        self.app = app
        self.inner = inner
        self._cap = app.config.get("MAX_CONTENT_LENGTH")
        handler: WSGIApp = self._lean
        if trusted_proxies:  # the client's address as the Flask path sees it
            n = trusted_proxies
            handler = ProxyFix(handler, x_for=n, x_proto=n, x_host=n)
        self._handler = handler

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if (
            path[:3] in ("/r/", "/o/")
            and len(path) > 3
            and environ.get("REQUEST_METHOD") in ("GET", "HEAD")
            and not self._too_large(environ)
        ):
            return self._handler(environ, start_response)
        return self.inner(environ, start_response)

    def _too_large(self, environ: dict[str, Any]) -> bool:
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return True  # Flask answers it
        return self._cap is not None and length > self._cap

    def _lean(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        raw_path = environ["PATH_INFO"]
        # PEP 3333: PATH_INFO is latin-1 decoded bytes; tokens are ASCII (else: a bad token)
        path = raw_path.encode("latin-1", "replace").decode("utf-8", "replace")
        who = who_of(environ)
        rec = recorder_of(self.app)
        if path.startswith("/r/"):
            outcome = rec.follow(path[3:], **who)
        else:
            outcome = rec.opened(path[3:].removesuffix(".gif"), **who)
        status, headers, body = answer_parts(outcome)
        start_response(f"{status} {HTTPStatus(status).phrase}", headers)
        return [] if who["method"] == "HEAD" else [body]


def close_clicks(app: Flask) -> None:
    """Stop the app's click writer and write what it still holds (``distributor serve``)."""
    found = app.extensions["distributor"].pop("clicks", None)
    if found is not None:
        cast(ClickRecorder, found).close()


def init_app(app: Flask) -> None:
    app.register_blueprint(bp)
    settings = app.extensions["distributor"]["settings"]
    # ProxyFix (web/site.py), if any, wraps the Flask app already: the lean path gets its own
    inner = app.wsgi_app
    app.wsgi_app = LeanClicks(  # type: ignore[method-assign]
        app, inner, settings.web.trusted_proxies
    )
