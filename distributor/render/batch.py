"""A variant as one template for batch mail APIs, and each reader's values.

Batch APIs (Mailgun's ``recipient-variables``) take one template and a few
values per recipient.  :func:`distributor.mail.merge.merge` gets there from
whole personalized messages by diffing them; this module gets there directly:
the renderer knows where the personal parts are (the placeholder slots of
:mod:`distributor.render.fastmime`), so the template is made once per variant
and a reader costs only their values: the greeting (raw and escaped for the
HTML contexts it lands in), the two signed tokens and the Message-ID digest.

Exactness: for every reader, each template filled with that reader's values
is byte for byte what :meth:`DigestRenderer.personalize` puts in the message
(``tests/digests/test_batch_template.py``).  A reader the fast path of
``personalize`` would not take (an internationalized address, a huge name)
gets no values here; the caller personalizes that one message instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from distributor.config import ListConfig
from distributor.mail.merge import STANDARD_HEADERS, Part, Template, TemplateBatch, Var, protect
from distributor.models import Subscriber
from distributor.render.digest import DigestRenderer, Variant, header_safe
from distributor.render.fastmime import (
    SIMPLE_ADDRESS,
    api_header,
    escape_html_attr,
    escape_html_text,
    message_id_digest,
    template_slots,
)
from distributor.render.personal import usual_name


class BatchTemplates:
    """One variant's batch template (made once) and :meth:`add` for each reader."""

    def __init__(
        self,
        renderer: DigestRenderer,
        variant: Variant,
        list_config: ListConfig,
        forbidden: Sequence[str] = (),
    ) -> None:
        self.renderer = renderer
        self.variant = variant
        prepared = renderer._prepared_for(variant, list_config)
        base = renderer.signer.base_url
        self.u_prefix, self.p_prefix = f"{base}/u/", f"{base}/p/"
        mailto = renderer._mailto
        text_static, text_fields, html_static, html_fields = template_slots(
            variant.text, variant.html
        )
        self.uses: set[str] = set()

        def body(static: list[str], fields: list[tuple[str, str]]) -> Template:
            parts: list[Part] = []
            for i, piece in enumerate(static):
                if piece:
                    parts.append(piece)
                if i >= len(fields):
                    continue
                field, context = fields[i]
                escape: Callable[[str], str] = _ESCAPES[context]
                if field == "greeting":
                    name = {"raw": "g", "text": "gt", "attr": "ga"}[context]
                    self.uses.add(name)
                    parts.append(Var(name))
                else:
                    prefix = self.u_prefix if field == "unsubscribe_url" else self.p_prefix
                    parts += [escape(prefix), Var("u" if field == "unsubscribe_url" else "p")]
            return Template(_joined(parts))

        before, after_to, after_date, tail = prepared._static_headers
        unsubscribe: list[Part] = ["<" + self.u_prefix, Var("u"), ">"]
        if mailto:
            unsubscribe += [", <" + mailto, Var("u"), ">"]
        ordered: list[tuple[str, Template]] = [
            *((n, Template((api_header(n, v),))) for n, v in (*before, *after_to)),
            (
                "Message-ID",
                Template(("<", Var("m"), f".{prepared.edition_key}@{prepared.domain}>")),
            ),
            *((n, Template((api_header(n, v),))) for n, v in after_date),
            ("List-Unsubscribe", Template(tuple(unsubscribe))),
            *((n, Template((api_header(n, v),))) for n, v in tail),
        ]
        self.constants: dict[str, str] = {}
        from_header = next(v for n, v in before if n.lower() == "from")
        reply = next((v for n, v in after_to if n.lower() == "reply-to"), None)
        self.template = TemplateBatch(
            sender=prepared.envelope_sender,
            # as APIs taking "Name <addr>" strings want them: quoted, RFC 2047 (as in MIME)
            from_header=api_header("From", from_header),
            reply_to=None if reply is None else api_header("Reply-To", reply),
            subject=protect(Template((variant.subject,)), forbidden, self.constants),
            text=protect(
                body(text_static, [(f, "raw") for f in text_fields]), forbidden, self.constants
            ),
            html=protect(body(html_static, html_fields), forbidden, self.constants),
            headers=[
                (n, protect(t, forbidden, self.constants))
                for n, t in ordered
                if n.lower() not in STANDARD_HEADERS
            ],
        )
        self.message_id_tail = f".{prepared.edition_key}@{prepared.domain}>"
        # what the fast path of personalize() checks per reader, decided once where it can be
        self.usable = (self.u_prefix + (mailto or "")).isascii()
        self.fixed_length = len(self.u_prefix) + (len(mailto) + 6 if mailto else 2)
        self.token_uses = 2 if mailto else 1
        self._pair = renderer.signer.list_tokens(variant.list_name).pair
        self._hello_name, self._hello = renderer.greetings(variant.language)
        #: the greeting's own words have nothing to escape in HTML
        self._plain_greeting = not _SPECIAL.search(self._hello_name % {"name": ""} + self._hello)
        self._gt, self._ga = "gt" in self.uses, "ga" in self.uses

    def batch(self) -> TemplateBatch:
        """An empty batch of this template."""
        return self.template.slice(0, 0)

    def add(self, batch: TemplateBatch, subscriber: Subscriber, key: str) -> bool:
        """Add one reader to ``batch``; False (nothing added) for a reader whose message
        only :meth:`DigestRenderer.personalize` builds exactly."""
        return self.add_reader(batch, subscriber.id, subscriber.email, subscriber.name, key)

    def add_reader(
        self,
        batch: TemplateBatch,
        subscriber_id: int,
        email: str,
        name: str,
        key: str,
        simple: bool = False,
    ) -> bool:
        """:meth:`add` from the claimed row's values, without a subscriber object (this
        runs once per reader); ``simple``: the caller has already found ``email`` to be
        a plain address (:data:`~distributor.render.fastmime.SIMPLE_ADDRESS`)."""
        plain = usual_name(name)  # its own header_safe(), nothing to escape: most names
        if not plain:
            name = header_safe(name)
        if not simple:
            email = header_safe(email)
            if SIMPLE_ADDRESS.fullmatch(email) is None:
                return False
        if not self.usable or len(name) > 200 or "=?" in name:
            return False
        unsub, prefs = self._pair(subscriber_id)
        if self.fixed_length + self.token_uses * len(unsub) >= 900:
            return False
        unsubscribe, preferences = unsub.decode("ascii"), prefs.decode("ascii")
        # the name in Unicode isolates (FSI ... PDI), as DigestRenderer._personal writes it
        greeting = self._hello_name % {"name": f"\u2068{name}\u2069"} if name else self._hello
        digest = message_id_digest(key)
        values = {"g": greeting, "u": unsubscribe, "p": preferences, "m": digest}
        if self.constants:
            values = {**self.constants, **values}
        if plain and self._plain_greeting:
            if self._gt:
                values["gt"] = greeting
            if self._ga:
                values["ga"] = greeting
        else:
            special = _SPECIAL.search(greeting) is not None
            if self._gt:
                values["gt"] = escape_html_text(greeting) if special else greeting
            if self._ga:
                values["ga"] = escape_html_attr(greeting) if special else greeting
        batch.keys.append(key)
        batch.recipients.append(email)
        batch.values.append(values)
        batch.message_ids.append(f"<{digest}{self.message_id_tail}")
        return True


#: what the HTML escapes change: a greeting without any of these is its own escaped form
_SPECIAL = re.compile('[&<>"]')

_ESCAPES: dict[str, Callable[[str], str]] = {
    "raw": str,
    "text": escape_html_text,
    "attr": escape_html_attr,
}


def _joined(parts: list[Part]) -> tuple[Part, ...]:
    """Neighbouring static pieces joined into one."""
    out: list[Part] = []
    for p in parts:
        if isinstance(p, str) and out and isinstance(out[-1], str):
            out[-1] += p
        else:
            out.append(p)
    return tuple(out)
