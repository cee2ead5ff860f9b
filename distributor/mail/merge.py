"""Factor a batch of personal messages into one template plus per-recipient values.

Batch APIs send one template with per-recipient substitutions (Mailgun's
``recipient-variables``, SendGrid's ``substitutions``, SES's replacement
template data, Brevo's ``params``).  Every digest message of one edition is
the same variant with a few personal parts (greeting, unsubscribe and
preference links, headers), so a batch factors into a small template and a
few short values per recipient.

The factoring is exact by construction: for every message, the template's
static parts and that message's values concatenate back to the original
text, byte for byte.  It works on tokens (split after every ``>`` and every
newline): the first message is the reference, a message that does not fit
the current template is diffed against the reference (:mod:`difflib`) and the
differing token ranges become variables.  Most messages fit at once (a
couple of ``str.find`` calls).  When nothing fits, a field falls back to one
variable holding the whole value, which is still exact.

Static text that contains the provider's own substitution syntax is turned
into a variable as well (with the same value for everyone), so a literal
``%recipient.x%`` or ``{{`` in a story can never be mistaken for a
placeholder.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from difflib import SequenceMatcher

from distributor.models import Message
from distributor.render.fastmime import api_header

_SPLIT = re.compile(r"(?<=[>\n])")
#: headers that are fields of every API (or MIME structure), never custom headers
STANDARD_HEADERS = frozenset(
    {"from", "to", "cc", "bcc", "subject", "date", "reply-to", "sender", "mime-version"}
)


@dataclass(frozen=True, slots=True)
class Var:
    name: str


Part = str | Var


@dataclass(frozen=True, slots=True)
class Template:
    """Static text and variables, in order."""

    parts: tuple[Part, ...]

    def render(self, placeholder: Callable[[str], str]) -> str:
        return "".join(p if isinstance(p, str) else placeholder(p.name) for p in self.parts)

    def fill(self, values: dict[str, str]) -> str:
        return "".join(p if isinstance(p, str) else values[p.name] for p in self.parts)

    @property
    def variables(self) -> list[str]:
        return [p.name for p in self.parts if isinstance(p, Var)]


@dataclass
class MergedBatch:
    """One template for a group of messages, and each message's values."""

    messages: Sequence[Message]
    subject: Template
    text: Template
    html: Template
    headers: list[tuple[str, Template]]
    values: list[dict[str, str]] = field(default_factory=list)

    def personal_headers(self) -> list[str]:
        """Names of headers whose value differs between recipients."""
        return [n for n, t in self.headers if t.variables]


def custom_headers(message: Message) -> list[tuple[str, str]]:
    """The message's headers that an API takes as custom headers, RFC 2047-encoded
    where not ASCII (a list title in ``List-Id``): providers take header values as
    they go on the wire, and several (SES, SendGrid) refuse or mangle raw UTF-8."""
    return [(k, api_header(k, v)) for k, v in message.headers if k.lower() not in STANDARD_HEADERS]


def reply_to(message: Message) -> str | None:
    for k, v in message.headers:
        if k.lower() == "reply-to":
            return v
    return None


def header_address(message: Message, name: str = "From") -> str | None:
    """``From`` (or ``Reply-To``) as an API that takes ``Name <addr>`` strings wants it
    (Postmark, Resend, Mailgun, SES): as it goes on the wire, a name with specials
    quoted, a non-ASCII name in RFC 2047 encoded words (``fastmime.api_header``), so no
    provider guesses at raw UTF-8 or reads ``Doe, Jane`` as two addresses."""
    lower = name.lower()
    value = next((v for k, v in message.headers if k.lower() == lower), None)
    if value is None and lower == "from":
        value = message.sender
    return None if value is None else api_header(name, value)


def group_key(message: Message) -> tuple[str, tuple[str, ...]]:
    """Messages with the same key can share one template."""
    return message.sender, tuple(k for k, _ in custom_headers(message))


