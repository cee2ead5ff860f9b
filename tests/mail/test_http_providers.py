"""Every HTTP provider against a local server that checks its documented contract."""

from __future__ import annotations

import csv
import re
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from distributor.errors import AuthenticationError, TransientProviderError
from distributor.models import DeliveryState
from distributor.pipeline import run
from distributor.store.schema import deliveries
from tests.conftest import SAMPLE
from tests.mail.conftest import make_backend, make_messages, provider_settings
from tests.mail.fakes import CASES, ProviderCase

IDS = [c.provider for c in CASES]


def sample_subscribers() -> dict[str, str]:
    with (SAMPLE / "subscribers.csv").open(encoding="utf-8") as fh:
        return {row["email"]: row["name"] for row in csv.DictReader(fh)}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_sends_the_sample_digest(
    case: ProviderCase, server: HTTPServer, tmp_path: Path, make_context: Any
) -> None:
    fake = case.fake()
    server.expect_request(case.endpoint).respond_with_handler(fake.handler)
    settings = provider_settings(tmp_path, case, server.url_for("").rstrip("/"))
    ctx = make_context(settings)
    report = run(ctx)

    assert report.ok, report.errors
    subscribers = sample_subscribers()
    received = fake.by_recipient()
    assert set(received) == set(subscribers)
    assert report.emails.sent == len(subscribers) == len(fake.delivered)
    for address, got in received.items():
        unsub = got.headers["List-Unsubscribe"].split(">")[0].lstrip("<")
        assert unsub.startswith("https://news.example/newsletter/u/")
        # each reader's own link, in both bodies and the header
        assert unsub in got.text and unsub.replace("&", "&amp;") in got.html
        assert got.headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert got.subject and "Meridian Daily" in got.subject
        name = subscribers[address].split()[0] if subscribers[address] else ""
        if name:
            assert name in got.text
        for marker in ("%recipient.", "{{{", "{{ params."):
            assert marker not in got.html + got.text
        # SendGrid's tags are -dvN- ("-dv" alone occurs by chance in signed tokens)
        assert re.search(r"-dv\d+-", got.html + got.text) is None
    # different readers got different links: personalization really happened
    links = {g.headers["List-Unsubscribe"] for g in received.values()}
    assert len(links) == len(subscribers)
    # the ledger agrees, and a second run sends nothing
    before = len(fake.delivered)
    assert run(ctx).emails.sent == 0
    assert len(fake.delivered) == before


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_content_is_exact_per_recipient(
    case: ProviderCase, server: HTTPServer, tmp_path: Path
) -> None:
    """The template and values the provider expands give back each message byte for byte."""
    fake = case.fake()
    backend, _ = make_backend(tmp_path, case, server, fake)
    messages = make_messages(7)
    results = backend.send_batch(messages)
    assert [r.state for r in results] == [DeliveryState.SENT] * 7
    got = fake.by_recipient()
    for m in messages:
        d = got[m.recipient]
        assert d.html == m.html and d.text == m.text and d.subject == m.subject
        assert d.headers["List-Unsubscribe"] == dict(m.headers)["List-Unsubscribe"]
        assert "Reply-To" not in d.headers or d.headers["Reply-To"] == "newsroom@news.example"


