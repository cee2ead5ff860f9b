"""Secrets kept out of everything printed or stored.

Some credentials travel inside URLs: a Discord or Slack webhook URL *is* the
secret, and Telegram's bot token is a path segment (``/bot<token>/...``).  An
error message that names the URL (``requests`` puts the path in its own
messages) would carry the credential into ``run --json``, ``post --json``,
``--debug`` tracebacks, logs and the ledger's ``error`` column.

A :class:`Redactor` knows the secret values of the configuration and the
pieces of them that show up on their own (a webhook URL's path, its path and
query) and replaces each with ``[redacted]``.  The HTTP base redacts every
message it makes with the channel's or provider's own redactor; the doors
redact again with the whole configuration's (:func:`settings_redactor`).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, SecretStr

MASK = "[redacted]"
#: shorter values are not redacted (they would mask ordinary words)
MIN_SECRET_LENGTH = 6


def fragments(value: str) -> list[str]:
    """``value`` and the parts of it that appear alone in messages (a URL's path)."""
    out = [value]
    if "://" in value:
        try:
            parts = urlsplit(value)
        except ValueError:
            return out
        if parts.path and parts.path != "/":
            out.append(parts.path)
            if parts.query:
                out.append(f"{parts.path}?{parts.query}")
        if parts.password:
            out.append(parts.password)
    return out


class Redactor:
    """Replaces every known secret (and its telling fragments) with :data:`MASK`."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        found: set[str] = set()
        for value in secrets:
            if value and len(value) >= MIN_SECRET_LENGTH:
                found.update(f for f in fragments(value) if len(f) >= MIN_SECRET_LENGTH)
        # longest first, so a URL is masked whole before its path is looked for
        ordered = sorted(found, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(s) for s in ordered)) if ordered else None

    def __call__(self, text: str) -> str:
        if self._pattern is None or not text:
            return text
        return self._pattern.sub(MASK, text)

    def __bool__(self) -> bool:
        return self._pattern is not None

    def any(self, value: Any) -> Any:
        """``value`` (a string, or lists and dicts of them) with every secret masked."""
        if isinstance(value, str):
            return self(value)
        if isinstance(value, list):
            return [self.any(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.any(v) for v in value)
        if isinstance(value, dict):
            return {k: self.any(v) for k, v in value.items()}
        return value


def secret_values(model: Any) -> list[str]:
    """Every :class:`SecretStr` value held anywhere in a pydantic model (or dict, list)."""
    out: list[str] = []

    def walk(value: Any) -> None:
        if isinstance(value, SecretStr):
            out.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                walk(getattr(value, name, None))
        elif isinstance(value, dict):
            for v in value.values():
                walk(v)
        elif isinstance(value, list | tuple):
            for v in value:
                walk(v)

    walk(model)
    return out


def settings_redactor(settings: Any) -> Redactor:
    """A redactor for every secret of the configuration."""
    return Redactor(secret_values(settings))


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in each record's final message."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if self.redactor:
            message = record.getMessage()
            clean = self.redactor(message)
            if clean != message:
                record.msg, record.args = clean, None
        return True