def groups(messages: Iterable[Message]) -> list[list[Message]]:
    """Messages grouped by :func:`group_key`, first appearance first."""
    out: dict[tuple[str, tuple[str, ...]], list[Message]] = {}
    for m in messages:
        out.setdefault(group_key(m), []).append(m)
    return list(out.values())


def merge(messages: Sequence[Message], forbidden: Sequence[str] = ()) -> MergedBatch:
    """Factor ``messages`` (one :func:`groups` group) into a :class:`MergedBatch`."""
    counter = _Counter()
    values: list[dict[str, str]] = [{} for _ in messages]
    subject = _factor([m.subject for m in messages], counter, values, forbidden)
    text = _factor([m.text for m in messages], counter, values, forbidden)
    html = _factor([m.html for m in messages], counter, values, forbidden)
    headers = []
    columns = [custom_headers(m) for m in messages]
    for i, (name, _) in enumerate(columns[0]):
        column = [c[i][1] for c in columns]
        headers.append((name, _factor(column, counter, values, forbidden)))
    return MergedBatch(messages, subject, text, html, headers, values)


class _Counter:
    def __init__(self) -> None:
        self.n = 0

    def next(self) -> str:
        self.n += 1
        return f"v{self.n}"


def _tokens(value: str) -> list[str]:
    return [t for t in _SPLIT.split(value) if t]


def _unsafe_pieces(static: str, forbidden: Sequence[str]) -> Iterator[tuple[str, bool]]:
    """``static`` as runs of safe tokens ``(text, False)`` and single tokens holding the
    provider's own syntax ``(token, True)``, in order; they concatenate to ``static``."""
    clean = ""
    for token in _tokens(static):
        if not any(f in token for f in forbidden):
            clean += token
            continue
        if clean:
            yield clean, False
            clean = ""
        yield token, True
    if clean:
        yield clean, False


def _factor(
    column: list[str],
    counter: _Counter,
    values: list[dict[str, str]],
    forbidden: Sequence[str],
) -> Template:
    statics, per_message = _statics(column)
    parts: list[Part] = []
    names: list[str] = []
    # statics alternate with variables: s0 v s1 v s2 ... sk
    for i, static in enumerate(statics):
        if static and any(f in static for f in forbidden):
            # only the pieces holding the provider's syntax become (constant) values
            for piece, syntax in _unsafe_pieces(static, forbidden):
                if not syntax:
                    parts.append(piece)
                    continue
                name = counter.next()
                parts.append(Var(name))
                for row in values:
                    row[name] = piece
        elif static:
            parts.append(static)
        if i < len(statics) - 1:
            name = counter.next()
            names.append(name)
            parts.append(Var(name))
    for row, found in zip(values, per_message, strict=True):
        for name, value in zip(names, found, strict=True):
            row[name] = value
    return Template(tuple(parts))


def _statics(column: list[str]) -> tuple[list[str], list[list[str]]]:
    """Static segments and, per value, the variable parts between them."""
    first = column[0]
    if all(v == first for v in column):
        return [first], [[] for _ in column]
    ref = _tokens(first)
    matcher = SequenceMatcher(None, autojunk=False)
    matcher.set_seq2(ref)
    intervals: list[tuple[int, int]] = []
    statics = [first]
    found: list[list[str] | None] = [None] * len(column)
    version = [0] * len(column)
    current = 0
    for i, value in enumerate(column):
        got = _match(statics, value)
        if got is None:
            matcher.set_seq1(_tokens(value))
            for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
                if tag != "equal":
                    intervals.append((j1, j2))
            intervals = _merged(intervals)
            statics = _build(ref, intervals)
            current += 1
            got = _match(statics, value)
            if got is None:
                return ["", ""], [[v] for v in column]
        found[i], version[i] = got, current
    out: list[list[str]] = []
    for i, value in enumerate(column):
        got = found[i] if version[i] == current else _match(statics, value)
        if got is None:
            return ["", ""], [[v] for v in column]
        out.append(got)
    return statics, out


