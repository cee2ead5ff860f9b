"""Hostile header values: very long subjects and names in every script stay within RFC 5322's
998 octets a line and decode back; bidi controls and zero-width characters never reach a
Subject or a display name.  The message is delivered to a real SMTP server (aiosmtpd) and
read back from what it received."""

from __future__ import annotations

import re
import smtplib
from dataclasses import replace
from datetime import datetime
from email.header import decode_header, make_header
from typing import Any

import pytest

from distributor.config import Settings
from distributor.render.digest import DigestRenderer
from tests.digests.conftest import edition_for, links_for, make_stories, parse, subscriber

SCRIPTS = {
    "ascii-words": "word " * 20_000,  # each script's name is 100,000 characters
    "ascii-one-word": "x" * 100_000,
    "latin": "Éléphant déçu " * 7_000,
    "cjk": "漢字かな" * 25_000,
    "arabic": "مرحبا بالعالم " * 7_000,
    "devanagari": "नमस्ते दुनिया " * 7_000,
    "emoji": "👩‍💻🎉" * 20_000,
    "quoted": 'O\'Brien, "the" <boss> ' * 5_000,
}


def deliver(smtp: Any, raw: bytes, recipient: str) -> bytes:
    controller, recorder = smtp
    with smtplib.SMTP(controller.hostname, controller.port) as client:
        client.sendmail("digest@news.example", [recipient], raw)
    envelope, _parsed = recorder.messages[-1]
    return bytes(envelope.original_content or envelope.content)


def assert_lines_within_998(raw: bytes) -> None:
    longest = max(len(line) for line in raw.split(b"\r\n"))
    assert longest <= 998, longest


@pytest.mark.parametrize("script", list(SCRIPTS), ids=list(SCRIPTS))
def test_very_long_subjects_and_names_fold_within_998_octets(
    renderer: DigestRenderer, settings: Settings, now: datetime, smtp_server: Any, script: str
) -> None:
    text = " ".join(SCRIPTS[script].split())[:100_000]
    stories = make_stories("en", 2)
    edition = replace(edition_for("en", stories), subject=text)
    cfg = settings.lists["daily"].model_copy(
        update={"from_address": f"{phrase(text[:2000])} <digest@news.example>"}
    )
    variant = renderer.render(edition, stories, links_for(stories), cfg)
    message = renderer.personalize(
        variant, subscriber(7, "reader@example.com", text), "daily/k/en/7", cfg, now
    )
    assert_lines_within_998(message.raw)
    received = deliver(smtp_server, message.raw, message.recipient)
    assert_lines_within_998(received)
    # decoded as RFC 2047 says (white space between two encoded words is not text;
    # the email package's address parser keeps it, mail clients do not)
    assert rfc2047(header(received, "Subject")) == text
    to_name, _, to_addr = rfc2047(header(received, "To")).rpartition(" <")
    assert to_name == text and to_addr == "reader@example.com>"
    from_name, _, _ = rfc2047(header(received, "From")).rpartition(" <")
    assert from_name == text[:2000].strip()


def phrase(name: str) -> str:
    """``name`` as a configuration writes a display name (quoted when it has specials)."""
    if not any(c in name for c in '()<>@,;:\\".[]'):
        return name
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def header(raw: bytes, name: str) -> str:
    """The raw value of one header, unfolded."""
    head = raw.split(b"\r\n\r\n", 1)[0].decode("ascii")
    found = re.search(rf"^{name}: (.*?)\r\n(?! )", head + "\r\n", flags=re.M | re.S)
    assert found, name
    return found.group(1).replace("\r\n ", " ")


def rfc2047(value: str) -> str:
    return str(make_header(decode_header(value)))


@pytest.mark.parametrize(
    ("hostile", "shown"),
    [
        ("Invoice \u202efdp.exe", "Invoice fdp.exe"),
        ("\u2066Breaking\u2069 news\u200b today", "Breaking news today"),
        ("Pay\u200bPal\ufeff", "PayPal"),
    ],
)
def test_bidi_and_zero_width_never_reach_the_subject_or_a_name(
    renderer: DigestRenderer,
    settings: Settings,
    now: datetime,
    smtp_server: Any,
    hostile: str,
    shown: str,
) -> None:
    stories = make_stories("en", 2)
    stories[0] = replace(stories[0], title=hostile)
    cfg = settings.lists["daily"].model_copy(
        update={"from_address": f"{hostile} <digest@news.example>"}
    )
    for edition in (
        edition_for("en", stories),
        replace(edition_for("en", stories), subject=hostile),
    ):
        variant = renderer.render(edition, stories, links_for(stories), cfg)
        message = renderer.personalize(
            variant, subscriber(8, "reader@example.com", hostile), "daily/k/en/8", cfg, now
        )
        msg = parse(deliver(smtp_server, message.raw, message.recipient))
        for header in (str(msg["Subject"]), str(msg["From"]), str(msg["To"])):
            assert not any(c in header for c in "\u202e\u2066\u2069\u200b\ufeff"), header
        assert shown in str(msg["Subject"]) and shown in str(msg["To"])
