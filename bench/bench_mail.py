"""Mail delivery benchmark (not a test): batch API calls and SMTP at wire speed.

1. 100,000 recipients through the Mailgun backend (recipient-variables, 1,000 per call)
   into a local HTTP server: number of calls and seconds; next to it, one call per
   recipient (the naive way) measured on a sample of BENCH_NAIVE recipients.
2. SMTP, the same pre-built messages of about BENCH_KB KB (a digest's size), into three
   servers on loopback, each in its own process: Postfix's ``smtp-sink`` (a real MTA's
   test server, started here; installed from Debian's postfix package when missing and
   apt-get is usable, else skipped with one line saying why; it has no TLS), aiosmtpd
   plain, and aiosmtpd with STARTTLS required and AUTH (like a submission port).  For each,
   in the same run, interleaved over BENCH_ROUNDS rounds (best rate of each way counts:
   the machine may be shared):

   * the floor: a bare ``smtplib`` loop over one connection with ``TCP_NODELAY``, MAIL /
     RCPT / DATA of the same bytes;
   * ``SmtpBackend`` with ``pool_size = 1`` (the same one connection), and with
     ``pool_size = BENCH_POOL``, in batches of 100;
   * ``SmtpBackend`` with one connection per message (``max_messages_per_connection =
     1``), on a sample of BENCH_PER_MESSAGE messages;
   * for reference, the floor without ``TCP_NODELAY`` on BENCH_NAGLE messages.

   Ratios: pooled_1_vs_floor (target >= 0.8), pooled_vs_floor (target > 1),
   pooled_vs_per_message (target >= 10).

Ends with ONE JSON line of figures.  Sizes: BENCH_RECIPIENTS (100000), BENCH_NAIVE (2000),
BENCH_SMTP (1000), BENCH_KB (58), BENCH_POOL (4), BENCH_PER_MESSAGE (200), BENCH_NAGLE (50),
BENCH_ROUNDS (3); BENCH_SKIP_MAILGUN=1 runs the SMTP part only.
"""

from __future__ import annotations

import json
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiosmtpd.controller import Controller  # noqa: E402
from pytest_httpserver import HTTPServer  # noqa: E402
from werkzeug import Request, Response  # noqa: E402

from distributor.mail.mailgun import MailgunBackend  # noqa: E402
from distributor.mail.smtp import SmtpBackend  # noqa: E402
from distributor.models import Message  # noqa: E402
from tests.conftest import free_port, settings_for, write_config  # noqa: E402
from tests.mail.conftest import make_messages  # noqa: E402

RECIPIENTS = int(os.environ.get("BENCH_RECIPIENTS", "100000"))
NAIVE_SAMPLE = int(os.environ.get("BENCH_NAIVE", "2000"))
SMTP_MESSAGES = int(os.environ.get("BENCH_SMTP", "1000"))
SMTP_KB = int(os.environ.get("BENCH_KB", "58"))
POOL = int(os.environ.get("BENCH_POOL", "4"))
PER_MESSAGE = int(os.environ.get("BENCH_PER_MESSAGE", "200"))
NAGLE = int(os.environ.get("BENCH_NAGLE", "50"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))


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


class CountingSmtp:
    """An aiosmtpd handler that only counts (the server's own cost stays small)."""

    def __init__(self, counter: Any) -> None:
        self.counter = counter

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        with self.counter.get_lock():
            self.counter.value += 1
        return "250 2.0.0 Ok"


def serve_smtp(port: int, cert_dir: str | None, counter: Any, ready: Any, stop: Any) -> None:
    """aiosmtpd in its own process (so it does not share the client's GIL); with a
    certificate like a real submission port: STARTTLS required, then AUTH."""
    import ssl

    from aiosmtpd.smtp import AuthResult, LoginPassword

    options: dict[str, Any] = {}
    if cert_dir is not None:
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.load_cert_chain(f"{cert_dir}/server.pem")

        def authenticator(
            server: object, session: object, envelope: object, mechanism: str, data: object
        ) -> AuthResult:
            ok = isinstance(data, LoginPassword) and data.password == b"s3cret"
            return AuthResult(success=ok, handled=False)

        options = {
            "tls_context": server_ctx,
            "require_starttls": True,
            "authenticator": authenticator,
            "auth_required": True,
        }
    controller = Controller(CountingSmtp(counter), hostname="127.0.0.1", port=port, **options)
    controller.start()
    ready.set()
    stop.wait(3600)
    controller.stop()


