"""End to end: the sample newsroom through SMTP into a real aiosmtpd server."""

from __future__ import annotations

import csv
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from distributor.models import DeliveryState
from distributor.pipeline import run
from tests.conftest import SAMPLE, settings_for, write_config


def smtp_config(tmp_path: Path, port: int, extra: str = "") -> Path:
    return write_config(
        tmp_path,
        mail=f'provider = "smtp"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n'
        f"batch_size = 7\n{extra}",
    )


def tls_context(
    tmp_path: Path, port: int, make_context: Any, password: str, ca_file: Path | None
) -> Any:
    """A context for STARTTLS + AUTH as user 'digest', trusting ``ca_file`` if given."""
    ca = f'\nca_file = "{ca_file}"' if ca_file else ""
    path = write_config(
        tmp_path,
        mail=f'provider = "smtp"\nhost = "127.0.0.1"\nport = {port}\n'
        f'security = "starttls"\nusername = "digest"{ca}',
    )
    return make_context(settings_for(path, {"DISTRIBUTOR_MAIL_MAIN_PASSWORD": password}))


def sample_subscribers() -> dict[str, str]:
    with (SAMPLE / "subscribers.csv").open(encoding="utf-8") as fh:
        return {row["email"]: row["language"] for row in csv.DictReader(fh)}


def sample_titles() -> dict[str, str]:
    """Every title in the sample feed -> the feed entry's xml:lang."""
    import feedparser

    feed = feedparser.parse(str(SAMPLE / "newsroom.atom.xml"))
    return {e.title: e.title_detail.language for e in feed.entries}


def test_daily_job_over_smtp(tmp_path: Path, smtp_server: Any, make_context: Any) -> None:
    controller, recorder = smtp_server
    ctx = make_context(settings_for(smtp_config(tmp_path, controller.port)))
    report = run(ctx)

    assert report.ok, report.errors
    subscribers = sample_subscribers()
    received = recorder.by_recipient()
    assert set(received) == set(subscribers)
    assert report.emails.sent == len(subscribers) == len(recorder.messages)

    titles = sample_titles()
    for address, msg in received.items():
        assert isinstance(msg, EmailMessage)
        assert msg.get_content_type() == "multipart/alternative"
        parts = [p.get_content_type() for p in msg.iter_parts()]
        assert parts == ["text/plain", "text/html"]
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        text = msg.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
        lang = subscribers[address]
        assert msg["Content-Language"] == lang
        assert f'lang="{lang}"' in html
        assert ('dir="rtl"' in html) == lang.startswith("ar")
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert msg["List-Unsubscribe"].startswith("<https://news.example/newsletter/u/")
        # only published stories: no draft, nothing embargoed
        assert "DRAFT" not in text and "EMBARGOED" not in text
        assert "DRAFT" not in html and "EMBARGOED" not in html
        # every story line in the text part is a sample story, in the reader's language
        # when a translation exists, else English
        numbered = re.findall(r"^\d+\. (.+)$", text, flags=re.M)
        story_titles = [t for t in numbered if t in titles]
        assert story_titles
        assert len(numbered) - len(story_titles) <= 1  # a "28. November 2026" date line
        for title in story_titles:
            assert titles[title] in (lang, lang.split("-")[0], "en")
        if lang in ("ar", "ja", "es", "fr"):
            assert any(titles[t] == lang for t in story_titles)
        # the unsubscribe link in the body is this reader's, and matches the header
        token_url = msg["List-Unsubscribe"].split(">")[0].lstrip("<")
        assert token_url in text and token_url in html

    # a second run delivers nothing new and says so
    before = len(recorder.messages)
    again = run(ctx)
    assert len(recorder.messages) == before
    assert again.emails.sent == 0 and again.posts.sent == 0
    assert "nothing new to deliver" in again.notes


