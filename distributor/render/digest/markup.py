"""Markup for mail: the Jinja2 environment, CSS inlining, archive names, the clean-up
of names, HTML and text, and the slow path's placeholder substitution.
"""

from __future__ import annotations

import logging
import re
import warnings
from pathlib import Path

from babel.support import NullTranslations
from jinja2 import Environment, StrictUndefined

from distributor.addresses import sending_mailbox
from distributor.errors import AddressError, RenderError
from distributor.models import Edition
from distributor.render.fastmime import (
    PLACEHOLDERS,
)
from distributor.render.personal import Personal, header_safe
from distributor.render.templates import template_loader
from distributor.render.tracking import READER_PLACEHOLDER


def make_environment(
    templates_dir: Path, translations: NullTranslations | None = None
) -> Environment:
    """Jinja2 for mail: autoescape on for everything but ``*.txt.j2``, gettext installed."""
    env = Environment(
        loader=template_loader(templates_dir),
        autoescape=lambda name: name is None or not name.endswith(".txt.j2"),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        extensions=["jinja2.ext.i18n"],
    )
    env.install_gettext_translations(  # type: ignore[attr-defined]
        translations or NullTranslations(), newstyle=True
    )
    return env


def inline_css(markup: str) -> str:
    """Inline CSS with premailer, never touching the network, keeping media queries."""
    from premailer import Premailer

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return str(
            Premailer(
                markup,
                allow_network=False,
                keep_style_tags=True,
                strip_important=False,
                disable_validation=True,
                cssutils_logging_level=logging.CRITICAL,
            ).transform()
        )


def archive_name(edition: Edition) -> str:
    """``<list>/<edition>/<lang>.html``; a reader segment, when editions have one, is added."""
    segment = str(getattr(edition, "segment", "") or "")
    slug = re.sub(r"[^a-z0-9]+", "-", segment.lower()).strip("-")
    page = f"{edition.language}-{slug}" if slug else edition.language
    return f"{edition.list_name}/{edition.key}/{page}.html"


def _mailbox(value: str) -> str:
    """A configured sender or reply-to, header-safe, its IDN domain in ASCII."""
    try:
        return sending_mailbox(header_safe(value))
    except AddressError as err:
        raise RenderError(f"cannot send from {err.address!r}: {err.reason}") from err


def clean_name(value: str) -> str:
    """A subscriber's name fit for a header and a greeting: no control characters at all."""
    return header_safe(value)


def _finish_html(markup: str) -> str:
    markup = markup.replace("\x00", "")
    if "\r" in markup:
        markup = re.sub(r"\r\n?", "\n", markup)
    return markup if markup.endswith("\n") else markup + "\n"


def _normalize_text(text: str) -> str:
    text = text.replace("\x00", "")
    lines = [line.rstrip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip() + "\n"


def _fill(body: str, personal: Personal, *, html: bool, reader: str = "") -> str:
    """``body`` with the placeholders replaced (the slow path's substitution)."""
    from distributor.render.fastmime import escape_html_attr, escape_html_text

    text = escape_html_text if html else str
    attr = escape_html_attr if html else str
    body = (
        body.replace(PLACEHOLDERS["greeting"], text(personal.greeting))
        .replace(PLACEHOLDERS["unsubscribe_url"], attr(personal.unsubscribe_url))
        .replace(PLACEHOLDERS["preferences_url"], attr(personal.preferences_url))
    )
    # a signed reader id is [A-Za-z0-9_.-]: nothing to escape
    return body.replace(READER_PLACEHOLDER, reader) if reader else body