def smtp_sink() -> tuple[str | None, str]:
    """The path of Postfix's smtp-sink, installing Debian's postfix package when missing
    (as root, with apt-get); else None and why."""
    found = shutil.which("smtp-sink") or shutil.which("smtp-sink", path="/usr/sbin:/usr/bin")
    if found:
        return found, ""
    if not shutil.which("apt-get") or os.geteuid() != 0:
        return None, "smtp-sink missing and apt-get unusable (not root or no apt)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print("bench: installing postfix (apt-get) for smtp-sink", file=sys.stderr)
    for cmd in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "postfix"],
    ):
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            last = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["?"]
            return None, f"`{' '.join(cmd)}` failed: {last[0]}"
    found = shutil.which("smtp-sink", path="/usr/sbin:/usr/bin")
    return (found, "") if found else (None, "postfix installed but smtp-sink not found")


def wait_listening(port: int) -> None:
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def bench_messages(n: int) -> list[Message]:
    """``n`` messages of about SMTP_KB KB: one MIME body (text and HTML, quoted-printable,
    like a digest) built once, each message with its own To and Message-ID."""
    from email.message import EmailMessage
    from email.policy import SMTP

    paragraph = (
        "Four countries sign a treaty to share the Marel river's water in droughts and floods. "
        "The four countries along the Marel agreed how to share its water in dry years.\n"
    )
    em = EmailMessage(policy=SMTP)
    em["From"] = "Meridian Daily <digest@news.example>"
    em["Subject"] = "Meridian Daily: 28 November"
    em["MIME-Version"] = "1.0"
    repeat = max(1, SMTP_KB * 1024 // (3 * len(paragraph)))
    em.set_content(paragraph * repeat, cte="quoted-printable")
    em.add_alternative(
        "<html><body>" + f"<p>{paragraph}</p>" * repeat * 2 + "</body></html>",
        subtype="html",
        cte="quoted-printable",
    )
    shared = em.as_bytes()
    out = []
    for m in make_messages(n):
        head = f"To: {m.recipient}\r\nMessage-ID: {m.message_id}\r\n".encode()
        out.append(replace(m, raw=head + shared))
    return out


@dataclass
class Target:
    """One SMTP server of the run and how to reach it."""

    label: str
    port: int
    tls: bool  # STARTTLS + AUTH
    counter: Any = None  # aiosmtpd: messages accepted


def floor(target: Target, messages: list[Message], ca_file: Path, nodelay: bool = True) -> float:
    """A bare smtplib loop over one connection sending the same pre-built bytes: the
    floor of sending from Python.  Seconds."""
    import ssl

    started = time.perf_counter()
    conn = smtplib.SMTP("127.0.0.1", target.port, timeout=30)
    if nodelay:
        conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    conn.ehlo()
    if target.tls:
        conn.starttls(context=ssl.create_default_context(cafile=str(ca_file)))
        conn.ehlo()
        conn.login("digest", "s3cret")
    for m in messages:
        conn.mail(m.sender)
        conn.rcpt(m.recipient)
        code, _ = conn.data(m.raw)
        assert code == 250, code
    conn.quit()
    return time.perf_counter() - started


def project(
    tmp: Path, target: Target, messages: list[Message], ca_file: Path, pool: int, per_conn: int
) -> tuple[float, int]:
    """``SmtpBackend`` in batches of 100: (seconds, connections opened)."""
    where = tmp / f"{target.label}-{pool}-{per_conn}"
    where.mkdir(exist_ok=True)
    security = (
        f'security = "starttls"\nusername = "digest"\nca_file = "{ca_file}"\n'
        if target.tls
        else 'security = "none"\n'
    )
    path = write_config(
        where,
        mail=f'provider = "smtp"\nhost = "127.0.0.1"\nport = {target.port}\n{security}'
        f"batch_size = 100\nmax_messages_per_connection = {per_conn}\npool_size = {pool}\n",
    )
    settings = settings_for(path, {"DISTRIBUTOR_MAIL_MAIN_PASSWORD": "s3cret"})
    backend = SmtpBackend("main", settings.mail["main"], settings)
    started = time.perf_counter()
    sent = 0
    for i in range(0, len(messages), 100):
        sent += sum(r.state == "sent" for r in backend.send_batch(messages[i : i + 100]))
    backend.close()
    seconds = time.perf_counter() - started
    assert sent == len(messages), (sent, len(messages))
    return seconds, backend.connections_opened


def bench_target(
    tmp: Path, target: Target, messages: list[Message], ca_file: Path
) -> dict[str, float]:
    """The floor, the project's send (one connection, the pool) and one connection per
    message, interleaved over ROUNDS rounds; the best rate of each (the machine is shared)."""
    sample = messages[:PER_MESSAGE]
    nagle_sample = messages[:NAGLE]
    best: dict[str, float] = {}
    connections: dict[str, int] = {}

    def keep(way: str, count: int, seconds: float, opened: int | None = None) -> None:
        best[way] = max(best.get(way, 0.0), count / seconds)
        if opened is not None:
            connections[way] = opened

    before = target.counter.value if target.counter is not None else 0
    for _ in range(ROUNDS):
        keep("floor", len(messages), floor(target, messages, ca_file))
        keep("pooled_1", len(messages), *project(tmp, target, messages, ca_file, 1, 10**6))
        keep("pooled", len(messages), *project(tmp, target, messages, ca_file, POOL, 10**6))
        keep("per_message", len(sample), *project(tmp, target, sample, ca_file, 1, 1))
    keep("floor_no_nodelay", len(nagle_sample), floor(target, nagle_sample, ca_file, False))
    if target.counter is not None:
        expected = ROUNDS * (3 * len(messages) + len(sample)) + len(nagle_sample)
        assert target.counter.value - before == expected, (target.counter.value, expected)
    p = f"smtp_{target.label}_"
    out: dict[str, float] = {f"{p}{way}_msgs_per_s": round(rate) for way, rate in best.items()}
    out[f"{p}pooled_connections"] = connections["pooled"]
    out[f"{p}per_message_connections"] = connections["per_message"]
    out[f"{p}pooled_1_vs_floor"] = round(best["pooled_1"] / best["floor"], 2)
    out[f"{p}pooled_vs_floor"] = round(best["pooled"] / best["floor"], 2)
    out[f"{p}pooled_vs_per_message"] = round(best["pooled"] / best["per_message"], 1)
    out[f"{p}floor_vs_no_nodelay"] = round(best["floor"] / best["floor_no_nodelay"], 1)
    out[f"{p}meets_target"] = (
        out[f"{p}pooled_1_vs_floor"] >= 0.8
        and out[f"{p}pooled_vs_floor"] > 1
        and out[f"{p}pooled_vs_per_message"] >= 10
    )
    print(f"{target.label}: {out}", file=sys.stderr)
    return out


def bench_smtp(tmp: Path) -> dict[str, Any]:
    """smtp-sink (plain; it has no TLS) and aiosmtpd (plain, and STARTTLS + AUTH)."""
    import multiprocessing

    import trustme

    ca = trustme.CA()
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(tmp / "server.pem"))
    ca_file = tmp / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    messages = bench_messages(SMTP_MESSAGES)
    figures: dict[str, Any] = {
        "smtp_messages": SMTP_MESSAGES,
        "smtp_message_kb": round(sum(len(m.raw) for m in messages) / len(messages) / 1024, 1),
        "smtp_per_message_sample": min(PER_MESSAGE, SMTP_MESSAGES),
        "smtp_pool_size": POOL,
        "smtp_rounds": ROUNDS,
        "smtp_sink_starttls": "smtp-sink has no TLS (smtp-sink(1)): STARTTLS is measured on aiosmtpd",
    }
    mp = multiprocessing.get_context("spawn")
    procs: list[Any] = []
    stops: list[Any] = []
    targets: list[Target] = []
    try:
        sink, why = smtp_sink()
        if sink is None:
            print(
                f"bench: smtp-sink unavailable ({why}); skipping the Postfix part", file=sys.stderr
            )
            figures["smtp_sink_skipped"] = why
        else:
            port = free_port()
            user = ["-u", "nobody"] if os.geteuid() == 0 else []
            procs.append(subprocess.Popen([sink, *user, f"127.0.0.1:{port}", "256"]))
            wait_listening(port)
            targets.append(Target("sink_plain", port, tls=False))
        for label, cert_dir in (("aiosmtpd_plain", None), ("aiosmtpd_starttls", str(tmp))):
            counter, ready, stop = mp.Value("i", 0), mp.Event(), mp.Event()
            port = free_port()
            proc = mp.Process(
                target=serve_smtp, args=(port, cert_dir, counter, ready, stop), daemon=True
            )
            proc.start()
            procs.append(proc)
            stops.append(stop)
            assert ready.wait(30), "SMTP server did not start"
            targets.append(Target(label, port, tls=cert_dir is not None, counter=counter))
        for target in targets:
            figures.update(bench_target(tmp, target, messages, ca_file))
    finally:
        for stop in stops:
            stop.set()
        for proc in procs:
            if isinstance(proc, subprocess.Popen):
                proc.terminate()
                proc.wait(10)
            else:
                proc.join(10)
    figures["smtp_meets_target"] = all(
        v for k, v in figures.items() if k.endswith("_meets_target") and k != "smtp_meets_target"
    )
    return figures


def main() -> None:
    import logging

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    out: dict[str, Any] = {"load_average_1min": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if os.environ.get("BENCH_SKIP_MAILGUN") != "1":
            (tmp / "mg").mkdir()
            out.update(bench_mailgun(tmp / "mg"))
            print(f"mailgun: {out}", file=sys.stderr)
        out.update(bench_smtp(tmp))
    out["load_average_1min_after"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
