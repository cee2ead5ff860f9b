"""Display names with non-ASCII and special characters, as Postmark, Resend and Mailgun take
them: a ``Name <addr>`` string as it goes on the wire (specials quoted, as Postmark
documents for punctuation; non-ASCII in RFC 2047 words). The contract servers refuse a
raw UTF-8 name or a name that parses as two addresses."""

from __future__ import annotations

from dataclasses import replace
from email.header import decode_header, make_header
from email.utils import parseaddr
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from distributor.render.fastmime import display_address
from tests.mail.conftest import make_backend, make_messages
from tests.mail.fakes import CASES, ProviderCase

STRING_ADDRESS = [c for c in CASES if c.provider in ("postmark", "resend", "mailgun")]
NAMES = [
    "Méridien Quotidien",
    'Doe, Jane "JJ" (Desk)',
    "Éditions du Nord, Ltée",
    "新聞 ダイジェスト",
    "الأخبار اليومية",
]


@pytest.mark.parametrize("case", STRING_ADDRESS, ids=[c.provider for c in STRING_ADDRESS])
@pytest.mark.parametrize("name", NAMES)
def test_from_and_reply_to_names_reach_the_provider_as_documented(
    case: ProviderCase, server: HTTPServer, tmp_path: Path, name: str
) -> None:
    fake = case.fake()
    backend, _t = make_backend(tmp_path, case, server, fake)
    sender = display_address(name, "digest@news.example")  # as the renderer shows it
    reply = display_address(name, "desk@news.example")
    messages = [
        replace(
            m,
            headers=tuple(
                (k, sender if k == "From" else reply if k == "Reply-To" else v)
                for k, v in m.headers
            ),
        )
        for m in make_messages(2)
    ]
    results = backend.send_batch(messages)
    assert [r.state for r in results] == ["sent", "sent"], [r.error for r in results]
    got = fake.by_recipient()["reader0@example.org"]
    wire = got.sender
    assert wire.isascii()
    shown_name, addr = parseaddr(wire)
    assert addr == "digest@news.example"
    assert str(make_header(decode_header(shown_name))) == name
    backend.close()
