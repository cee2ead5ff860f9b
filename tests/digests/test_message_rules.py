"""The message: structure, headers, one-click unsubscribe, injection, line lengths, escaping."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import replace
from datetime import datetime
from email.utils import parsedate_to_datetime

import pytest

from distributor.config import Settings
from distributor.errors import RenderError
from distributor.models import Subscriber
from distributor.render.digest import DigestRenderer
from distributor.render.fastmime import qp_piece, qp_value
from distributor.tokens import Tokens
from tests.digests.conftest import edition_for, links_for, make_stories, parse, subscriber


def one_message(renderer: DigestRenderer, settings: Settings, now: datetime, **story_kw: object):
    stories = make_stories("en", 4)
    if story_kw:
        stories[0] = replace(stories[0], **story_kw)  # type: ignore[arg-type]
    edition = edition_for("en", stories)
    cfg = settings.lists["daily"]
    variant = renderer.render(edition, stories, links_for(stories), cfg)
    sub = subscriber(42, "reader@example.com", "Ada Lovelace")
    return renderer.personalize(variant, sub, "daily/2026-11-28/en/42", cfg, now)


def test_structure_and_headers(renderer: DigestRenderer, settings: Settings, now: datetime) -> None:
    message = one_message(renderer, settings, now)
    msg = parse(message.raw)
    assert msg.get_content_type() == "multipart/alternative"
    parts = list(msg.iter_parts())
    assert [p.get_content_type() for p in parts] == ["text/plain", "text/html"]
    assert all(p.get_content_charset() == "utf-8" for p in parts)
    assert msg["MIME-Version"] == "1.0"
    assert msg["From"] == "Meridian Daily <digest@news.example>"
    assert msg["Reply-To"] == "newsroom@news.example"
    assert msg["To"] == "Ada Lovelace <reader@example.com>"
    assert re.fullmatch(r"<[0-9a-f]{24}\.2026-11-28@news\.example>", msg["Message-ID"])
    assert parsedate_to_datetime(msg["Date"]) == now
    assert msg["List-Id"] == "Meridian Daily <daily.news.example>"
    assert msg["Content-Language"] == "en"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # List-Unsubscribe: the https one-click link first, then mailto:, both with the token
    https, mailto = re.fullmatch(
        r"<(https://[^>]+)>, <(mailto:[^>]+)>", msg["List-Unsubscribe"]
    ).groups()  # type: ignore[union-attr]
    assert https.startswith("https://news.example/newsletter/u/")
    token = https.rsplit("/", 1)[1]
    assert mailto == f"mailto:unsubscribe@news.example?subject=unsubscribe%20{token}"
    subject = Tokens(settings.secret_key.get_secret_value()).read("unsubscribe", token)
    assert subject is not None and (subject.subscriber_id, subject.list_name) == (42, "daily")
    # the token carries only the id and the list, never the address; it is signed, not
    # encrypted, so the check reads the payload itself (a check for "42" in the
    # base64 text failed whenever the random-looking signature happened to hold it)
    payload = token.split(".")[0]
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert json.loads(decoded) == [42, "daily"]
    assert b"reader" not in decoded and b"@" not in decoded
    # the same links in both bodies, preferences signed for its own purpose
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert https in html and https in text
    prefs = re.search(r"https://news\.example/newsletter/p/[\w.-]+", text).group(0)  # type: ignore[union-attr]
    assert prefs in html
    assert Tokens(settings.secret_key.get_secret_value()).read(
        "preferences", prefs.rsplit("/", 1)[1]
    )
    assert (
        Tokens(settings.secret_key.get_secret_value()).read("unsubscribe", prefs.rsplit("/", 1)[1])
        is None
    )
    # the structured copy for HTTP APIs matches the raw message
    assert dict(message.headers)["List-Unsubscribe"] == msg["List-Unsubscribe"]
    assert message.text.replace("\n", "\r\n") == text
    assert message.html.replace("\n", "\r\n") == html
    assert message.sender == "digest@news.example" and message.recipient == "reader@example.com"


def test_message_id_is_stable_per_ledger_key(
    renderer: DigestRenderer, settings: Settings, now: datetime
) -> None:
    a = one_message(renderer, settings, now)
    b = one_message(renderer, settings, now)
    assert a.message_id == b.message_id and a.raw == b.raw


@pytest.mark.parametrize(
    "title",
    [
        "Breaking\r\nBcc: victim@example.com",
        "Breaking\nBcc: victim@example.com",
        "Breaking\rBcc: victim@example.com",
        "Breaking\x00\r\n\r\n<html>body</html>",
        "Breaking\u2028Bcc: victim@example.com",
    ],
)
def test_no_header_injection_from_a_story(
    renderer: DigestRenderer, settings: Settings, now: datetime, title: str
) -> None:
    message = one_message(renderer, settings, now, title=title)
    assert_no_injection(message.raw)
    assert (
        "\r" not in message.subject
        and "\n" not in message.subject
        and "\x00" not in message.subject
    )
    msg = parse(message.raw)
    assert msg["Bcc"] is None
    assert "Breaking" in msg["Subject"]


@pytest.mark.parametrize(
    ("name", "email"),
    [
        ("Mallory\r\nBcc: victim@example.com", "mallory@example.com"),
        ("Mallory\nSubject: hijacked", "mallory@example.com"),
        ("Mallory\x00", "mallory@example.com"),
        ("Mallory", "mallory@example.com\r\nBcc: victim@example.com"),
    ],
)
def test_no_header_injection_from_a_subscriber(
    renderer: DigestRenderer, settings: Settings, now: datetime, name: str, email: str
) -> None:
    stories = make_stories("en", 2)
    edition = edition_for("en", stories)
    cfg = settings.lists["daily"]
    variant = renderer.render(edition, stories, {}, cfg)
    sub = Subscriber(id=5, email=email, name=name, language="en")
    try:
        message = renderer.personalize(variant, sub, "k/5", cfg, now)
    except RenderError:
        return  # refused is fine; passed on is not
    assert_no_injection(message.raw)
    msg = parse(message.raw)
    assert msg["Bcc"] is None
    assert len(msg.get_all("Subject") or []) == 1
    assert "\r" not in message.recipient and "\n" not in message.recipient


def test_no_header_injection_from_the_configuration(
    renderer: DigestRenderer, settings: Settings, now: datetime
) -> None:
    cfg = settings.lists["daily"].model_copy(
        update={
            "title": "Daily\r\nBcc: victim@example.com",
            "reply_to": "a@news.example\nBcc: b@example.com",
        }
    )
    stories = make_stories("en", 2)
    variant = renderer.render(edition_for("en", stories), stories, {}, cfg)
    message = renderer.personalize(variant, subscriber(1, "r@example.com", "R"), "k/1", cfg, now)
    assert_no_injection(message.raw)
    assert parse(message.raw)["Bcc"] is None


def assert_no_injection(raw: bytes) -> None:
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"\x00" not in raw
    assert not re.search(rb"(^|\r\n)Bcc:", head, flags=re.I)
    # every header line is a header or a continuation; no bare CR or LF anywhere
    assert b"\r" not in raw.replace(b"\r\n", b"") and b"\n" not in raw.replace(b"\r\n", b"")
    for line in head.split(b"\r\n"):
        assert line[:1] in (b" ", b"\t") or re.match(rb"^[\x21-\x39\x3b-\x7e]+:", line), line


def test_no_line_over_998_octets_and_qp_lines_within_76(
    renderer: DigestRenderer, settings: Settings, now: datetime
) -> None:
    long = "x" * 5000 + " " + "é" * 3000 + " " + "=" * 500
    message = one_message(
        renderer,
        settings,
        now,
        summary_text=long,
        title="T" * 1200,
        url="https://news.example/" + "a" * 1500,
    )
    lines = message.raw.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    body = message.raw.split(b"\r\n\r\n", 1)[1]
    in_part = False
    for line in body.split(b"\r\n"):
        if line.startswith(b"--=_"):
            in_part = False
            continue
        if not line and not in_part:
            in_part = True
            continue
        if in_part:
            assert len(line) <= 76, line[:80]
    msg = parse(message.raw)
    assert long in msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert long in msg.get_body(("html",)).get_content()  # type: ignore[union-attr]


def test_html_escapes_story_values(
    renderer: DigestRenderer, settings: Settings, now: datetime
) -> None:
    message = one_message(
        renderer,
        settings,
        now,
        title='<script>alert("x")</script>',
        summary_text="<img src=x onerror=alert(1)>",
    )
    assert "<script>" not in message.html and "<img src=x" not in message.html
    assert "&lt;script&gt;" in message.html
    assert '<script>alert("x")</script>' in message.text  # plain text stays as written


@pytest.mark.parametrize("seed", range(5))
def test_quoted_printable_pieces_decode_to_the_concatenation(seed: int) -> None:
    import binascii
    import random

    rnd = random.Random(seed)
    alphabet = "ab =\t.é日ع\n" + "x" * 20
    pieces = ["".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 200))) for _ in range(30)]
    encoded = b"".join(
        qp_piece(p.encode()) if i % 2 else qp_value(p.replace("\n", " "))
        for i, p in enumerate(pieces)
    )
    expected = "".join(p if i % 2 else p.replace("\n", " ") for i, p in enumerate(pieces))
    assert all(len(line) <= 76 for line in encoded.split(b"\r\n"))
    decoded = binascii.a2b_qp(encoded.replace(b"\r\n", b"\n")).decode()
    assert decoded == expected


def test_memory_does_not_grow_with_subscribers(
    renderer: DigestRenderer, settings: Settings, now: datetime
) -> None:
    import gc
    import tracemalloc

    stories = make_stories("en", 10)
    cfg = settings.lists["daily"]
    variant = renderer.render(edition_for("en", stories), stories, {}, cfg)

    def stream(n: int) -> int:
        gc.collect()
        tracemalloc.start()
        # ids like 10000 make the token code ask zlib (a repeated "000"), whose
        # 256 KB of working memory is traced too: every stream includes it
        for i in range(10_000, 10_000 + n):
            renderer.personalize(
                variant, subscriber(i, f"r{i}@example.com", "Reader"), f"k/{i}", cfg, now
            )
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    stream(500)  # warm-up: allocator pools and caches reach their size
    small, large = stream(500), stream(3000)
    assert large <= small * 1.1
    assert large < 1_000_000  # zlib's state and a few messages, not thousands
