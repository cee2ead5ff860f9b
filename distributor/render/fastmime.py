"""Ready-to-send messages from a pre-encoded variant, by byte substitution.

Python's ``email`` package costs about a millisecond to build one message.
Here the whole message of a variant (headers, boundary, both bodies in
quoted-printable) is encoded once into a list of byte pieces with *slots* for
the personal parts.  Per subscriber only the slots are filled:

* each personal value is escaped for where it lands (HTML text or attribute,
  URL, RFC 2047 header, plain text) and encoded on its own;
* quoted-printable is what makes this exact: every static piece ends with a
  soft line break (``=`` CRLF), so the next piece starts at column 0, and the
  personal value, encoded separately, ends with one too.  Soft breaks vanish
  when decoding, so the decoded body is exactly the static text with the
  values in place, and no encoded line ever passes 76 octets;
* the pieces are joined with one ``bytes.join``.

The boundary contains ``=_``, which quoted-printable output never contains,
so no body can collide with it.  ``tests/digests/test_fast_equals_naive.py``
parses the result next to the one ``EmailMessage`` builds and compares every
header and every decoded part.
"""

from __future__ import annotations

import hashlib
import re
from binascii import b2a_base64, b2a_qp
from dataclasses import dataclass
from datetime import datetime
from email.header import Header
from email.policy import SMTP
from email.utils import format_datetime, parseaddr
from operator import itemgetter
from typing import Any

from distributor.models import Message, make_message
from distributor.render.personal import ListTokens, Personal, usual_name

#: placeholder tokens the templates render where the personal parts go
PLACEHOLDERS: dict[str, str] = {
    "greeting": "DISTRIBUTORGREETINGX",
    "unsubscribe_url": "DISTRIBUTORUNSUBSCRIBEURLX",
    "preferences_url": "DISTRIBUTORPREFERENCESURLX",
}
_BY_TOKEN = {v: k for k, v in PLACEHOLDERS.items()}
_SPLIT = re.compile("(" + "|".join(PLACEHOLDERS.values()) + ")")
_SPECIALS = frozenset('()<>@,:;."[]\\')
#: an address that is written as is: dot-atom local part, plain domain
SIMPLE_ADDRESS = re.compile(
    r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@[A-Za-z0-9.-]+"
)
_MAX_QP = 76
_HTML_SPECIAL = re.compile('[&<>"]')


def message_id_digest(key: str) -> str:
    """The reader's part of a Message-ID: the first 24 hex digits of SHA-256 of the key."""
    return hashlib.sha256(key.encode()).hexdigest()[:24]


def message_id_for(key: str, edition_key: str, domain: str) -> str:
    """A stable Message-ID on the sender's domain: the same ledger key, the same id."""
    return f"<{message_id_digest(key)}.{edition_key}@{domain}>"


