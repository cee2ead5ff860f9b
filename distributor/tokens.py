"""Signed, opaque tokens for links in mail (unsubscribe, preferences).

Each purpose has its own salt, so a token made for one purpose is refused for
another.  The web app that honours them verifies with the same secret.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from itsdangerous import BadSignature, URLSafeSerializer

Purpose = Literal["unsubscribe", "preferences"]


@dataclass(frozen=True, slots=True)
class TokenSubject:
    subscriber_id: int
    list_name: str


class Tokens:
    def __init__(self, secret: str) -> None:
        self._secret = secret

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
