"""The fast path's messages equal the naive path's, once both are parsed.

Naive: per subscriber, Jinja2 render with the real values, premailer, and
``EmailMessage``.  Fast: the variant rendered and inlined once, pre-encoded,
the personal parts substituted.  Same headers (the MIME boundary aside), same
parts in the same order, same decoded content.
"""

from __future__ import annotations

from datetime import datetime
from email.message import EmailMessage

import pytest

from distributor.config import Settings
from distributor.models import Message, Subscriber
from distributor.render.digest import DigestRenderer
from tests.digests.conftest import (
    LANGUAGES,
    edition_for,
    links_for,
    make_stories,
    parse,
    subscriber,
)

NAMES = [
    "Alice Morgan",
    "Okafor, Chinedu",
    "Liam O'Brien",
    'J. R. "Bob" Smith',
    "سارة الحسن",
    "山田 太郎",
    "Zoë <script>alert(1)</script> & Co",
    "",
    "Mallory\r\nBcc: victim@example.com",
    "Nul\x00Byte\x07Bell",
    "A very long name " * 8,
    'Ünïcødé, with a comma and "quotes"',
    "=?utf-8?q?not_an_encoded_word?=",
    "back\\slash",
]


def headers_of(msg: EmailMessage) -> list[tuple[str, str]]:
    out = []
    for name, value in msg.items():
        if name.lower() == "content-type":
            value = msg.get_content_type()  # the boundary differs by design
        out.append((name, str(value)))
    return out


def parts_of(msg: EmailMessage) -> list[tuple[str, str | None, str]]:
    return [
        (p.get_content_type(), p.get_content_charset(), p.get_content()) for p in msg.iter_parts()
    ]


