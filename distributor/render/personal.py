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
from typing import Any, NamedTuple
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


def usual_name(name: str) -> bool:
    """True for a name the hot paths take as it is: at most 200 characters, its own
    :func:`header_safe` (no control or invisible character, no doubled or outer
    space), nothing to escape in HTML, no ``=?`` (it would look like RFC 2047).

    ``str.isprintable`` is false for every character :func:`header_safe` removes
    (controls, line separators, and the format characters that
    :func:`~distributor.text_safety.strip_invisible` drops), and for other spaces
    than U+0020 (a no-break space, which is kept, only takes the longer way).
    """
    return (
        len(name) <= 200
        and name.isprintable()
        and "  " not in name
        and name[:1] != " "
        and name[-1:] != " "
        and "&" not in name
        and "<" not in name
        and ">" not in name
        and '"' not in name
        and "=?" not in name
    )


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
        self._lists: dict[str, ListTokens] = {}

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

    def list_tokens(self, list_name: str) -> ListTokens:
        """The signer of one list's tokens (made once per list name, then cached)."""
        made = self._lists.get(list_name)
        if made is None:
            made = self._lists[list_name] = ListTokens(self, list_name)
        return made

    def tokens(self, subscriber_id: int, list_name: str) -> tuple[str, str]:
        """(unsubscribe token, preferences token): what :meth:`links` puts after
        ``/u/`` and ``/p/``."""
        unsub, prefs = self.list_tokens(list_name).pair(subscriber_id)
        return unsub.decode("ascii"), prefs.decode("ascii")

    def links(self, subscriber_id: int, list_name: str) -> tuple[str, str, str]:
        """(unsubscribe URL, preferences URL, unsubscribe token) for one subscriber."""
        unsub_b, prefs_b = self.list_tokens(list_name).pair(subscriber_id)
        unsub = unsub_b.decode("ascii")
        return f"{self.base_url}/u/{unsub}", f"{self.base_url}/p/{prefs_b.decode('ascii')}", unsub


class ListTokens:
    """One list's (unsubscribe, preferences) tokens, as ASCII bytes: the per-reader hot path.

    Exactly :meth:`LinkSigner.token` for both purposes (``test_personal.py``),
    with what does not depend on the reader done once: the JSON prefix of the
    payload, the zlib question for the list name (:class:`_PlainName`), and the
    keyed HMAC states.  Per reader: one base64 payload, two HMAC-SHA1 from copies
    of those states (``hmac.digest`` looks the digest up in OpenSSL on every call,
    which costs more than the hashing of these short payloads), one base64 call
    for both signatures.
    """

    __slots__ = (
        "_cheap_below",
        "_list_name",
        "_plain",
        "_prefs_inner",
        "_prefs_outer",
        "_template",
        "_unsub_inner",
        "_unsub_outer",
    )

    def __init__(self, signer: LinkSigner, list_name: str) -> None:
        self._list_name = list_name
        self._plain = _PlainName.of(list_name)
        self._template = (
            b'[%d,"' + list_name.encode("ascii") + b'"]' if self._plain is not None else b""
        )
        self._cheap_below = _never_compressed_below(self._plain)
        self._unsub_inner, self._unsub_outer = _hmac_states(signer._keys["unsubscribe"])
        self._prefs_inner, self._prefs_outer = _hmac_states(signer._keys["preferences"])

    def pair(self, subscriber_id: int) -> tuple[bytes, bytes]:
        """(unsubscribe token, preferences token) of one reader, as ASCII bytes."""
        plain = self._plain
        if plain is not None and (
            0 <= subscriber_id < self._cheap_below or not plain.may_compress(str(subscriber_id))
        ):
            # no translate: base64 writes "+" or "/" only for a 6-bit group of 62 or 63,
            # which these bytes (digits, "[", ",", '"', "]", [A-Za-z0-9_.-]) never make
            # (byte-aligned groups: low 6 bits at most 58; the others take a top 2 or 4
            # bits of an ASCII byte, at most 01 or 0111)
            payload = b2a_base64(self._template % subscriber_id, newline=False).rstrip(b"=")
        else:
            payload = LinkSigner.payload(subscriber_id, self._list_name)
        inner = self._unsub_inner.copy()
        inner.update(payload)
        outer = self._unsub_outer.copy()
        outer.update(inner.digest())
        unsub = outer.digest()
        inner = self._prefs_inner.copy()
        inner.update(payload)
        outer = self._prefs_outer.copy()
        outer.update(inner.digest())
        dot = payload + b"."
        # both signatures in one base64 call: 20 bytes and a zero byte are 28 characters,
        # the first 27 those of the 20 bytes alone (their padding "=" is the 28th)
        both = b2a_base64(unsub + b"\x00" + outer.digest(), newline=False).translate(_URLSAFE)
        return dot + both[:27], dot + both[28:55]


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def b64url(data: bytes) -> bytes:
    """Unpadded URL-safe base64, as itsdangerous writes it."""
    return binascii.b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


def _hmac_states(key: bytes) -> tuple[Any, Any]:
    """HMAC-SHA1's keyed inner and outer states (RFC 2104), to be copied per message."""
    block = key.ljust(64, b"\x00")  # SHA-1 keys are 20 bytes: never longer than a block
    return (
        hashlib.sha1(bytes(b ^ 0x36 for b in block)),
        hashlib.sha1(bytes(b ^ 0x5C for b in block)),
    )


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


def _never_compressed_below(plain: _PlainName | None) -> int:
    """The ids whose payload itsdangerous never compresses with this list name.

    With a name that repeats no 3-byte sequence and shares none with digits, a
    back-reference can only copy digits: at most ``n - 1`` bytes of ``n`` digits.
    Deflate's fixed codes spend at least 8 bits on every other byte, 12 on a
    back-reference, 10 on the block's header and end, and zlib adds 6 bytes, so
    for ``n <= 8`` the result is at least 2 bytes longer than the payload;
    dynamic codes cost more (their code-length header alone is longer than the
    payload).  itsdangerous keeps the zlib form only when it is shorter, so ids
    below ``10**8`` need not ask zlib, nor look for repeats among their digits.
    ``tests/digests/test_personal.py`` compares with itsdangerous on the ids with
    the most repeats (``11111111``, ``10000000``, ...).
    """
    if plain is None or plain.repeats:
        return 0
    # fewer than 3 digits: no 3-byte sequence lies within them (see may_compress)
    return 10**8 if not plain.digit_grams else 100


def _has_repeat(data: bytes) -> bool:
    grams = {data[i : i + 3] for i in range(len(data) - 2)}
    return len(grams) < len(data) - 2


def mailto_unsubscribe(address: str, token: str) -> str:
    """The ``mailto:`` unsubscribe URI; its subject carries the token."""
    return mailto_prefix(address) + token


def mailto_prefix(address: str) -> str:
    """Everything of :func:`mailto_unsubscribe` but the token."""
    return f"mailto:{quote(address, safe='@')}?subject=unsubscribe%20"
