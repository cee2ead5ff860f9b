"""Internationalized and unusable addresses: one bad row never stops a list.

Real aiosmtpd servers (with and without ``SMTPUTF8``), the file outbox and an
HTTP provider's fake each get the sample list plus readers whose addresses
need care: a non-ASCII local part, an IDN domain, an address that cannot be
sent at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_string
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from pytest_httpserver import HTTPServer
from sqlalchemy import select

from distributor.addresses import sending_form
from distributor.errors import AddressError
from distributor.pipeline import run, sync_subscribers
from distributor.report import RunReport
from distributor.store.schema import deliveries, subscribers
from tests.conftest import SAMPLE, SmtpRecorder, free_port, settings_for, write_config
from tests.mail.fakes import CASES

EAI = "josé.garcía@example.com"
IDN = "reader@bücher.example"
IDN_ASCII = "reader@xn--bcher-kva.example"


def test_sending_form() -> None:
    assert sending_form("alice@example.com").address == "alice@example.com"
    idn = sending_form(IDN)
    assert idn.address == IDN_ASCII and not idn.smtputf8
    eai = sending_form(EAI)
    assert eai.address == EAI and eai.smtputf8
    both = sending_form("josé@bücher.example")
    assert both.address == "josé@xn--bcher-kva.example" and both.smtputf8
    with pytest.raises(AddressError, match="no-at-sign"):
        sending_form("no-at-sign")


def subscribers_file(tmp_path: Path, *extra: str) -> Path:
    lines = (SAMPLE / "subscribers.csv").read_text(encoding="utf-8").rstrip("\n").split("\n")
    path = tmp_path / "subscribers.csv"
    path.write_text("\n".join([*lines, *extra]) + "\n", encoding="utf-8")
    return path


def sample_count() -> int:
    return len((SAMPLE / "subscribers.csv").read_text(encoding="utf-8").strip().split("\n")) - 1


def states(ctx: Any) -> dict[str, tuple[str, str | None]]:
    with ctx.store.engine.connect() as conn:
        rows = conn.execute(
            select(subscribers.c.email, deliveries.c.state, deliveries.c.error).join(
                subscribers, subscribers.c.id == deliveries.c.subscriber_id
            )
        ).all()
    return {email: (state, error) for email, state, error in rows}


def spoil_address(ctx: Any, email: str, bad: str) -> None:
    """An address that reached the store unvalidated (an old import, a direct edit)."""
    with ctx.store.engine.begin() as conn:
        conn.execute(subscribers.update().where(subscribers.c.email == email).values(email=bad))


def _server(smtputf8: bool) -> Iterator[tuple[Controller, SmtpRecorder]]:
    recorder = SmtpRecorder()
    controller = Controller(
        recorder, hostname="127.0.0.1", port=free_port(), enable_SMTPUTF8=smtputf8
    )
    controller.start()
    yield controller, recorder
    controller.stop()


@pytest.fixture
def utf8_server() -> Iterator[tuple[Controller, SmtpRecorder]]:
    yield from _server(True)


@pytest.fixture
def ascii_server() -> Iterator[tuple[Controller, SmtpRecorder]]:
    """A server that does not offer SMTPUTF8 in its EHLO reply."""
    yield from _server(False)


def smtp_settings(tmp_path: Path, port: int) -> Any:
    path = write_config(
        tmp_path,
        mail=f'provider = "smtp"\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"',
        subscribers=subscribers_file(
            tmp_path, f"{EAI},José García,es,,", f"{IDN},Bücher Leser,de,,"
        ),
    )
    return settings_for(path)


def test_smtputf8_server_gets_the_internationalized_address(
    tmp_path: Path, utf8_server: Any, make_context: Any
) -> None:
    controller, recorder = utf8_server
    ctx = make_context(smtp_settings(tmp_path, controller.port))
    report = run(ctx)
    assert report.ok, report.errors
    assert report.emails.sent == sample_count() + 2
    received = recorder.by_recipient()
    assert EAI in received and IDN_ASCII in received  # the domain went in ASCII
    envelope = next(env for env, _ in recorder.messages if env.rcpt_tos == [EAI])
    assert "SMTPUTF8" in [o.upper() for o in envelope.mail_options]
    raw = envelope.original_content or b""
    assert "José García <josé.garcía@example.com>".encode() in raw  # RFC 6532: UTF-8 header
    msg = message_from_string(raw.decode("utf-8"), policy=default_policy)
    assert msg["To"].addresses[0].addr_spec == EAI
    assert msg["To"].addresses[0].display_name == "José García"
    # the others went as plain ASCII mail
    plain = next(env for env, _ in recorder.messages if env.rcpt_tos == [IDN_ASCII])
    assert "SMTPUTF8" not in [o.upper() for o in plain.mail_options]


def test_server_without_smtputf8_fails_only_that_reader(
    tmp_path: Path, ascii_server: Any, make_context: Any
) -> None:
    controller, recorder = ascii_server
    ctx = make_context(smtp_settings(tmp_path, controller.port))
    report = run(ctx)
    assert report.emails.sent == sample_count() + 1 and report.emails.failed == 1
    state, error = states(ctx)[EAI]
    assert state == "failed" and "SMTPUTF8" in (error or "")
    assert EAI not in recorder.by_recipient() and IDN_ASCII in recorder.by_recipient()
    assert any(EAI in e.cause for e in report.errors)
    again = run(make_context(ctx.settings))
    assert again.emails.sent == 0  # not retried: the server cannot take it


def test_unusable_address_fails_alone_and_the_list_goes_out(
    tmp_path: Path, make_context: Any
) -> None:
    path = write_config(tmp_path, subscribers=subscribers_file(tmp_path, f"{EAI},José García,es,,"))
    ctx = make_context(settings_for(path))
    sync_subscribers(
        ctx, "daily", ctx.settings.lists["daily"], RunReport(started_at="x", dry_run=False)
    )
    # an address that reached the store unvalidated (an old import, a direct edit)
    spoil_address(ctx, "alice.morgan@example.com", "alice.morgan@@example.com")
    report = run(ctx)  # (the file is read again: alice comes back with her real address)
    found = states(ctx)
    assert found[EAI][0] == "sent"  # the file outbox takes UTF-8 headers
    state, error = found["alice.morgan@@example.com"]
    assert state == "failed" and "alice.morgan@@example.com" in (error or "")
    assert report.emails.sent == sample_count() + 1 and report.emails.failed == 1


@pytest.mark.parametrize("provider", ["ses", "mailgun"])
def test_http_provider_without_smtputf8_fails_that_reader_only(
    provider: str, tmp_path: Path, httpserver: HTTPServer, make_context: Any
) -> None:
    case = next(c for c in CASES if c.provider == provider)
    fake = case.fake()
    httpserver.expect_request(case.endpoint).respond_with_handler(fake.handler)
    path = write_config(
        tmp_path,
        mail=case.toml(httpserver.url_for("").rstrip("/")),
        subscribers=subscribers_file(
            tmp_path, f"{EAI},José García,es,,", f"{IDN},Bücher Leser,de,,"
        ),
    )
    ctx = make_context(settings_for(path, case.env))
    report = run(ctx)
    assert report.emails.sent == sample_count() + 1 and report.emails.failed == 1
    assert IDN_ASCII in fake.by_recipient()
    state, error = states(ctx)[EAI]
    assert state == "failed" and "SMTPUTF8" in (error or "")


def test_confirmation_mail_to_an_internationalized_address(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    from distributor.web.confirmation import confirmation_message, send_one
    from tests.conftest import NOW

    settings = settings_for(write_config(tmp_path))
    message = confirmation_message(
        list_name="daily",
        list_config=settings.lists["daily"],
        email="josé@bücher.example",
        url="https://news.example/c/x",
        language="es",
        hours=48,
        now=NOW,
        key="confirm/daily/1",
    )
    assert message.recipient == "josé@xn--bcher-kva.example"
    assert "To: josé@xn--bcher-kva.example".encode() in message.raw
    assert send_one(settings, "main", message).state == "sent"  # the file outbox takes it
    case = next(c for c in CASES if c.provider == "ses")
    ses = settings_for(
        write_config(tmp_path, mail=case.toml(httpserver.url_for("").rstrip("/"))), case.env
    )
    refused = send_one(ses, "main", message)
    assert refused.state == "failed" and "SMTPUTF8" in (refused.error or "")
    assert not httpserver.log  # no call was made
