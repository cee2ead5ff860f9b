"""The personal parts of a digest: greeting, signed unsubscribe and preference links.

:class:`LinkSigner` makes exactly the tokens :class:`distributor.tokens.Tokens`
makes (itsdangerous ``URLSafeSerializer`` over ``[subscriber_id, list_name]``,
HMAC-SHA1 with the "django-concat" key derivation), so the web app verifies
them with ``Tokens.read``; it only does it without building a serializer and
a signer object per call, which is what costs most at 50,000 messages a
second.  ``tests/digests/test_personal.py`` proves the two agree.
"""

from __future__ import annotations

import binascii
import hashlib
import hmac
import json
import re
import zlib
from binascii import b2a_base64
from typing import NamedTuple
from urllib.parse import quote

from distributor.text_safety import strip_invisible
from distributor.tokens import Purpose

# every C0 control (CR, LF and NUL among them), DEL, and the Unicode line separators
_CONTROL = re.compile("[\x00-\x1f\x7f\x85\u2028\u2029]+")
_SPACES = re.compile(" {2,}")
_PLAIN = re.compile(r"[A-Za-z0-9_.-]*")  # JSON writes these list names as they are


def header_safe(value: str) -> str:
    """``value`` with CR, LF, NUL and every other control removed: it cannot inject a header.

    Each run of controls becomes one space; runs of spaces collapse; other
    spaces (a French no-break space before a colon) are kept. Bidi controls and
    zero-width characters go too (:func:`distributor.text_safety.strip_invisible`).
    """
    value = strip_invisible(value)
    if _CONTROL.search(value):
        value = _CONTROL.sub(" ", value)
    if "  " in value:
        value = _SPACES.sub(" ", value)
    return value.strip(" ")


class Personal(NamedTuple):
    """One subscriber's values, unescaped; each is escaped where it lands."""

    greeting: str
    unsubscribe_url: str
    preferences_url: str
    token: str  # the unsubscribe token, also used in the mailto: unsubscribe subject


