"""Mail delivery benchmark (not a test): batch API calls and SMTP connection pooling.

1. 100,000 recipients through the Mailgun backend (recipient-variables, 1,000 per call)
   into a local HTTP server: number of calls and seconds.
2. SMTP into a local aiosmtpd server (STARTTLS + AUTH, like a real submission port): pooled connections (one connection reused for up
   to 1,000 messages) next to one connection per message, same messages, same run.

Ends with ONE JSON line of figures.  Sizes: BENCH_RECIPIENTS (100000), BENCH_SMTP (2000).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from pytest_httpserver import HTTPServer  # noqa: E402

from distributor.mail.mailgun import MailgunBackend  # noqa: E402
from distributor.mail.smtp import SmtpBackend  # noqa: E402
from tests.conftest import SmtpRecorder, free_port, settings_for, write_config  # noqa: E402
from tests.mail.conftest import make_messages  # noqa: E402
from tests.mail.fakes import MailgunFake  # noqa: E402

RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "100000"))
SMTP_MESSAGES = int(os.environ.get("BENCH_SMTP", "2000"))


def bench_mailgun(tmp: Path) -> dict[str, float]:
    fake = MailgunFake()
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/v3/mg.news.example/messages").respond_with_handler(fake.handler)
    server.start()
    try:
        path = write_config(
            tmp,
            mail=f'provider = "mailgun"\ndomain = "mg.news.example"\nbase_url = "{server.url_for("").rstrip("/")}"\n',
        )
        settings = settings_for(path, {"DISTRIBUTOR_MAIL_MAIN_API_KEY": "key-mailgun"})
        backend = MailgunBackend("main", settings.mail["main"], settings)
        messages = make_messages(RECIPIENTS)
        started = time.perf_counter()
        sent = 0
        for i in range(0, len(messages), backend.batch_size):
            results = backend.send_batch(messages[i : i + backend.batch_size])
            sent += sum(r.state == "sent" for r in results)
        seconds = time.perf_counter() - started
        backend.close()
    finally:
        server.stop()
    assert sent == RECIPIENTS == len(fake.delivered), (sent, len(fake.delivered))
    return {
        "mailgun_recipients": RECIPIENTS,
        "mailgun_calls": backend.calls,
        "mailgun_seconds": round(seconds, 2),
        "mailgun_recipients_per_second": round(RECIPIENTS / seconds),
    }


def bench_smtp(tmp: Path) -> dict[str, float]:
    """Like a real submission server: STARTTLS required, then AUTH."""
    import ssl

    import trustme
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ca = trustme.CA()
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(server_ctx)
    ca_file = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))

    def authenticator(
        server: object, session: object, envelope: object, mechanism: str, data: object
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)

    recorder = SmtpRecorder()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_ctx,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        figures = {}
        for label, per_connection, batch in (("pooled", 1000, 100), ("naive", 1, 1)):
            path = (
                write_config(
                    tmp / label,
                    mail=f'provider = "smtp"\nhost = "127.0.0.1"\nport = {controller.port}\n'
                    f'username = "digest"\nca_file = "{ca_file}"\n'
                    f"batch_size = {batch}\nmax_messages_per_connection = {per_connection}\n",
                )
                if (tmp / label).mkdir() is None
                else None
            )
            assert path is not None
            settings = settings_for(path, {"DISTRIBUTOR_MAIL_MAIN_PASSWORD": "s3cret"})
            backend = SmtpBackend("main", settings.mail["main"], settings)
            messages = make_messages(SMTP_MESSAGES)
            before = len(recorder.messages)
            started = time.perf_counter()
            for i in range(0, len(messages), batch):
                backend.send_batch(messages[i : i + batch])
            backend.close()
            seconds = time.perf_counter() - started
            assert len(recorder.messages) - before == SMTP_MESSAGES
            figures[label] = (seconds, backend.connections_opened)
    finally:
        controller.stop()
    pooled, naive = figures["pooled"], figures["naive"]
    return {
        "smtp_messages": SMTP_MESSAGES,
        "smtp_pooled_seconds": round(pooled[0], 2),
        "smtp_pooled_connections": pooled[1],
        "smtp_per_message_seconds": round(naive[0], 2),
        "smtp_per_message_connections": naive[1],
        "smtp_pooling_speedup": round(naive[0] / pooled[0], 1),
    }


def main() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        (tmp / "mg").mkdir()
        out = bench_mailgun(tmp / "mg")
        print(f"mailgun: {out}", file=sys.stderr)
        out.update(bench_smtp(tmp))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
