"""What every response of the web app carries, and what no request can make it do.

* **Headers** on every response (pages, API, errors): ``X-Content-Type-Options:
  nosniff``; a ``Content-Security-Policy`` (no script at all: the pages have
  none; styles from us and inline; images from us, ``data:`` and https; our own
  frames only; forms posted only to us; no plugins; ``frame-ancestors``);
  ``X-Frame-Options`` for older browsers; ``Referrer-Policy``.  A response that
  set its own (the sandboxed digest preview, the reader pages' ``no-referrer``
  and ``DENY``) keeps it.  Reader pages (``/u/``, ``/p/``, ``/confirm/``,
  ``/subscribe``) cannot be framed at all; editor pages only by themselves
  (the preview frame).
* **Bad input is a 4xx**: an ``int`` in a URL past the id columns' 32 bits is a 404 (the
  database cannot hold it; it names nothing); a body over
  ``MAX_CONTENT_LENGTH`` (``web/site.py``) is a 413 on every route, before
  it is read; a value that cannot be
  decoded (a form in Latin-1) is a 400 with a plain message.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, Response, current_app, request
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter, Map

__all__ = ["CSP", "install"]

CSP = (
    "default-src 'none'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
    "frame-src 'self'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
_READER_BLUEPRINTS = frozenset({"subscribers"})
#: every id column is an SQL INTEGER (PostgreSQL: 32 bits, signed); a larger id names nothing
ID_MAX = 2**31 - 1


class BoundedInt(IntegerConverter):
    """``<int:...>`` within the id columns' range (a larger id names nothing: 404, where
    PostgreSQL would refuse the query with an error)."""

    def __init__(self, map: Map, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max", ID_MAX)
        super().__init__(map, *args, **kwargs)


def _headers(response: Response) -> Response:
    reader = request.blueprint in _READER_BLUEPRINTS
    ancestors = "'none'" if reader else "'self'"
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Content-Security-Policy", f"{CSP}; frame-ancestors {ancestors}")
    headers.setdefault("X-Frame-Options", "DENY" if reader else "SAMEORIGIN")
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    return response


def _too_large() -> None:
    """A declared body over the cap is refused before any view runs or any byte is read
    (a view that never reads the body, as ``/u/<token>``, would otherwise let the server
    take it all in)."""
    cap = current_app.config.get("MAX_CONTENT_LENGTH")
    if cap is not None and (request.content_length or 0) > cap:
        raise RequestEntityTooLarge(f"the body is over {cap} bytes")


def _undecodable(err: UnicodeDecodeError) -> tuple[str, int, dict[str, str]]:
    return (
        f"bad request: the request is not UTF-8 text ({err.reason})\n",
        400,
        {"Content-Type": "text/plain; charset=utf-8"},
    )


def install(app: Flask) -> None:
    """Bounded ids, the headers and the bad-input answers on ``app``."""
    app.url_map.converters["int"] = BoundedInt
    app.before_request(_too_large)
    app.after_request(_headers)
    app.register_error_handler(UnicodeDecodeError, _undecodable)