class LinkSigner:
    """Signed, opaque per-subscriber tokens and the links that carry them."""

    def __init__(self, secret: str, base_url: str) -> None:
        secret_bytes = secret.encode("utf-8")
        self._keys: dict[str, bytes] = {
            purpose: hashlib.sha1(
                f"distributor.{purpose}".encode() + b"signer" + secret_bytes
            ).digest()
            for purpose in ("unsubscribe", "preferences")
        }
        self.base_url = base_url.rstrip("/")
        self._unsub_mac = _Sha1Hmac(self._keys["unsubscribe"])
        self._prefs_mac = _Sha1Hmac(self._keys["preferences"])
        self._plain: dict[str, _PlainName | None] = {}

    @staticmethod
    def payload(subscriber_id: int, list_name: str) -> bytes:
        """The serialized, base64url payload of a token, as itsdangerous writes it."""
        if _PLAIN.fullmatch(list_name):
            data = f'[{subscriber_id:d},"{list_name}"]'.encode("ascii")
        else:
            raw = json.dumps([subscriber_id, list_name], ensure_ascii=False, separators=(",", ":"))
            data = raw.encode("utf-8")
        # itsdangerous keeps the zlib form when it is shorter; without a repeated
        # 3-byte sequence (back-references need one) deflate cannot win, so zlib
        # is only asked when there is one, or for long payloads.
        if len(data) > 48 or _has_repeat(data):
            compressed = zlib.compress(data)
            if len(compressed) < len(data) - 1:
                return b"." + b64url(compressed)
        return b64url(data)

    def sign(self, purpose: Purpose, payload: bytes) -> str:
        """``payload.signature`` for one purpose."""
        sig = hmac.digest(self._keys[purpose], payload, "sha1")
        return (payload + b"." + b64url(sig)).decode("ascii")

    def token(self, purpose: Purpose, subscriber_id: int, list_name: str) -> str:
        return self.sign(purpose, self.payload(subscriber_id, list_name))

    def tokens(self, subscriber_id: int, list_name: str) -> tuple[str, str]:
        """(unsubscribe token, preferences token): what :meth:`links` puts after
        ``/u/`` and ``/p/``."""
        plain = self._plain.get(list_name)
        if plain is None:
            plain = self._plain[list_name] = _PlainName.of(list_name)
        digits = str(subscriber_id)
        if plain is not None and not plain.may_compress(digits):
            data = f'[{digits},"{list_name}"]'.encode("ascii")
            payload = b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")
        else:
            payload = self.payload(subscriber_id, list_name)
        dot = payload + b"."
        return (
            (dot + b2a_base64(self._unsub_mac.digest(payload), newline=False))
            .translate(_URLSAFE)
            .rstrip(b"=")
            .decode("ascii"),
            (dot + b2a_base64(self._prefs_mac.digest(payload), newline=False))
            .translate(_URLSAFE)
            .rstrip(b"=")
            .decode("ascii"),
        )

    def links(self, subscriber_id: int, list_name: str) -> tuple[str, str, str]:
        """(unsubscribe URL, preferences URL, unsubscribe token) for one subscriber.

        The same as :meth:`token` twice, written out: this runs once per message.
        """
        plain = self._plain.get(list_name)
        if plain is None:
            plain = self._plain[list_name] = _PlainName.of(list_name)
        digits = str(subscriber_id)
        if plain is not None and not plain.may_compress(digits):
            data = f'[{digits},"{list_name}"]'.encode("ascii")
            payload = b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")
        else:
            payload = self.payload(subscriber_id, list_name)
        sig_u = self._unsub_mac.digest(payload)
        sig_p = self._prefs_mac.digest(payload)
        unsub = (
            (payload + b"." + b2a_base64(sig_u, newline=False).translate(_URLSAFE))
            .decode("ascii")
            .rstrip("=")
        )
        prefs = (
            (payload + b"." + b2a_base64(sig_p, newline=False).translate(_URLSAFE))
            .decode("ascii")
            .rstrip("=")
        )
        return f"{self.base_url}/u/{unsub}", f"{self.base_url}/p/{prefs}", unsub


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64url(data: bytes) -> bytes:
    """Unpadded URL-safe base64, as itsdangerous writes it."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


class _Sha1Hmac:
    """HMAC-SHA1 (RFC 2104) with the keyed inner and outer states computed once.

    ``hmac.digest`` looks the digest up in OpenSSL on every call, which costs
    more than the hashing itself on these 20-byte payloads.
    """

    __slots__ = ("_inner", "_outer")

    def __init__(self, key: bytes) -> None:
        block = key.ljust(64, b"\x00")  # SHA-1 keys are 20 bytes: never longer than a block
        self._inner = hashlib.sha1(bytes(b ^ 0x36 for b in block))
        self._outer = hashlib.sha1(bytes(b ^ 0x5C for b in block))

    def digest(self, message: bytes) -> bytes:
        inner = self._inner.copy()
        inner.update(message)
        outer = self._outer.copy()
        outer.update(inner.digest())
        return outer.digest()


class _PlainName:
    """A list name JSON writes as it is, with what :meth:`LinkSigner.links` needs to know.

    In ``[digits,"name"]`` every 3-byte sequence holding ``[``, ``,``, ``"`` or
    ``]`` occurs once, so a repeat (what zlib needs to win) lies within the
    digits, within the name, or is shared by both.
    """

    __slots__ = ("digit_grams", "length", "repeats")

    def __init__(self, name: str) -> None:
        grams = [name[i : i + 3] for i in range(len(name) - 2)]
        self.repeats = len(set(grams)) < len(grams)
        self.digit_grams = frozenset(g for g in grams if g.isdigit())
        self.length = len(name)

    @classmethod
    def of(cls, name: str) -> _PlainName | None:
        return cls(name) if _PLAIN.fullmatch(name) and len(name) <= 24 else None

    def may_compress(self, digits: str) -> bool:
        """True when zlib must be asked (itsdangerous would compress this payload)."""
        n = len(digits)
        if self.repeats or n + self.length + 5 > 48:  # 48: see payload()
            return True
        if n < 3:
            return False
        if n > 3 and len(set(digits)) < n:  # a digit repeats: look closer
            grams = [digits[i : i + 3] for i in range(n - 2)]
            if len(set(grams)) < len(grams):
                return True
        if self.digit_grams:
            return any(digits[i : i + 3] in self.digit_grams for i in range(n - 2))
        return False


def _has_repeat(data: bytes) -> bool:
    grams = {data[i : i + 3] for i in range(len(data) - 2)}
    return len(grams) < len(data) - 2


def mailto_unsubscribe(address: str, token: str) -> str:
    """The ``mailto:`` unsubscribe URI; its subject carries the token."""
    return mailto_prefix(address) + token


def mailto_prefix(address: str) -> str:
    """Everything of :func:`mailto_unsubscribe` but the token."""
    return f"mailto:{quote(address, safe='@')}?subject=unsubscribe%20"