LIMITS = {
    "mailgun": 1000,
    "sendgrid": 1000,
    "postmark": 500,
    "ses": 50,
    "resend": 100,
    "brevo": 1000,
}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_batches_respect_the_documented_limit(
    case: ProviderCase, server: HTTPServer, tmp_path: Path
) -> None:
    fake = case.fake()
    backend, _ = make_backend(tmp_path, case, server, fake)
    limit = LIMITS[case.provider]
    assert backend.batch_size == limit
    n = limit + limit // 5 + 1
    results = backend.send_batch(make_messages(n))
    assert all(r.state == DeliveryState.SENT for r in results)
    assert len(results) == n == len(fake.delivered)
    assert len(fake.calls) == 2  # the fake refuses any call over the limit


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_429_waits_as_long_as_retry_after_says(
    case: ProviderCase, server: HTTPServer, tmp_path: Path
) -> None:
    fake = case.fake()
    fake.fail_next("status", 429, {"Retry-After": "7"})
    fake.fail_next("status", 503)
    backend, t = make_backend(tmp_path, case, server, fake)
    results = backend.send_batch(make_messages(3))
    assert [r.state for r in results] == [DeliveryState.SENT] * 3
    assert len(fake.calls) == 3
    assert t.sleeps[0] == 7.0  # Retry-After honoured (the backoff alone would be 0.25 s)
    assert t.sleeps[1] == pytest.approx(0.5)  # 2nd backoff step, jitter 0.5 of 1 s


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_5xx_retried_with_backoff_then_batch_given_back(
    case: ProviderCase, server: HTTPServer, tmp_path: Path
) -> None:
    fake = case.fake()
    for _ in range(3):
        fake.fail_next("status", 502)
    backend, t = make_backend(tmp_path, case, server, fake, extra="max_retries = 2\n")
    with pytest.raises(TransientProviderError, match="502"):
        backend.send_batch(make_messages(2))
    assert len(fake.calls) == 3 and not fake.delivered
    assert t.sleeps == pytest.approx([0.25, 0.5])  # exponential, with jitter


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_rate_limit_reset_header_is_honoured(
    case: ProviderCase, server: HTTPServer, tmp_path: Path
) -> None:
    fake = case.fake()
    fake.fail_next("status", 429, {"X-RateLimit-Reset": "4"})
    backend, t = make_backend(tmp_path, case, server, fake)
    assert all(r.state == DeliveryState.SENT for r in backend.send_batch(make_messages(2)))
    assert t.sleeps == [4.0]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_retry_after_too_long_stops_for_this_run(
    case: ProviderCase, server: HTTPServer, tmp_path: Path
) -> None:
    fake = case.fake()
    fake.fail_next("status", 429, {"Retry-After": "3600"})
    backend, t = make_backend(tmp_path, case, server, fake)
    with pytest.raises(TransientProviderError, match="3600") as info:
        backend.send_batch(make_messages(2))
    assert info.value.retry_after == 3600 and t.sleeps == [] and len(fake.calls) == 1


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_401_stops_the_provider_at_once(
    case: ProviderCase, server: HTTPServer, tmp_path: Path
) -> None:
    fake = case.fake()
    backend, t = make_backend(tmp_path, case, server, fake)
    fake.fail_next("status", 401)
    with pytest.raises(AuthenticationError, match="refused the credentials"):
        backend.send_batch(make_messages(2))
    # no retry, and no further call at all: the provider is stopped
    with pytest.raises(AuthenticationError):
        backend.send_batch(make_messages(2))
    assert len(fake.calls) == 1 and t.sleeps == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_wrong_credentials_refused_by_the_fake(
    case: ProviderCase, server: HTTPServer, tmp_path: Path
) -> None:
    fake = case.fake()
    wrong = {k: "wrong" for k in case.env}
    server.expect_request(case.endpoint).respond_with_handler(fake.handler)
    from distributor.config import load_settings
    from distributor.registry import mail_backend_class
    from tests.conftest import write_config

    path = write_config(tmp_path, mail=case.toml(server.url_for("").rstrip("/")))
    settings = load_settings(path, environ=wrong, dotenv_path=tmp_path / "none")
    backend = mail_backend_class(case.provider)("main", settings.mail["main"], settings)
    with pytest.raises(AuthenticationError):
        backend.send_batch(make_messages(1))


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_400_fails_for_good_without_retry(
    case: ProviderCase, server: HTTPServer, tmp_path: Path
) -> None:
    fake = case.fake()
    fake.fail_next("json", (400, {"message": "'from' parameter is not a valid address"}))
    backend, t = make_backend(tmp_path, case, server, fake)
    results = backend.send_batch(make_messages(3))
    assert [r.state for r in results] == [DeliveryState.FAILED] * 3
    assert not any(r.retryable for r in results)
    assert "not a valid address" in (results[0].error or "")
    assert len(fake.calls) == 1 and t.sleeps == []


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_no_reply_in_time(case: ProviderCase, server: HTTPServer, tmp_path: Path) -> None:
    """Sent, processed, reply lost: unknown without an idempotency key, retried safely with one."""
    fake = case.fake()
    fake.fail_next("slow", 1.2)
    backend, _ = make_backend(tmp_path, case, server, fake, extra="timeout = 0.4\n")
    results = backend.send_batch(make_messages(3))
    if case.idempotent:
        assert [r.state for r in results] == [DeliveryState.SENT] * 3
        assert len(fake.calls) == 2
        assert len(fake.delivered) == 3  # the repeat with the same key delivered nothing new
    else:
        assert [r.state for r in results] == [DeliveryState.UNKNOWN] * 3
        assert "not resent" in (results[0].error or "")
        assert len(fake.calls) == 1


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_connection_refused_is_transient(case: ProviderCase, tmp_path: Path) -> None:
    from tests.conftest import free_port

    settings = provider_settings(
        tmp_path, case, f"http://127.0.0.1:{free_port()}", "max_retries = 1\n"
    )
    from distributor.registry import mail_backend_class

    sleeps: list[float] = []
    backend = mail_backend_class(case.provider)(
        "main", settings.mail["main"], settings, sleep=sleeps.append
    )
    with pytest.raises(TransientProviderError, match="cannot connect"):
        backend.send_batch(make_messages(1))
    assert len(sleeps) == 1


