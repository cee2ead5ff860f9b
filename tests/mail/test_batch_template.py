"""The renderer's direct batch template is exact: each reader's values fill it back into
the very message ``personalize`` builds, byte for byte, and Mailgun delivers that."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer

from distributor.mail.merge import Var
from distributor.models import Edition, Story, StoryStatus, Subscriber
from distributor.render.batch import BatchTemplates
from distributor.render.digest import DigestRenderer
from distributor.share.links import share_links
from tests.conftest import NOW
from tests.mail.conftest import make_backend, provider_settings
from tests.mail.fakes import CASES, MailgunFake

MAILGUN = next(c for c in CASES if c.provider == "mailgun")
NAMES = [
    "Ana",
    "Tom & Jerry",
    'Dr. "Quote" <b>Bold</b>',
    "محمد",
    "さくら",
    "O'Brien, Jr.",
    "",
    "%recipient.x%",
    "=?utf-8?q?x?=",  # personalize hands this one to the email package
    "x" * 250,
]
#: names that header_safe() cleans before they land (the usual names skip it)
CLEANED = [
    "  Ana \u00a0 Lee  ",  # outer and doubled spaces go, a no-break space stays
    "zero\u200bwidth\u202eand bidi",
    "Ana\r\nBcc: x@example.com",
]


def _stories() -> list[Story]:
    return [
        Story(
            id=f"urn:test:{i}",
            source="test",
            url=f"https://news.example/story-{i}?a=1&b=2",
            title=f"Story {i} & <b>co</b> %recipient.v1% {{{{ x }}}}",
            language="en",
            status=StoryStatus.PUBLISHED,
            published_at=NOW,
            summary_text=f"Summary {i}: %unsubscribe_url% stays text.",
        )
        for i in range(4)
    ]


def _setup(tmp_path: Path, url: str = "http://127.0.0.1:9") -> tuple[Any, ...]:
    settings = provider_settings(tmp_path, MAILGUN, url)
    web = settings.web.model_copy(update={"unsubscribe_mailto": "unsubscribe@news.example"})
    settings = settings.model_copy(update={"web": web})
    cfg = settings.lists["daily"]
    cfg = cfg.model_copy(update={"reply_to": "newsroom@news.example"})
    renderer = DigestRenderer(settings)
    stories = _stories()
    edition = Edition(1, "daily", "2026-11-28", "en", tuple(s.id for s in stories), NOW)
    links = {s.id: share_links(s, campaign="daily-2026-11-28") for s in stories}
    variant = renderer.render(edition, stories, links, cfg)
    readers = [
        Subscriber(100 + i, f"reader{i}@example.org", name, "en") for i, name in enumerate(NAMES)
    ]
    readers.append(Subscriber(999, "rene@exämple.org", "René", "en"))  # internationalized
    return settings, cfg, renderer, variant, readers


def test_each_reader_fills_the_template_back_into_their_message(tmp_path: Path) -> None:
    _settings, cfg, renderer, variant, readers = _setup(tmp_path)
    readers += [Subscriber(200 + i, f"c{i}@example.org", n, "en") for i, n in enumerate(CLEANED)]
    templates = BatchTemplates(renderer, variant, cfg, ("%recipient", "%unsubscribe_url%"))
    batch = templates.batch()
    expected = {}
    for r in readers:
        key = f"daily/2026-11-28/en/{r.id}"
        message = renderer.personalize(variant, r, key, cfg, NOW)
        if templates.add(batch, r, key):
            expected[key] = message
    # the fast path's own limits: these readers are personalized whole instead
    assert set(expected) == {
        f"daily/2026-11-28/en/{r.id}" for r in readers if r.id not in (108, 109, 999)
    }
    for i, key in enumerate(batch.keys):
        m, values = expected[key], batch.values[i]
        assert batch.recipients[i] == m.recipient and batch.message_ids[i] == m.message_id
        assert batch.subject.fill(values) == m.subject
        assert batch.text.fill(values) == m.text
        assert batch.html.fill(values) == m.html
        custom = [
            (k, v)
            for k, v in m.headers
            if k.lower() not in ("from", "to", "subject", "date", "reply-to")
        ]
        assert [(n, t.fill(values)) for n, t in batch.headers] == custom
        assert batch.from_header == dict(m.headers)["From"]
        assert batch.reply_to == dict(m.headers)["Reply-To"]
    # the provider's syntax from a story is never left in the static text
    for t in (batch.subject, batch.text, batch.html):
        assert all(isinstance(p, Var) or "%recipient" not in p for p in t.parts)
    # a reader costs a few short values (besides the constants hiding "%recipient"
    # tokens of the stories), not a message
    personal = [
        sum(len(x) for k, x in v.items() if k not in templates.constants) for v in batch.values
    ]
    assert templates.constants and max(personal) < 500 < len(variant.html)


def test_mailgun_delivers_what_personalize_builds(tmp_path: Path, server: HTTPServer) -> None:
    fake = MailgunFake()
    (tmp_path / "b").mkdir()
    backend, _time = make_backend(tmp_path / "b", MAILGUN, server, fake)
    backend.max_per_call = 3  # type: ignore[misc]  # several calls
    url = server.url_for("").rstrip("/")
    _settings, cfg, renderer, variant, readers = _setup(tmp_path, url)
    templates = BatchTemplates(renderer, variant, cfg, backend.forbidden)  # type: ignore[attr-defined]
    batch = templates.batch()
    messages = {}
    for r in readers:
        key = f"daily/2026-11-28/en/{r.id}"
        if templates.add(batch, r, key):
            messages[r.email] = renderer.personalize(variant, r, key, cfg, NOW)
    results = backend.send_template(batch)
    assert [r.key for r in results] == batch.keys and {r.state for r in results} == {"sent"}
    assert backend.calls == 3
    assert sorted(d.recipient for d in fake.delivered) == sorted(messages)
    for d in fake.delivered:
        m = messages[d.recipient]
        assert (d.subject, d.text, d.html) == (m.subject, m.text, m.html)
        assert d.headers["List-Unsubscribe"] == dict(m.headers)["List-Unsubscribe"]
        assert d.headers["Message-ID"] == m.message_id
        assert d.sender == dict(m.headers)["From"]
    # the template batch and a merge() of the same messages send the same thing
    fake.delivered.clear()
    backend.send_batch([replace(m, headers=m.headers) for m in messages.values()])
    assert {d.recipient: (d.text, d.html) for d in fake.delivered} == {
        e: (m.text, m.html) for e, m in messages.items()
    }
