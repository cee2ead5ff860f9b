"""Batch template factoring is exact for every message, whatever differs between them."""

from __future__ import annotations

import random
from dataclasses import replace

from distributor.mail.merge import Var, merge
from tests.mail.conftest import make_messages


def test_every_message_is_rebuilt_byte_for_byte() -> None:
    rng = random.Random(5)
    words = [
        "Ana",
        "Jean-Luc",
        "محمد",
        "さくら",
        "O'Brien",
        "",
        "%recipient.x%",
        "{{ x }}",
        "<b>",
        "\n",
    ]
    stories = "".join(f"<p>Story {k}: a shared paragraph of the digest.</p>\n" for k in range(50))
    messages = []
    for i, m in enumerate(make_messages(60)):
        name = " ".join(rng.choice(words) for _ in range(rng.randint(0, 3)))
        html = m.html.replace(f"Reader {i}", name).replace("<a ", stories + "<a ")
        if i % 7 == 0:  # a message with an extra paragraph in the middle
            html = html.replace("<h1>", "<p>Only for you</p>\n<h1>")
        messages.append(replace(m, html=html, subject=f"{m.subject} {name}".strip()))
    batch = merge(messages, forbidden=("%recipient", "{{"))
    for m, values in zip(messages, batch.values, strict=True):
        assert batch.html.fill(values) == m.html
        assert batch.text.fill(values) == m.text
        assert batch.subject.fill(values) == m.subject
        for (name, tmpl), (hname, hvalue) in zip(
            batch.headers,
            [h for h in m.headers if h[0] not in ("From", "To", "Subject", "Reply-To")],
            strict=True,
        ):
            assert name == hname and tmpl.fill(values) == hvalue
    # the static parts never contain the provider's placeholder syntax
    for tmpl in (batch.html, batch.text, batch.subject):
        for part in tmpl.parts:
            assert isinstance(part, Var) or ("%recipient" not in part and "{{" not in part)
    # and the template is shared: each reader's html values are a small part of the html
    html_vars = set(batch.html.variables)
    for m, values in zip(messages, batch.values, strict=True):
        assert sum(len(v) for k, v in values.items() if k in html_vars) < len(m.html) / 4


def test_identical_messages_need_no_variables() -> None:
    m = make_messages(1)[0]
    batch = merge([m, replace(m, key="other")])
    assert batch.html.variables == [] and batch.html.fill({}) == m.html
