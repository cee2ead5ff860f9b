"""Text from outside (feed titles, names, providers' replies) made safe for where it lands.

Two places take characters that change how the rest is shown:

* a **terminal**: C0/C1 control characters (ESC starts an escape sequence, BEL
  rings, CR rewrites the line) and invisible formatting characters.
  :func:`visible` writes each as its escape (``\\x1b``, ``\\u202e``), so the
  reader sees what the text holds and the terminal interprets nothing.  Rich
  markup is a separate matter: the CLI's consoles never parse markup in text
  (``distributor/cli/terminal.py``).
* a **mail header or a post**: a Subject or display name with a bidi override
  (``Invoice \\u202efdp.exe`` shows as ``Invoice exe.pdf``) or zero-width
  characters (a look-alike sender name).  :func:`strip_invisible` drops the
  bidi embeddings, overrides and isolates, the marks that have no visible use
  in a one-line header, the zero-width space, word joiner and byte-order mark;
  ``render.personal.header_safe`` (every header value of a digest) applies it
  and turns control characters into spaces.  The zero-width joiner and
  non-joiner are kept between two letters, marks or symbols (Persian and
  Indic spelling, emoji sequences need them) and dropped elsewhere.

* a **CSV cell** opened in a spreadsheet: a cell starting with ``=``, ``+``,
  ``-``, ``@``, a tab or a carriage return is a formula there (OWASP's "CSV
  injection").  :func:`csv_cell` puts an apostrophe before such a cell, as
  OWASP advises (the csv module then quotes and doubles what needs it), and
  :func:`unescape_cell` takes it off again when our own export is imported.

Decided here (the issue is silent): LRM/RLM/ALM marks are dropped from
headers too; the reader's mail client lays out a right-to-left subject by
itself (the Unicode bidi algorithm), and a mark cannot reorder what follows it
as an override can, but no newsroom subject needs one.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any

__all__ = [
    "BIDI_CONTROLS",
    "FORMULA_LEADS",
    "ZERO_WIDTH",
    "csv_cell",
    "strip_invisible",
    "terminal_json",
    "unescape_cell",
    "visible",
]

#: embeddings, overrides, pop, isolates (UAX #9) and the three marks
BIDI_CONTROLS = frozenset(
    "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
)
#: zero-width space, word joiner, invisible operators, BOM, Mongolian vowel separator
ZERO_WIDTH = frozenset("\u200b\u2060\u2061\u2062\u2063\u2064\ufeff\u180e")
_JOINERS = frozenset("\u200c\u200d")  # ZWNJ, ZWJ: kept between letters

_INVISIBLE = BIDI_CONTROLS | ZERO_WIDTH | _JOINERS
_TERMINAL_UNSAFE = re.compile(
    "[\x00-\x08\x0b-\x1f\x7f-\x9f" + "".join(sorted(_INVISIBLE)) + "\u2028\u2029]"
)
_TERMINAL_UNSAFE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f" + "".join(sorted(_INVISIBLE)) + "\u2028\u2029]"
)


_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED:
        return _NAMED[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _json_escape(match: re.Match[str]) -> str:
    return json.dumps(match.group())[1:-1]  # "\\uXXXX", as ensure_ascii writes it


def terminal_json(data: Any, *, indent: int | None = 2) -> str:
    """``data`` as JSON for a terminal: non-ASCII text as it is (Arabic, Chinese), each
    control and invisible formatting character (the ones :func:`visible` escapes)
    as its ``\\uXXXX`` escape.

    ``json.dumps(ensure_ascii=False)`` escapes only C0 controls, so a title's
    U+009B (CSI) or U+202E would reach the terminal raw; ``ensure_ascii=True``
    makes every Arabic title unreadable.  Outside its strings JSON is ASCII, so
    the escapes land only inside strings and the value parses back exactly.
    """
    return _TERMINAL_UNSAFE.sub(_json_escape, json.dumps(data, ensure_ascii=False, indent=indent))


def visible(text: str, *, one_line: bool = True) -> str:
    """``text`` with every control and invisible formatting character written as its escape.

    ``one_line`` escapes newlines and tabs too (a table cell, a one-line
    error); otherwise they are kept (a multi-line message).
    """
    pattern = _TERMINAL_UNSAFE_LINE if one_line else _TERMINAL_UNSAFE
    return pattern.sub(_escape, text)


_HIDDEN = re.compile("[" + "".join(sorted(_INVISIBLE)) + "]")


def _joins(before: str, after: str) -> bool:
    return bool(before and after) and all(
        unicodedata.category(c)[0] in "LMS" for c in (before, after)
    )


def strip_invisible(text: str) -> str:
    """``text`` without bidi controls and zero-width characters (joiners kept between letters).

    Fast when there is nothing to strip (one regular-expression search).
    """
    if not _HIDDEN.search(text):
        return text
    out: list[str] = []
    for i, char in enumerate(text):
        if char in BIDI_CONTROLS or char in ZERO_WIDTH:
            continue
        if char in _JOINERS:
            after = next((c for c in text[i + 1 :] if c not in _INVISIBLE), "")
            if _joins(out[-1] if out else "", after):
                out.append(char)
            continue
        out.append(char)
    return "".join(out)


#: what makes a spreadsheet read a cell as a formula (OWASP, CSV injection)
FORMULA_LEADS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: object) -> str:
    """``value`` as a CSV cell that no spreadsheet runs: ``'`` before a formula-leading one."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_LEADS) else text


def unescape_cell(text: str) -> str:
    """The inverse of :func:`csv_cell` (a cell that starts ``'=`` is read as ``=``)."""
    if text.startswith("'") and text[1:].startswith(FORMULA_LEADS):
        return text[1:]
    return text