def escape_html_text(value: str) -> str:
    """Escape for an HTML text node, the way lxml serializes one (``&``, ``<``, ``>``)."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape_html_attr(value: str) -> str:
    """Escape for a double-quoted HTML attribute."""
    return escape_html_text(value).replace('"', "&quot;")


# ------------------------------------------------------------ quoted-printable
def qp_encode(data: bytes) -> bytes:
    """Quoted-printable with CRLF line ends (``b2a_qp`` writes LF)."""
    encoded = b2a_qp(data, istext=True)
    return encoded.replace(b"\n", b"\r\n") if b"\n" in encoded else encoded


def qp_piece(data: bytes) -> bytes:
    """``data`` encoded so that the next piece starts on a fresh line.

    A piece that does not end with a hard line break gets a soft one; its last
    line is split first when the ``=`` would take it past 76 octets (never in
    the middle of an ``=XX`` escape).
    """
    encoded = qp_encode(data)
    if not encoded or encoded.endswith(b"\r\n"):
        return encoded
    start = encoded.rfind(b"\r\n") + 2 if b"\r\n" in encoded else 0
    last = encoded[start:]
    if len(last) < _MAX_QP:
        return encoded + b"=\r\n"
    cut = _MAX_QP - 3
    if last[cut - 1 : cut] == b"=":
        cut -= 1
    elif last[cut - 2 : cut - 1] == b"=":
        cut -= 2
    return encoded[:start] + last[:cut] + b"=\r\n" + last[cut:] + b"=\r\n"


_QP_SAFE = re.compile(rb"[ -<>-~]*[!-<>-~]")


def qp_value(value: str) -> bytes:
    """A personal value as a quoted-printable piece (see :func:`qp_piece`), fast for ASCII."""
    data = value.encode("utf-8")
    if _QP_SAFE.fullmatch(data):  # printable ASCII, no '=', no trailing blank: as is
        n = len(data)
        if n < _MAX_QP:
            return data + b"=\r\n"
        if n <= 150:  # a link: two lines
            return data[:75] + b"=\r\n" + data[75:] + b"=\r\n"
        return b"=\r\n".join([data[i : i + 75] for i in range(0, n, 75)]) + b"=\r\n"
    return qp_piece(data)


# ------------------------------------------------------------------ headers
# an ASCII display name or word up to this long is written as it is; a longer one
# is encoded so that every header line stays within RFC 5322's 998 octets
_LONGEST_PLAIN = 500


def encode_display_name(name: str) -> str:
    """A display name for an address header: atoms, a quoted string or RFC 2047 words.

    The encoded words carry the spaces inside them, so a decoder gives back
    exactly ``name`` (the ``email`` package's folder can drop the space
    between two encoded words).
    """
    if name.isascii() and "=?" not in name and len(name) <= _LONGEST_PLAIN:
        return name if _SPECIALS.isdisjoint(name) else _quoted(name)
    # non-ASCII, or too long for one header line (RFC 5322: 998 octets): encoded
    # words, one per folded line, whatever the script and even without a space
    data = name.encode("utf-8")
    words = []
    # 45 bytes -> 60 base64 characters: each encoded-word stays within 75
    i = 0
    while i < len(data):
        j = min(i + 45, len(data))
        while j < len(data) and (data[j] & 0xC0) == 0x80:  # never split a character
            j -= 1
        words.append("=?utf-8?b?" + b2a_base64(data[i:j], newline=False).decode("ascii") + "?=")
        i = j
    return "\r\n ".join(words)


def encode_address(value: str) -> str:
    """``Name <addr>`` or ``addr``, encoded for an address header."""
    name, addr = parseaddr(value)
    return f"{encode_display_name(name)} <{addr}>" if name else addr


def encode_unstructured(name: str, value: str) -> str:
    """An unstructured header value (Subject), RFC 2047-encoded and folded when needed."""
    charset = "us-ascii" if value.isascii() and "=?" not in value else "utf-8"
    if charset == "us-ascii" and any(len(w) > _LONGEST_PLAIN for w in value.split()):
        charset = "utf-8"  # a word longer than a line can be folded only as encoded words
    return Header(value, charset, maxlinelen=78, header_name=name).encode(linesep="\r\n")


def encode_header(name: str, value: str) -> str:
    """The encoded value of one of the digest's own headers."""
    lower = name.lower()
    if lower in ("from", "reply-to", "to"):
        return encode_address(value)
    if lower == "list-id":
        phrase, _, ident = value.rpartition(" <")
        return f"{encode_display_name(phrase)} <{ident}" if phrase else value
    if value.isascii() and len(value) < 900:
        return value
    return encode_unstructured(name, value)


def api_header(name: str, value: str) -> str:
    """A header value as an HTTP API's header field takes it: printable ASCII on one line.

    Non-ASCII text is RFC 2047-encoded, exactly as the MIME message would carry it
    (an address header's display name, the phrase of ``List-Id``, unstructured
    text); the encoded words are separated by a space, never a line break.
    ASCII values are returned as they are.
    """
    if value.isascii() and "=?" not in value:
        return value
    return encode_header(name, value).replace("\r\n ", " ").replace("\r\n\t", " ")


def display_address(name: str, email: str) -> str:
    """The address as ``str()`` of a parsed header shows it (``Address.__str__``)."""
    if not name:
        return email
    if not _SPECIALS.isdisjoint(name):
        name = _quoted(name)
    return f"{name} <{email}>"