def test_refused_recipient_does_not_stop_the_others(
    tmp_path: Path, smtp_server: Any, make_context: Any
) -> None:
    controller, recorder = smtp_server
    subscribers = sample_subscribers()
    bad, soft = sorted(subscribers)[:2]
    recorder.refuse[bad] = "550 5.1.1 No such user here"
    recorder.refuse[soft] = "451 4.3.0 Mailbox temporarily unavailable"
    ctx = make_context(settings_for(smtp_config(tmp_path, controller.port)))
    report = run(ctx)

    assert not report.ok
    assert set(recorder.by_recipient()) == set(subscribers) - {bad, soft}
    assert report.emails.sent == len(subscribers) - 2
    assert report.emails.failed == 2
    causes = " | ".join(f"{p.subject}: {p.cause}" for p in report.errors)
    assert bad in causes and "550 5.1.1 No such user here" in causes
    assert soft in causes and "451" in causes and "will retry next run" in causes

    # next run: the transient failure is retried, the permanent one is not
    recorder.refuse.clear()
    again = run(ctx)
    assert again.emails.sent == 1
    assert set(recorder.by_recipient()) == set(subscribers) - {bad}
    rows = [r for e in ctx.store.unfinished_editions("daily") for r in ctx.store.deliveries(e.id)]
    assert rows == []
    states = {r["email"]: r["state"] for e in report.editions for ed in [e] for r in _all_rows(ctx)}
    assert states[bad] == DeliveryState.FAILED
    assert states[soft] == DeliveryState.SENT


def _all_rows(ctx: Any) -> list[dict[str, Any]]:
    from sqlalchemy import select

    from distributor.store.schema import deliveries

    with ctx.store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(select(deliveries))]


def test_server_down_loses_nothing(tmp_path: Path, make_context: Any, smtp_server: Any) -> None:
    import socket

    with socket.socket() as s:  # a port with nothing listening
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    ctx = make_context(settings_for(smtp_config(tmp_path, dead_port, "timeout = 2")))
    report = run(ctx)
    assert report.emails.sent == 0 and not report.ok
    assert any("cannot connect" in p.cause for p in report.errors)
    pending = sum(e.pending for e in report.editions)
    assert pending == len(sample_subscribers())
    assert {r["state"] for r in _all_rows(ctx)} == {"pending"}

    # the server comes back (same database, the live server's port): everything goes, once
    controller, recorder = smtp_server
    settings = settings_for(smtp_config(tmp_path, controller.port))
    ctx2 = make_context(settings)
    again = run(ctx2)
    assert again.emails.sent == pending
    assert sorted(recorder.by_recipient()) == sorted(sample_subscribers())
    assert all(e.resumed for e in again.editions)


def test_starttls_and_auth(tmp_path: Path, smtp_tls_server: Any, make_context: Any) -> None:
    controller, recorder, ca_file = smtp_tls_server
    ctx = tls_context(tmp_path, controller.port, make_context, "s3cret", ca_file)
    report = run(ctx)
    assert report.ok, report.errors
    assert len(recorder.messages) == len(sample_subscribers())


def test_wrong_password_stops_the_transport_at_once(
    tmp_path: Path, smtp_tls_server: Any, make_context: Any
) -> None:
    controller, recorder, ca_file = smtp_tls_server
    ctx = tls_context(tmp_path, controller.port, make_context, "wrong", ca_file)
    report = run(ctx)
    assert recorder.messages == []
    auth_errors = [p for p in report.errors if "credentials refused" in p.cause]
    assert len(auth_errors) == 1, report.errors
    assert "wrong" not in str(report.to_dict())
    assert {r["state"] for r in _all_rows(ctx)} == {"pending"}


def test_untrusted_certificate_is_refused(
    tmp_path: Path, smtp_tls_server: Any, make_context: Any
) -> None:
    controller, recorder, _ca = smtp_tls_server
    ctx = tls_context(tmp_path, controller.port, make_context, "s3cret", None)
    report = run(ctx)
    assert recorder.messages == []
    assert any(
        "TLS" in p.cause and "CERTIFICATE_VERIFY_FAILED" in p.cause for p in report.errors
    ), report.errors