def assert_same(fast: Message, naive: Message) -> None:
    pf, pn = parse(fast.raw), parse(naive.raw)
    assert headers_of(pf) == headers_of(pn)
    assert parts_of(pf) == parts_of(pn)
    # the structured copies for HTTP APIs agree too
    assert fast.headers == naive.headers
    assert fast.text == naive.text
    assert fast.html == naive.html
    assert (fast.sender, fast.recipient, fast.subject, fast.message_id) == (
        naive.sender,
        naive.recipient,
        naive.subject,
        naive.message_id,
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_fast_equals_naive_in_every_language(
    renderer: DigestRenderer, settings: Settings, lang: str, now: datetime
) -> None:
    stories = make_stories(lang)
    edition = edition_for(lang, stories)
    links = links_for(stories)
    cfg = settings.lists["daily"]
    variant = renderer.render(edition, stories, links, cfg)
    assert variant.prepared is not None
    for i, name in enumerate(NAMES[:4] + NAMES[4:6]):
        sub = subscriber(100 + i, f"reader{i}@example.com", name, lang)
        key = f"daily/{edition.key}/{lang}/{sub.id}"
        assert_same(
            renderer.personalize(variant, sub, key, cfg, now),
            renderer.naive_message(edition, stories, links, cfg, sub, key, now),
        )


@pytest.mark.parametrize("name", NAMES)
def test_fast_equals_naive_for_hostile_names(
    renderer: DigestRenderer, settings: Settings, name: str, now: datetime
) -> None:
    stories = make_stories("en", 3)
    edition = edition_for("en", stories)
    links = links_for(stories)
    cfg = settings.lists["daily"]
    variant = renderer.render(edition, stories, links, cfg)
    sub = Subscriber(id=7, email="reader@example.com", name=name, language="en")
    fast = renderer.personalize(variant, sub, "daily/2026-11-28/en/7", cfg, now)
    naive = renderer.naive_message(edition, stories, links, cfg, sub, "daily/2026-11-28/en/7", now)
    assert_same(fast, naive)


def test_unusual_address_takes_the_email_package_path(
    renderer: DigestRenderer, settings: Settings, now: datetime
) -> None:
    """An internationalized address is not pre-encodable: the slow path builds it, same result."""
    stories = make_stories("fr", 2)
    edition = edition_for("fr", stories)
    links = links_for(stories)
    cfg = settings.lists["daily"]
    variant = renderer.render(edition, stories, links, cfg)
    sub = subscriber(9, "ana@exämple.com", "Ana", "fr")
    fast = renderer.personalize(variant, sub, "k/9", cfg, now)
    assert parts_of(parse(fast.raw)) == parts_of(
        parse(renderer.naive_message(edition, stories, links, cfg, sub, "k/9", now).raw)
    )


def test_links_whose_base_needs_escaping(settings: Settings, now: datetime) -> None:
    """A base URL with '&' takes the escaping branch; still equal to the naive path."""
    web = settings.web.model_copy(update={"base_url": "https://news.example/nl?a=1&b=<2>"})
    renderer = DigestRenderer(settings.model_copy(update={"web": web}))
    stories = make_stories("es", 2)
    edition = edition_for("es", stories)
    links = links_for(stories)
    cfg = settings.lists["daily"]
    variant = renderer.render(edition, stories, links, cfg)
    assert variant.prepared is not None and not variant.prepared.plain_links
    sub = subscriber(3, "r@example.com", "Rosa", "es")
    fast = renderer.personalize(variant, sub, "k/3", cfg, now)
    assert_same(fast, renderer.naive_message(edition, stories, links, cfg, sub, "k/3", now))
    assert 'href="https://news.example/nl?a=1&amp;b=&lt;2&gt;/u/' in fast.html


def test_a_variant_changed_after_rendering_is_sent_as_changed(
    renderer: DigestRenderer, settings: Settings, now: datetime
) -> None:
    """E.g. the editor's test send: ``dataclasses.replace(variant, subject="[TEST] ...")``."""
    import dataclasses

    stories = make_stories("ar", 2)
    edition = edition_for("ar", stories)
    cfg = settings.lists["daily"]
    variant = renderer.render(edition, stories, {}, cfg)
    test = dataclasses.replace(variant, subject=f"[TEST] {variant.subject}")
    sub = subscriber(0, "editor@example.com", "", "ar")
    msg = parse(renderer.personalize(test, sub, "test/1", cfg, now).raw)
    assert msg["Subject"] == f"[TEST] {variant.subject}"
    other = cfg.model_copy(update={"from_address": "Other <other@news.example>"})
    assert parse(renderer.personalize(variant, sub, "k/1", other, now).raw)["From"] == (
        "Other <other@news.example>"
    )
    # and the original still goes out unchanged
    assert (
        parse(renderer.personalize(variant, sub, "k/1", cfg, now).raw)["Subject"] == variant.subject
    )


@pytest.mark.parametrize("lang", LANGUAGES)
def test_mime_only_messages_are_the_same_bytes(
    renderer: DigestRenderer, settings: Settings, lang: str, now: datetime
) -> None:
    """``parts=False`` (SMTP, file outbox) skips only ``text``/``html``; ``raw`` is identical."""
    stories = make_stories(lang)
    edition = edition_for(lang, stories)
    links = links_for(stories)
    cfg = settings.lists["daily"]
    variant = renderer.render(edition, stories, links, cfg)
    for i, name in enumerate(NAMES):
        sub = subscriber(200 + i, f"reader{i}@example.com", name, lang)
        key = f"daily/{edition.key}/{lang}/{sub.id}"
        full = renderer.personalize(variant, sub, key, cfg, now)
        mime_only = renderer.personalize(variant, sub, key, cfg, now, parts=False)
        assert full.text and full.html
        if mime_only.text:
            # unusual values take the email-package path: both parts always, and a
            # random MIME boundary per call, so compare parsed
            assert_same(mime_only, full)
        else:
            assert mime_only.raw == full.raw and mime_only.headers == full.headers
            assert mime_only.message_id == full.message_id


def test_transports_say_whether_they_read_the_parts() -> None:
    from distributor.registry import MAIL_BACKENDS, mail_backend_class

    mime_senders = {n for n in MAIL_BACKENDS if not mail_backend_class(n).needs_parts}
    assert mime_senders == {"file", "smtp"}


@pytest.mark.parametrize("lang", LANGUAGES)
def test_the_usual_readers_message_is_byte_for_byte_what_build_writes(
    renderer: DigestRenderer, settings: Settings, lang: str, now: datetime
) -> None:
    """``Personalizer`` (the usual reader, in one call) against ``PreparedMessage.build``
    with the values ``personalize`` computes for everyone else: every field, every byte,
    for names around the greeting's one-line limit and tokens of every length."""
    stories = make_stories(lang)
    edition = edition_for(lang, stories)
    cfg = settings.lists["daily"]
    variant = renderer.render(edition, stories, links_for(stories), cfg)
    names = [*NAMES, ".", "..", "Zoë", "n" * 60, "é" * 12, "山" * 9, "a b " * 12 + "c"]
    names += ["n" * k for k in range(30, 52, 3)]
    ids = [1, 99, 100, 1111, 12345, 99999999, 10**8, 2**40, 10**20]
    prepared = renderer._prepared_for(variant, cfg)
    taken = 0
    for i, name in enumerate(names):
        for sid in ids:
            sub = subscriber(sid, f"reader{i}@example.com", name, lang)
            key = f"daily/{edition.key}/{lang}/{sid}"
            for parts in (True, False):
                fast = renderer.personalize(variant, sub, key, cfg, now, parts=parts)
                assert prepared.personalizer is not None
                if prepared.personalizer.message(sid, sub.email, name, key, now, parts) is None:
                    continue  # not a usual reader: personalize took build() or the email package
                taken += 1
                personal = renderer.personal(sub, variant.list_name, lang)
                built = prepared.build(
                    key, sub.email, name, personal, renderer.list_unsubscribe(personal), now, parts
                )
                assert fast == built, (name, sid, parts)
                assert fast.raw == built.raw
    assert taken > len(ids) * len(names)  # most readers are usual ones
