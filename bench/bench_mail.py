"""Mail delivery benchmark (not a test): batch API calls and SMTP connection pooling.

1. 100,000 recipients through the Mailgun backend (recipient-variables, 1,000 per call)
   into a local HTTP server: number of calls and seconds; next to it, one call per
   recipient (the naive way) measured on a sample of BENCH_NAIVE recipients.
2. SMTP into a local aiosmtpd server (STARTTLS + AUTH, like a real submission port, in its
   own process): a pool of POOL kept-open connections sending in parallel (each reused for
   up to 1,000 messages) next to one connection per message, same messages, same run.

Ends with ONE JSON line of figures.  Sizes: BENCH_RECIPIENTS (100000), BENCH_NAIVE (2000),
BENCH_SMTP (2000), BENCH_POOL (4).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from pytest_httpserver import HTTPServer  # noqa: E402
from werkzeug import Request, Response  # noqa: E402

from distributor.mail.mailgun import MailgunBackend  # noqa: E402
from distributor.mail.smtp import SmtpBackend  # noqa: E402
from tests.conftest import free_port, settings_for, write_config  # noqa: E402
from tests.mail.conftest import make_messages  # noqa: E402

RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "100000"))
NAIVE_SAMPLE = int(os.environ.get("BENCH_NAIVE", "2000"))
SMTP_MESSAGES = int(os.environ.get("BENCH_SMTP", "2000"))
POOL = int(os.environ.get("BENCH_POOL", "4"))


class CountingMailgun:
    """A light Mailgun stand-in: checks auth, the 1,000 limit and recipient-variables; counts."""

    def __init__(self) -> None:
        self.recipients = 0

    def handler(self, request: Request) -> Response:
        request.max_form_memory_size = 25 * 1024 * 1024
        request.max_form_parts = 5000
        auth = request.authorization
        if auth is None or auth.password != "key-mailgun":
            return Response("Forbidden", 401)
        to = request.form.getlist("to")
        variables = json.loads(request.form.get("recipient-variables", "{}"))
        if not 0 < len(to) <= 1000 or set(variables) != set(to):
            return Response('{"message": "bad batch"}', 400, content_type="application/json")
        self.recipients += len(to)
        return Response(
            '{"id": "<x@mg>", "message": "Queued. Thank you."}',
            200,
            content_type="application/json",
        )


class CountingSmtp:
    """An aiosmtpd handler that only counts (the server's own cost stays small)."""

    def __init__(self, counter: Any) -> None:
        self.counter = counter

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 2.0.0 Ok"


def serve_smtp(port: int, cert_dir: str, counter: Any, ready: Any, stop: Any) -> None:
    """The SMTP server, in its own process (so it does not share the client's GIL)."""
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(f"{cert_dir}/server.pem")

    def authenticator(
        server: object, session: object, envelope: object, mechanism: str, data: object
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and data.password == b"s3cret"
        return AuthResult(success=ok, handled=False)

    controller = Controller(
        CountingSmtp(counter),
        hostname="127.0.0.1",
        port=port,
        tls_context=server_ctx,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
    )
    controller.start()
    ready.set()
    stop.wait(600)
    controller.stop()


def bench_mailgun(tmp: Path) -> dict[str, float]:
    """Batch calls (1,000 recipients each) for all; one call per recipient on a sample."""
    fake = CountingMailgun()
    server = HTTPServer(host="127.0.0.1", port=0)
    server.expect_request("/v3/mg.news.example/messages").respond_with_handler(fake.handler)
    server.start()
    try:
        url = server.url_for("").rstrip("/")
        path = write_config(
            tmp, mail=f'provider = "mailgun"\ndomain = "mg.news.example"\nbase_url = "{url}"\n'
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
        assert sent == RECIPIENTS == fake.recipients, (sent, fake.recipients)

        naive = MailgunBackend("main", settings.mail["main"], settings)
        sample = messages[:NAIVE_SAMPLE]
        started = time.perf_counter()
        for m in sample:
            assert naive.send_batch([m])[0].state == "sent"
        naive_seconds = time.perf_counter() - started
        naive.close()
    finally:
        server.stop()
    naive_rate = NAIVE_SAMPLE / naive_seconds
    rate = RECIPIENTS / seconds
    return {
        "mailgun_recipients": RECIPIENTS,
        "mailgun_calls": backend.calls,
        "mailgun_seconds": round(seconds, 2),
        "mailgun_recipients_per_second": round(rate),
        "mailgun_one_call_per_recipient_per_second": round(naive_rate),
        "mailgun_one_call_per_recipient_est_seconds": round(RECIPIENTS / naive_rate, 1),
        "mailgun_batch_speedup": round(rate / naive_rate, 1),
    }


def bench_smtp(tmp: Path) -> dict[str, float]:
    """Like a real submission server: STARTTLS required, then AUTH; in another process."""
    import multiprocessing

    import trustme

    ca = trustme.CA()
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(tmp / "server.pem"))
    ca_file = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    mp = multiprocessing.get_context("spawn")
    counter, ready, stop = mp.Value("i", 0), mp.Event(), mp.Event()
    port = free_port()
    proc = mp.Process(target=serve_smtp, args=(port, str(tmp), counter, ready, stop), daemon=True)
    proc.start()
    try:
        assert ready.wait(30), "SMTP server did not start"
        figures = {}
        for label, per_connection, batch, lanes in (
            ("pooled", 1000, 100, POOL),
            ("naive", 1, 1, 1),
        ):
            (tmp / label).mkdir()
            path = write_config(
                tmp / label,
                mail=f'provider = "smtp"\nhost = "127.0.0.1"\nport = {port}\n'
                f'username = "digest"\nca_file = "{ca_file}"\n'
                f"batch_size = {batch}\nmax_messages_per_connection = {per_connection}\npool_size = {lanes}\n",
            )
            settings = settings_for(path, {"DISTRIBUTOR_MAIL_MAIN_PASSWORD": "s3cret"})
            backend = SmtpBackend("main", settings.mail["main"], settings)
            messages = make_messages(SMTP_MESSAGES)
            before = counter.value
            started = time.perf_counter()
            for i in range(0, len(messages), batch):
                backend.send_batch(messages[i : i + batch])
            backend.close()
            seconds = time.perf_counter() - started
            assert counter.value - before == SMTP_MESSAGES
            figures[label] = (seconds, backend.connections_opened)
    finally:
        stop.set()
        proc.join(10)
    pooled, naive = figures["pooled"], figures["naive"]
    return {
        "smtp_messages": SMTP_MESSAGES,
        "smtp_pooled_seconds": round(pooled[0], 2),
        "smtp_pooled_connections": pooled[1],
        "smtp_per_message_seconds": round(naive[0], 2),
        "smtp_per_message_connections": naive[1],
        "smtp_pool_size": POOL,
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