def test_postmark_checks_every_entry_of_a_200(server: HTTPServer, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.provider == "postmark")
    fake = case.fake()
    fake.inactive.add("reader1@example.org")  # type: ignore[attr-defined]
    backend, _ = make_backend(tmp_path, case, server, fake)
    results = backend.send_batch(make_messages(3))
    assert [r.state for r in results] == ["sent", "failed", "sent"]
    assert results[1].retryable is False and "406" in (results[1].error or "")


def test_ses_per_entry_status(server: HTTPServer, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.provider == "ses")
    fake = case.fake()
    fake.rejected.add("reader2@example.org")  # type: ignore[attr-defined]
    backend, _ = make_backend(tmp_path, case, server, fake)
    results = backend.send_batch(make_messages(3))
    assert [r.state for r in results] == ["sent", "sent", "failed"]
    assert "MESSAGE_REJECTED" in (results[2].error or "") and not results[2].retryable


def test_ses_signature_is_checked(server: HTTPServer, tmp_path: Path) -> None:
    """The fake recomputes SigV4 with the real secret: a wrong secret is a 403, i.e. auth."""
    case = next(c for c in CASES if c.provider == "ses")
    fake = case.fake()
    server.expect_request(case.endpoint).respond_with_handler(fake.handler)
    env = {**case.env, "DISTRIBUTOR_MAIL_MAIN_SECRET_ACCESS_KEY": "not-the-secret"}
    from distributor.config import load_settings
    from distributor.registry import mail_backend_class
    from tests.conftest import write_config

    path = write_config(tmp_path, mail=case.toml(server.url_for("").rstrip("/")))
    settings = load_settings(path, environ=env, dotenv_path=tmp_path / "none")
    backend = mail_backend_class("ses")("main", settings.mail["main"], settings)
    with pytest.raises(AuthenticationError, match="signature"):
        backend.send_batch(make_messages(1))


def test_rate_limit_spaces_calls(server: HTTPServer, tmp_path: Path) -> None:
    case = next(c for c in CASES if c.provider == "resend")
    fake = case.fake()
    backend, t = make_backend(tmp_path, case, server, fake, extra="rate_limit = 50\n")
    backend.send_batch(make_messages(250))  # 3 calls: 100, 100, 50 messages at 50/s
    assert len(fake.calls) == 3
    assert t.sleeps == pytest.approx([2.0, 2.0])


