"""An internationalized domain in ``from_address`` and ``reply_to``: every transport gets the
ASCII (IDNA) form, in the SMTP envelope and in the headers; a sender whose local part is
not ASCII is refused with the reason before anything is sent.

A real aiosmtpd server without SMTPUTF8 (the IDNA form needs no extension) and the
Postmark contract server."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer

from distributor.addresses import sending_mailbox
from distributor.pipeline import run
from tests.conftest import settings_for, write_config
from tests.mail.fakes import CASES
from tests.mail.test_addresses import ascii_server  # noqa: F401 - the fixture

SENDER = "Bücherei Nachrichten <digest@bücher.example>"
REPLY = "Redaktion <desk@bücher.example>"
ASCII_DOMAIN = "xn--bcher-kva.example"


def with_idn_sender(path: Path, sender: str = SENDER) -> Path:
    text = path.read_text(encoding="utf-8").replace(
        'from_address = "Meridian Daily <digest@news.example>"',
        f'from_address = "{sender}"\nreply_to = "{REPLY}"',
    )
    path.write_text(text, encoding="utf-8")
    return path


def test_sending_mailbox() -> None:
    assert sending_mailbox(SENDER) == f"Bücherei Nachrichten <digest@{ASCII_DOMAIN}>"
    assert sending_mailbox("plain@news.example") == "plain@news.example"
    assert sending_mailbox('"Doe, Jane" <j@bücher.example>') == f'"Doe, Jane" <j@{ASCII_DOMAIN}>'


def test_smtp_gets_the_ascii_domain_in_envelope_and_headers(
    tmp_path: Path,
    ascii_server: Any,  # noqa: F811
    make_context: Any,
) -> None:
    controller, recorder = ascii_server
    path = with_idn_sender(
        write_config(
            tmp_path,
            mail=f'provider = "smtp"\nhost = "127.0.0.1"\nport = {controller.port}\n'
            'security = "none"',
        )
    )
    report = run(make_context(settings_for(path)))
    assert report.ok, report.errors
    assert report.emails.sent > 0
    for envelope, _ in recorder.messages:
        assert envelope.mail_from == f"digest@{ASCII_DOMAIN}"
        assert "SMTPUTF8" not in [o.upper() for o in envelope.mail_options]
        msg = message_from_bytes(envelope.original_content or b"", policy=default_policy)
        sender = msg["From"].addresses[0]
        assert sender.addr_spec == f"digest@{ASCII_DOMAIN}"
        assert sender.display_name == "Bücherei Nachrichten"
        assert msg["Reply-To"].addresses[0].addr_spec == f"desk@{ASCII_DOMAIN}"
        assert ASCII_DOMAIN in str(msg["List-Id"]) or "bücher" not in str(msg["List-Id"])


def test_an_http_provider_gets_the_ascii_domain(
    tmp_path: Path, httpserver: HTTPServer, make_context: Any
) -> None:
    case = next(c for c in CASES if c.provider == "postmark")
    fake = case.fake()
    httpserver.expect_request(case.endpoint).respond_with_handler(fake.handler)
    path = with_idn_sender(write_config(tmp_path, mail=case.toml(httpserver.url_for("")[:-1])))
    report = run(make_context(settings_for(path, case.env)))
    assert report.ok, report.errors
    for got in fake.delivered:
        assert got.sender.isascii() and got.sender.endswith(f"<digest@{ASCII_DOMAIN}>")


def test_a_non_ascii_sender_local_part_is_refused_in_one_line(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from distributor.cli import main

    path = with_idn_sender(write_config(tmp_path), sender="Redaktion <rédaction@bücher.example>")
    out = CliRunner().invoke(main, ["--config", str(path), "config", "check"])
    assert out.exit_code == 1
    lines = out.output.strip().splitlines()
    assert len(lines) == 1 and "sender's local part must be ASCII" in lines[0], out.output


def test_the_confirmation_mail_comes_from_the_ascii_domain(tmp_path: Path) -> None:
    from distributor.web.confirmation import confirmation_message
    from tests.conftest import NOW

    settings = settings_for(with_idn_sender(write_config(tmp_path)))
    message = confirmation_message(
        list_name="daily",
        list_config=settings.lists["daily"],
        email="reader@example.com",
        url="https://news.example/c/x",
        language="de",
        hours=48,
        now=NOW,
        key="confirm/daily/1",
    )
    msg = message_from_bytes(message.raw, policy=default_policy)
    assert msg["From"].addresses[0].addr_spec == f"digest@{ASCII_DOMAIN}"
    assert msg["Reply-To"].addresses[0].addr_spec == f"desk@{ASCII_DOMAIN}"
    assert message.sender.endswith(f"@{ASCII_DOMAIN}")