def fold_header(name: str, value: str) -> bytes:
    """One whole header line, encoded (once per variant)."""
    return f"{name}: {encode_header(name, value)}\r\n".encode("ascii")


@dataclass(frozen=True, slots=True)
class StaticHeader:
    name: str
    value: str


# one entry of a message layout: static bytes or a slot name
_Piece = bytes | str


class PreparedMessage:
    """One variant's message, pre-encoded, with slots for the personal parts."""

    def __init__(
        self,
        *,
        text: str,
        html: str,
        subject: str,
        envelope_sender: str,
        headers_before_to: list[StaticHeader],
        headers_after_to: list[StaticHeader],
        headers_after_date: list[StaticHeader],
        headers_tail: list[StaticHeader],
        content_language: str,
        edition_key: str,
        domain: str,
        boundary: str,
        plain_links: bool = False,
    ) -> None:
        self.subject = subject
        self.envelope_sender = envelope_sender
        self.edition_key = edition_key
        self.domain = domain
        #: the caller's promise that the links need no HTML escaping (base URL checked)
        self.plain_links = plain_links
        #: what the caller built this from, to notice a changed variant (see DigestRenderer)
        self.source: tuple[Any, ...] = (subject, html, text)
        # (now, the Date header, its value's bytes): one tuple, so a reader of it (this
        # message's build() or its Personalizer, in any thread) never mixes two readings
        self._date_cache: tuple[datetime, tuple[str, str], bytes] | None = None
        #: the renderer's :class:`Personalizer` of this message (made on first use)
        self.personalizer: Personalizer | None = None

        text_static, text_fields = _split(text)
        html_static, html_fields = _split(html)
        html_contexts = _html_contexts(html_static, len(html_fields))

        layout: list[_Piece] = []

        def static(headers: list[StaticHeader]) -> None:
            for h in headers:
                layout.append(fold_header(h.name, h.value))

        static(headers_before_to)
        layout += [b"To: ", "h::to", b"\r\n"]
        static(headers_after_to)
        layout += [b"Date: ", "h::date", b"\r\nMessage-ID: ", "h::message_id", b"\r\n"]
        static(headers_after_date)
        layout += [b"List-Unsubscribe: ", "h::list_unsubscribe", b"\r\n"]
        static(headers_tail)
        layout.append(
            b"MIME-Version: 1.0\r\nContent-Type: multipart/alternative;\r\n"
            + f' boundary="{boundary}"\r\n'.encode("ascii")
            + fold_header("Content-Language", content_language)
            + b"\r\n"
        )
        part_head = (
            f'--{boundary}\r\nContent-Type: text/%s; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        )
        layout.append((part_head % "plain").encode("ascii"))
        _body(layout, text_static, [f"t:text:{f}" for f in text_fields])
        layout.append(b"\r\n" + (part_head % "html").encode("ascii"))
        _body(
            layout,
            html_static,
            [f"m:{c}:{f}" for f, c in zip(html_fields, html_contexts, strict=True)],
        )
        layout.append(f"\r\n--{boundary}--\r\n".encode("ascii"))

        # Merge neighbouring static pieces, then describe the message as indexes
        # into "static pieces + this message's values": itemgetter() assembles
        # it in C, with no Python loop per message.
        merged: list[bytes] = []
        order: list[int | str] = []
        for piece in layout:
            if isinstance(piece, bytes):
                if order and isinstance(order[-1], int):
                    merged[-1] += piece
                else:
                    order.append(len(merged))
                    merged.append(piece)
            else:
                order.append(piece)
        self._raw_static = merged
        self._raw_order = order
        base = len(merged)
        self._raw_pick = itemgetter(
            *(i if isinstance(i, int) else base + _raw_value_index(i) for i in order)
        )
        self._text_static, self._text_pick = _picker(
            text_static, [_value_index("t", "text", f) for f in text_fields]
        )
        self._html_static, self._html_pick = _picker(
            html_static,
            [_value_index("m", c, f) for f, c in zip(html_fields, html_contexts, strict=True)],
        )
        content_language_str = _header_str(StaticHeader("Content-Language", content_language))
        self._static_headers = (
            tuple((h.name, _header_str(h)) for h in headers_before_to),
            tuple((h.name, _header_str(h)) for h in headers_after_to),
            tuple((h.name, _header_str(h)) for h in headers_after_date),
            (
                *((h.name, _header_str(h)) for h in headers_tail),
                ("Content-Language", content_language_str),
            ),
        )

    def date(self, now: datetime) -> str:
        """The Date header for ``now`` (cached: a batch shares one clock reading)."""
        return self.dated(now)[1][1]

    def dated(self, now: datetime) -> tuple[datetime, tuple[str, str], bytes]:
        """(``now``, the header ``("Date", value)``, the value's bytes), cached per reading."""
        cached = self._date_cache
        if cached is not None and cached[0] == now:
            return cached
        value = format_datetime(now)
        cached = self._date_cache = (now, ("Date", value), value.encode("ascii"))
        return cached

    def build(
        self,
        key: str,
        recipient: str,
        name: str,
        personal: Personal,
        list_unsubscribe: str,
        now: datetime,
        /,
        parts: bool = True,
    ) -> Message:
        """The complete message for one subscriber.

        With ``parts=False`` only ``raw`` (and the headers) are built and ``text``
        and ``html`` are left empty: transports that send MIME never read them,
        and building two more copies of the body is most of a message's cost.

        ``recipient`` must be a plain ASCII address (see :data:`SIMPLE_ADDRESS`)
        and ``name`` and ``list_unsubscribe`` free of CR, LF and NUL (see
        :func:`distributor.render.personal.header_safe`).
        """
        _now, date_header, date_bytes = self.dated(now)
        message_id = message_id_for(key, self.edition_key, self.domain)
        g, u, p = personal.greeting, personal.unsubscribe_url, personal.preferences_url
        search = _HTML_SPECIAL.search
        gt, ga = (escape_html_text(g), escape_html_attr(g)) if search(g) else (g, g)
        if self.plain_links:  # the links' base has nothing to escape, the tokens never do
            ut = ua = u
            pt = pa = p
        else:
            ut, ua = (escape_html_text(u), escape_html_attr(u)) if search(u) else (u, u)
            pt, pa = (escape_html_text(p), escape_html_attr(p)) if search(p) else (p, p)

        qg = qp_value(g)
        qu = qp_value(u)
        qp = qp_value(p)
        qgt = qg if gt is g else qp_value(gt)
        qut = qu if ut is u else qp_value(ut)
        qpt = qp if pt is p else qp_value(pt)
        raw = b"".join(
            self._raw_pick(
                [
                    *self._raw_static,
                    f"{encode_display_name(name)} <{recipient}>".encode("ascii")
                    if name
                    else recipient.encode("ascii"),
                    date_bytes,
                    message_id.encode("ascii"),
                    # one URI per line: the line stays short, unfolding gives the value back
                    list_unsubscribe.replace(">, <", ">,\r\n <", 1).encode("ascii"),
                    qg,
                    qu,
                    qp,
                    qgt,
                    qut,
                    qpt,
                    qgt if ga is gt else qp_value(ga),
                    qut if ua is ut else qp_value(ua),
                    qpt if pa is pt else qp_value(pa),
                ]
            )
        )
        if parts:
            values = [g, u, p, gt, ut, pt, ga, ua, pa]
            text = "".join(self._text_pick(self._text_static + values))
            html = "".join(self._html_pick(self._html_static + values))
        else:
            text = html = ""
        before, after_to, after_date, tail = self._static_headers
        return Message(
            key=key,
            sender=self.envelope_sender,
            recipient=recipient,
            subject=self.subject,
            message_id=message_id,
            raw=raw,
            text=text,
            html=html,
            headers=(
                *before,
                ("To", display_address(name, recipient)),
                *after_to,
                date_header,
                ("Message-ID", message_id),
                *after_date,
                ("List-Unsubscribe", list_unsubscribe),
                *tail,
            ),
        )


class Personalizer:
    """:meth:`PreparedMessage.build` for the usual reader, with the per-reader work cut
    to what depends on the reader.

    The usual reader: a plain ASCII address (:data:`SIMPLE_ADDRESS`) and a name of
    at most 200 characters that needs no cleaning or escaping
    (:func:`~distributor.render.personal.usual_name`); the variant's links need
    no escaping.  For anyone else :meth:`message` returns None and the caller
    uses :meth:`PreparedMessage.build`, which this is byte for byte
    (``tests/digests/test_fast_equals_naive.py``).

    The message is the prepared one's layout with each slot opened up: what
    does not depend on the reader (the links' base URL, the greeting's words,
    the ``mailto:`` address, the Message-ID's tail, quoted-printable's soft line
    breaks) joins the static bytes, so per reader only these are made: the two
    tokens (:class:`~distributor.render.personal.ListTokens`), the name in the
    greeting (quoted-printable), the Message-ID digest, the ``To`` address, the
    two cuts of each link where quoted-printable breaks its line; then one
    ``bytes.join``.  A usual name has nothing to escape, so the HTML part's
    slots take the same values as the text part's.
    """

    def __init__(
        self,
        prepared: PreparedMessage,
        tokens: ListTokens,
        base_url: str,
        greetings: tuple[str, str],
        mailto: str | None,
        owner: tuple[object, str, str],
    ) -> None:
        self.prepared = prepared
        #: who made it (a renderer, for its signer) and for which list and language
        self.renderer, self.list_name, self.language = owner
        self._pair = tokens.pair
        self._u_prefix = u_prefix = f"{base_url}/u/"
        self._p_prefix = p_prefix = f"{base_url}/p/"
        self._mailto = mailto or ""
        fixed = len(u_prefix) + (len(mailto) + 6 if mailto else 2)
        #: the longest token for which List-Unsubscribe stays under 900 characters
        self._max_token = (899 - fixed) // (2 if mailto else 1)
        hello_name, hello = greetings
        sentinel = "\x00name\x00"
        around = (hello_name % {"name": sentinel}).split(sentinel)
        # the name in Unicode isolates (FSI ... PDI), as DigestRenderer._personal puts it
        head = (around[0] + "\u2068").encode("utf-8")
        tail = ("\u2069" + around[-1]).encode("utf-8")
        self._hello_head, self._hello_tail = head, tail
        qp_head, qp_tail = qp_encode(head), qp_encode(tail)
        self._qp_head, self._qp_tail = qp_head, qp_tail + b"=\r\n"
        #: the longest quoted-printable name for which the greeting stays on one line
        self._name_room = _MAX_QP - 1 - len(qp_head) - len(qp_tail)
        self._plain_hello = (qp_value(hello), b"", b"")
        self._hello = hello
        self.usable = (
            prepared.plain_links
            and _QP_SAFE.fullmatch(u_prefix.encode("utf-8")) is not None
            and _QP_SAFE.fullmatch(p_prefix.encode("utf-8")) is not None
            and len(u_prefix) < 75
            and len(p_prefix) < 75
            and (not mailto or mailto.isascii())
            and len(around) == 2
            and _HTML_SPECIAL.search(hello_name % {"name": ""}) is None
            and _HTML_SPECIAL.search(hello) is None
            and self._name_room > 0
        )
        # qp_value() of a link: on one line up to 75 characters, else cut after the 75th
        self._u_cut, self._p_cut = 75 - len(u_prefix), 75 - len(p_prefix)
        self._id_tail = f".{prepared.edition_key}@{prepared.domain}>"

        # the layout: build()'s, each slot opened into static bytes and per-reader values
        soft = b"=\r\n"
        slots: dict[str, list[bytes | int]] = {
            "h::to": [_TO],
            "h::date": [_DATE],
            "h::message_id": [b"<", _DIGEST, self._id_tail.encode("ascii")],
            "h::list_unsubscribe": (
                [b"<" + u_prefix.encode(), _TOKEN, b">,\r\n <" + mailto.encode(), _TOKEN, b">"]
                if mailto
                else [b"<" + u_prefix.encode(), _TOKEN, b">"]
            ),
        }
        fields: dict[str, list[bytes | int]] = {
            # with a name: the greeting's words and the name; without one (or with a
            # name too long for one line): the whole greeting in the first
            "greeting": [_G_HEAD, _NAME, _G_TAIL],
            "unsubscribe_url": [u_prefix.encode(), _U_HEAD, _U_BREAK, _U_TAIL, soft],
            "preferences_url": [p_prefix.encode(), _P_HEAD, _P_BREAK, _P_TAIL, soft],
        }
        pieces: list[bytes | int] = []
        for item in prepared._raw_order:
            if isinstance(item, int):
                pieces.append(prepared._raw_static[item])
            elif item in slots:
                pieces += slots[item]
            else:
                pieces += fields[item.rsplit(":", 1)[1]]
        static: list[bytes] = []
        order: list[int | tuple[int]] = []
        for piece in pieces:
            if isinstance(piece, bytes):
                if order and isinstance(order[-1], int):
                    static[-1] += piece
                else:
                    order.append(len(static))
                    static.append(piece)
            else:
                order.append((piece,))
        self._static = static
        base = len(static)
        self._pick = itemgetter(*(i if isinstance(i, int) else base + i[0] for i in order))

    def message(
        self, subscriber_id: int, email: str, name: str, key: str, now: datetime, parts: bool
    ) -> Message | None:
        """One reader's message, or None for a reader that is not the usual one."""
        if SIMPLE_ADDRESS.fullmatch(email) is None or not usual_name(name):
            return None
        unsub, prefs = self._pair(subscriber_id)
        t = len(unsub)
        cut = self._u_cut
        if t <= cut:
            u_cuts: tuple[bytes, bytes, bytes] = (unsub, b"", b"")
        elif t <= cut + 75 and t <= self._max_token:
            u_cuts = (unsub[:cut], b"=\r\n", unsub[cut:])
        else:
            return None
        t = len(prefs)
        cut = self._p_cut
        if t <= cut:
            p_cuts: tuple[bytes, bytes, bytes] = (prefs, b"", b"")
        elif t <= cut + 75:
            p_cuts = (prefs[:cut], b"=\r\n", prefs[cut:])
        else:
            return None
        dated = self.prepared.dated(now)  # as build() writes it, one clock reading a batch
        if name:
            name_b = name.encode("utf-8")
            quoted = b2a_qp(name_b, istext=True)
            if len(quoted) <= self._name_room and name != ".":
                greeting = (self._qp_head, quoted, self._qp_tail)
            else:  # the greeting takes two lines (or a lone "." would be encoded)
                greeting = (qp_piece(self._hello_head + name_b + self._hello_tail), b"", b"")
            # display_address() and encode_display_name(), which agree for ASCII names
            to = display_address(name, email)
            if name.isascii():
                to_b = to.encode("ascii")
            else:
                to_b = f"{encode_display_name(name)} <{email}>".encode("ascii")
        else:
            greeting = self._plain_hello
            to = email
            to_b = email.encode("ascii")
        digest = message_id_digest(key)
        message_id = "<" + digest + self._id_tail
        raw = b"".join(
            self._pick(
                [
                    *self._static,
                    to_b,
                    dated[2],
                    digest.encode("ascii"),
                    unsub,
                    *greeting,
                    *u_cuts,
                    *p_cuts,
                ]
            )
        )
        unsub_s = unsub.decode("ascii")
        if self._mailto:
            list_unsubscribe = f"<{self._u_prefix}{unsub_s}>, <{self._mailto}{unsub_s}>"
        else:
            list_unsubscribe = f"<{self._u_prefix}{unsub_s}>"
        prepared = self.prepared
        if parts:
            gs = self._personal_greeting(name)
            us = self._u_prefix + unsub_s
            ps = self._p_prefix + prefs.decode("ascii")
            values = [gs, us, ps, gs, us, ps, gs, us, ps]
            text = "".join(prepared._text_pick(prepared._text_static + values))
            html = "".join(prepared._html_pick(prepared._html_static + values))
        else:
            text = html = ""
        before, after_to, after_date, tail = prepared._static_headers
        return make_message(
            key,
            prepared.envelope_sender,
            email,
            prepared.subject,
            message_id,
            raw,
            text,
            html,
            (
                *before,
                ("To", to),
                *after_to,
                dated[1],
                ("Message-ID", message_id),
                *after_date,
                ("List-Unsubscribe", list_unsubscribe),
                *tail,
            ),
        )

    def _personal_greeting(self, name: str) -> str:
        """The greeting as DigestRenderer._personal writes it."""
        if not name:
            return self._hello
        return (self._hello_head + name.encode("utf-8") + self._hello_tail).decode("utf-8")


# the per-reader values of Personalizer's layout
_TO, _DATE, _DIGEST, _TOKEN, _G_HEAD, _NAME, _G_TAIL = range(7)
_U_HEAD, _U_BREAK, _U_TAIL, _P_HEAD, _P_BREAK, _P_TAIL = range(7, 13)


def _quoted(name: str) -> str:
    """A display name as an RFC 5322 quoted string (backslash and quote escaped)."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


_FIELDS = ("greeting", "unsubscribe_url", "preferences_url")
_HEADER_SLOTS = ("h::to", "h::date", "h::message_id", "h::list_unsubscribe")


def _raw_value_index(slot: str) -> int:
    """Index of a slot in the per-message vector of encoded values (see ``build``)."""
    if slot in _HEADER_SLOTS:
        return _HEADER_SLOTS.index(slot)
    kind, context, name = slot.split(":")
    return len(_HEADER_SLOTS) + _value_index(kind, context, name)


def _picker(static: list[str], indexes: list[int]) -> tuple[list[str], itemgetter[Any]]:
    """(static pieces, getter) that interleave the pieces with values[indexes]."""
    base = len(static)
    order: list[int] = []
    for i in range(len(static)):
        order.append(i)
        if i < len(indexes):
            order.append(base + indexes[i])
    if len(order) == 1:  # itemgetter with one index returns the item, not a tuple
        return [static[0], ""], itemgetter(0, 1)
    return static, itemgetter(*order)


def _value_index(kind: str, context: str, field: str) -> int:
    """Index into the per-message values: raw, HTML-text-escaped, HTML-attribute-escaped."""
    offset = 0 if kind == "t" else (3 if context == "text" else 6)
    return offset + _FIELDS.index(field)


def _split(body: str) -> tuple[list[str], list[str]]:
    parts = _SPLIT.split(body)
    return parts[0::2], [_BY_TOKEN[p] for p in parts[1::2]]


def _html_contexts(static: list[str], count: int) -> list[str]:
    """For each slot: ``attr`` when it sits inside a tag, else ``text``."""
    contexts = []
    inside = False
    for piece in static[:count]:
        lt, gt = piece.rfind("<"), piece.rfind(">")
        if lt != gt:  # the piece has a tag bracket: its last one decides
            inside = lt > gt
        contexts.append("attr" if inside else "text")
    return contexts


def _body(layout: list[_Piece], static: list[str], slots: list[str]) -> None:
    for i, piece in enumerate(static):
        data = piece.encode("utf-8")
        if i < len(slots):
            layout.append(qp_piece(data))
            layout.append(slots[i])
        else:
            layout.append(qp_encode(data))


def _header_str(header: StaticHeader) -> str:
    return str(SMTP.header_factory(header.name, header.value))


def template_slots(
    text: str, html: str
) -> tuple[list[str], list[str], list[str], list[tuple[str, str]]]:
    """Where the personal parts of a variant go, for batch templates.

    Returns the static pieces of the text body and the field of each slot
    between them, and the same for the HTML body with each slot's context
    (``text`` or ``attr``), exactly as :class:`PreparedMessage` splits them.
    """
    text_static, text_fields = _split(text)
    html_static, html_fields = _split(html)
    contexts = _html_contexts(html_static, len(html_fields))
    return text_static, text_fields, html_static, list(zip(html_fields, contexts, strict=True))