def test_mailgun_eu_region(tmp_path: Path) -> None:
    from distributor.registry import mail_backend_class
    from tests.conftest import settings_for, write_config

    path = write_config(tmp_path, mail='provider = "mailgun"\ndomain = "mg.x"\nregion = "eu"\n')
    settings = settings_for(path, {"DISTRIBUTOR_MAIL_MAIN_API_KEY": "k"})
    backend = mail_backend_class("mailgun")("main", settings.mail["main"], settings)
    assert backend.base_url == "https://api.eu.mailgun.net"


def test_missing_secret_is_one_line(tmp_path: Path) -> None:
    from distributor.errors import ConfigError
    from tests.conftest import settings_for, write_config

    path = write_config(tmp_path, mail='provider = "sendgrid"\n')
    with pytest.raises(ConfigError, match="DISTRIBUTOR_MAIL_MAIN_API_KEY"):
        settings_for(path, {})


def test_unknown_outcome_reaches_ledger_and_report_and_is_not_resent(
    server: HTTPServer, tmp_path: Path, make_context: Any
) -> None:
    case = next(c for c in CASES if c.provider == "postmark")
    fake = case.fake()
    fake.fail_next("slow", 1.0)  # the first call is processed but answered too late
    server.expect_request(case.endpoint).respond_with_handler(fake.handler)
    settings = provider_settings(tmp_path, case, server.url_for("").rstrip("/"), "timeout = 0.4\n")
    ctx = make_context(settings)
    report = run(ctx)
    assert report.emails.unknown > 0
    assert report.emails.unknown + report.emails.sent == len(sample_subscribers())
    assert any("outcome unknown" in f"{e.subject} {e.cause}" for e in report.errors)
    delivered = len(fake.delivered)
    second = run(ctx)
    assert second.emails.sent == 0 and len(fake.delivered) == delivered  # never resent blindly


def test_refused_credentials_stop_the_provider_for_the_run(
    server: HTTPServer, tmp_path: Path, make_context: Any
) -> None:
    case = next(c for c in CASES if c.provider == "sendgrid")
    fake = case.fake()
    fake.fail_next("status", 401)
    server.expect_request(case.endpoint).respond_with_handler(fake.handler)
    ctx = make_context(provider_settings(tmp_path, case, server.url_for("").rstrip("/")))
    report = run(ctx)
    assert len(fake.calls) == 1  # every later edition is stopped without a call
    assert report.emails.sent == 0 and not fake.delivered
    assert any("credentials refused" in f"{e.subject} {e.cause}" for e in report.errors), (
        report.errors
    )
    # the rows stay pending: the next run (a new process, credentials fixed) delivers them
    assert run(make_context(ctx.settings)).emails.sent == len(sample_subscribers())


def test_sendgrid_large_personal_values_go_in_their_own_request(
    server: HTTPServer, tmp_path: Path
) -> None:
    """Substitutions are limited to 10,000 bytes per personalization."""
    from dataclasses import replace

    case = next(c for c in CASES if c.provider == "sendgrid")
    fake = case.fake()
    backend, _ = make_backend(tmp_path, case, server, fake)
    messages = make_messages(4)
    big = "<p>" + "personal note " * 1000 + "</p>\n"
    messages[2] = replace(messages[2], html=messages[2].html.replace("<h1>", big + "<h1>"))
    results = backend.send_batch(messages)
    assert all(r.state == DeliveryState.SENT for r in results)
    assert len(fake.calls) == 2  # the fake refuses substitutions over 10,000 bytes
    got = fake.by_recipient()
    assert all(got[m.recipient].html == m.html for m in messages)


