"""The digest: rendered and inlined once per variant, personalized per subscriber.

A *variant* is one edition language of one list.  Its subject, HTML and text
go through Jinja2 (with the language's gettext catalog) and premailer once,
with placeholder tokens where the personal parts go; the whole message is
then pre-encoded (:mod:`distributor.render.fastmime`).  Each subscriber's
message only fills the personal parts (greeting, signed unsubscribe and
preference links, ids) into it, each escaped for where it lands.

:meth:`DigestRenderer.naive_message` is the slow reference path (Jinja2,
premailer and ``EmailMessage`` per subscriber), kept for the equality test
and the benchmark.

The package (import from ``distributor.render.digest``; the modules are its rooms):

- ``values``: :class:`Variant`, :class:`Shortening`, ``MAX_HTML_BYTES``
- ``markup``: :func:`make_environment`, :func:`inline_css`, :func:`archive_name`,
  :func:`clean_name` and the clean-up of HTML and text
- ``renderer``: :class:`DigestRenderer`
"""

from __future__ import annotations

from distributor.render.digest.markup import archive_name, clean_name, inline_css, make_environment
from distributor.render.digest.renderer import DigestRenderer
from distributor.render.digest.values import _NETWORK_LABELS as _NETWORK_LABELS
from distributor.render.digest.values import MAX_HTML_BYTES, Shortening, Variant
from distributor.render.personal import header_safe

__all__ = [
    "MAX_HTML_BYTES",
    "DigestRenderer",
    "Shortening",
    "Variant",
    "archive_name",
    "clean_name",
    "header_safe",
    "inline_css",
    "make_environment",
]
