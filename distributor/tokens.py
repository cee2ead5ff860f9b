"""Signed, opaque tokens for links in mail (unsubscribe, preferences, confirmation).

Each purpose has its own salt, so a token made for one purpose is refused for
another.  The web app that honours them verifies with the same secret.
Unsubscribe and preference links never expire (they sit in old mail); the
double opt-in confirmation link does (:meth:`Tokens.make_confirmation`).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from itsdangerous import (
    BadSignature,
    SignatureExpired,
    TimestampSigner,
    URLSafeSerializer,
    URLSafeTimedSerializer,
)

Purpose = Literal["unsubscribe", "preferences"]
CONFIRM_SALT = "distributor.confirm"


@dataclass(frozen=True, slots=True)
class TokenSubject:
    subscriber_id: int
    list_name: str


@dataclass(frozen=True, slots=True)
class Confirmation:
    """What a double opt-in link confirms: a subscriber, a list and the chosen preferences."""

    subscriber_id: int
    list_name: str
    preferences: dict[str, Any] = field(default_factory=dict)


class TokenExpired(Exception):
    """A confirmation token whose signature is good but whose time is up."""


def _clocked_signer(clock: Callable[[], float]) -> type[TimestampSigner]:
    class ClockedSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock())

    return ClockedSigner


class Tokens:
    def __init__(self, secret: str, *, clock: Callable[[], float] = time.time) -> None:
        self._secret = secret
        self._clock = clock

    def _serializer(self, purpose: Purpose) -> URLSafeSerializer:
        return URLSafeSerializer(self._secret, salt=f"distributor.{purpose}")

    def make(self, purpose: Purpose, subscriber_id: int, list_name: str) -> str:
        return str(self._serializer(purpose).dumps([subscriber_id, list_name]))

    def read(self, purpose: Purpose, token: str) -> TokenSubject | None:
        """The subject of a valid token, or None for a tampered or foreign one."""
        try:
            sid, lst = self._serializer(purpose).loads(token)
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(sid, int) or not isinstance(lst, str):
            return None
        return TokenSubject(sid, lst)

    def _timed(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(
            self._secret, salt=CONFIRM_SALT, signer=_clocked_signer(self._clock)
        )

    def make_confirmation(
        self, subscriber_id: int, list_name: str, preferences: dict[str, Any]
    ) -> str:
        """A signed, timestamped token for the double opt-in link."""
        return str(self._timed().dumps([subscriber_id, list_name, preferences]))

    def read_confirmation(self, token: str, *, max_age: int) -> Confirmation | None:
        """The confirmation in a valid token; None if tampered or foreign.

        Raises :class:`TokenExpired` when the token is genuine but older than
        ``max_age`` seconds.
        """
        try:
            sid, lst, prefs = self._timed().loads(token, max_age=max_age)
        except SignatureExpired as err:
            raise TokenExpired(str(err)) from err
        except (BadSignature, ValueError, TypeError):
            return None
        if not isinstance(sid, int) or not isinstance(lst, str) or not isinstance(prefs, dict):
            return None
        return Confirmation(sid, lst, prefs)