@pytest.mark.parametrize(
    ("case", "status"),
    [*((c, 404) for c in CASES), (next(c for c in CASES if c.provider == "resend"), 403)],
    ids=[*(f"{i}-404" for i in IDS), "resend-403"],
)
def test_configuration_refused_stops_and_leaves_every_reader_pending(
    case: ProviderCase, status: int, server: HTTPServer, tmp_path: Path, make_context: Any
) -> None:
    """A wrong base_url or region (404), a key without the permission (403): the transport
    stops, nobody is failed, the run says so once, and the next run sends the edition."""
    fake = case.fake()
    fake.fail_next("status", status)
    server.expect_request(case.endpoint).respond_with_handler(fake.handler)
    settings = provider_settings(tmp_path, case, server.url_for("").rstrip("/"))
    ctx = make_context(settings)
    report = run(ctx)
    readers = len(sample_subscribers())
    assert report.emails.sent == report.emails.failed == 0 and len(fake.calls) == 1
    mail_errors = [e for e in report.errors if "mail transport" in e.cause]
    assert len(mail_errors) == 1 and str(status) in mail_errors[0].cause
    with ctx.store.engine.connect() as conn:
        states = [r.state for r in conn.execute(select(deliveries.c.state))]
    assert states == ["pending"] * readers
    again = run(make_context(settings))  # fixed (the fake answers again)
    assert again.emails.sent == readers and again.ok, again.errors
    assert set(fake.by_recipient()) == set(sample_subscribers())


def test_a_config_error_mid_batch_gives_the_unsent_rows_back(
    server: HTTPServer, tmp_path: Path
) -> None:
    from distributor.errors import ProviderConfigError

    case = next(c for c in CASES if c.provider == "resend")
    fake = case.fake()
    backend, _ = make_backend(tmp_path, case, server, fake, extra="batch_size = 100\n")
    messages = make_messages(250)
    calls = 0
    original = backend.send_chunk

    def send_chunk(chunk: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            fake.fail_next("status", 404)
        return original(chunk)

    backend.send_chunk = send_chunk  # type: ignore[method-assign]
    results = backend.send_batch(messages)
    assert [r.state for r in results] == [DeliveryState.SENT] * 100  # only the first call's
    assert isinstance(backend.stopped, ProviderConfigError)
    with pytest.raises(ProviderConfigError):
        backend.send_batch(make_messages(1))  # stopped: no further call
    assert len(fake.calls) == 2


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_non_ascii_list_title_and_sender_name_are_encoded_headers(
    case: ProviderCase, server: HTTPServer, tmp_path: Path, make_context: Any
) -> None:
    """A list title and sender name outside ASCII: every provider gets header values as
    they go on the wire (RFC 2047); SES's fake refuses anything else, as SES does."""
    from email.header import decode_header, make_header

    from tests.conftest import settings_for, write_config

    fake = case.fake()
    server.expect_request(case.endpoint).respond_with_handler(fake.handler)
    path = write_config(
        tmp_path,
        mail=case.toml(server.url_for("").rstrip("/")),
        list_extra="",
    )
    text = path.read_text(encoding="utf-8")
    text = text.replace('title = "Meridian Daily"', 'title = "Méridien Quotidien — Ελλάδα"')
    text = text.replace(
        'from_address = "Meridian Daily <digest@news.example>"',
        'from_address = "Méridien Quotidien <digest@news.example>"',
    )
    path.write_text(text, encoding="utf-8")
    report = run(make_context(settings_for(path, case.env)))
    assert report.ok, report.errors
    got = next(iter(fake.by_recipient().values()))
    list_id = got.headers["List-Id"]
    assert list_id.isascii() and "\n" not in list_id
    assert str(make_header(decode_header(list_id))).startswith("Méridien Quotidien — Ελλάδα <")
    if case.provider == "ses":
        assert got.sender.isascii()
        assert str(make_header(decode_header(got.sender))) == (
            "Méridien Quotidien <digest@news.example>"
        )