def _merged(intervals: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in sorted(intervals):
        if out and s <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], e))
        else:
            out.append((s, e))
    return out


def _build(ref: list[str], intervals: list[tuple[int, int]]) -> list[str]:
    statics: list[str] = []
    prev = 0
    for s, e in intervals:
        statics.append("".join(ref[prev:s]))
        prev = e
    statics.append("".join(ref[prev:]))
    return statics


def _match(statics: list[str], value: str) -> list[str] | None:
    """The variable parts of ``value`` between ``statics``, or None if it does not fit.

    A static part may also occur inside a personal value; when the first
    occurrence leads nowhere the next one is tried (a bounded search).
    """
    head, tail = statics[0], statics[-1]
    if len(statics) == 1:
        return [] if value == head else None
    if not value.startswith(head) or not value.endswith(tail):
        return None
    end = len(value) - len(tail)
    if end < len(head):
        return None
    budget = [256]

    def fit(k: int, pos: int) -> list[str] | None:
        if k == len(statics) - 1:
            return [value[pos:end]]
        static = statics[k]
        at = value.find(static, pos, end)
        while at >= 0 and budget[0] > 0:
            budget[0] -= 1
            rest = fit(k + 1, at + len(static))
            if rest is not None:
                return [value[pos:at], *rest]
            at = value.find(static, at + 1, end)
        return None

    return fit(1, len(head))


@dataclass
class TemplateBatch:
    """A batch for a template API, however it was made: by :func:`merge` from whole
    messages, or straight from a renderer that knows which parts are personal
    (:meth:`distributor.render.digest.DigestRenderer.batch_template`).

    ``values[i]`` fills every variable of the templates for ``recipients[i]``;
    ``keys`` are the ledger keys and ``message_ids`` the Message-ID of each.
    """

    sender: str
    from_header: str
    reply_to: str | None
    subject: Template
    text: Template
    html: Template
    headers: list[tuple[str, Template]]
    keys: list[str] = field(default_factory=list)
    recipients: list[str] = field(default_factory=list)
    values: list[dict[str, str]] = field(default_factory=list)
    message_ids: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.keys)

    def slice(self, start: int, stop: int) -> TemplateBatch:
        """The same template for recipients ``start`` to ``stop``."""
        return replace(
            self,
            keys=self.keys[start:stop],
            recipients=self.recipients[start:stop],
            values=self.values[start:stop],
            message_ids=self.message_ids[start:stop],
        )

    @classmethod
    def of(cls, batch: MergedBatch) -> TemplateBatch:
        """The template batch of messages factored by :func:`merge`."""
        first = batch.messages[0]
        return cls(
            sender=first.sender,
            from_header=header_address(first) or first.sender,
            reply_to=header_address(first, "Reply-To"),
            subject=batch.subject,
            text=batch.text,
            html=batch.html,
            headers=batch.headers,
            keys=[m.key for m in batch.messages],
            recipients=[m.recipient for m in batch.messages],
            values=batch.values,
            message_ids=[m.message_id for m in batch.messages],
        )


def protect(template: Template, forbidden: Sequence[str], constants: dict[str, str]) -> Template:
    """``template`` with every static token holding the provider's own syntax made a
    variable whose (constant) value is that token; the values go to ``constants``."""
    if not forbidden:
        return template
    parts: list[Part] = []
    for part in template.parts:
        if isinstance(part, Var) or not any(f in part for f in forbidden):
            parts.append(part)
            continue
        for piece, syntax in _unsafe_pieces(part, forbidden):
            if not syntax:
                parts.append(piece)
                continue
            name = f"c{len(constants) + 1}"
            constants[name] = piece
            parts.append(Var(name))
    return Template(tuple(parts))
