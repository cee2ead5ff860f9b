"""SMTP hardened, against real aiosmtpd servers: pool, TLS, AUTH, 550, 421, DKIM."""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dkim
import pytest
from aiosmtpd.controller import Controller
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from distributor.errors import AuthenticationError, TransientProviderError
from distributor.mail.smtp import SmtpBackend
from tests.conftest import SmtpRecorder, free_port, settings_for, write_config
from tests.mail.conftest import make_messages


@dataclass
class PeerRecorder(SmtpRecorder):
    """Also records which connection (client port) carried each message, and raw bytes."""

    peers: list[Any] = field(default_factory=list)
    raw: dict[str, bytes] = field(default_factory=dict)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        reply = await super().handle_DATA(server, session, envelope)
        if reply.startswith("250"):
            self.peers.append(session.peer)
            self.raw[envelope.rcpt_tos[0]] = envelope.original_content
        return reply


@pytest.fixture
def plain_server() -> Iterator[tuple[Controller, PeerRecorder]]:
    recorder = PeerRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, recorder
    controller.stop()


def backend_for(
    tmp_path: Path, port: int, extra: str = "", env: dict[str, str] | None = None
) -> SmtpBackend:
    path = write_config(
        tmp_path, mail=f'provider = "smtp"\nhost = "127.0.0.1"\nport = {port}\n{extra}'
    )
    settings = settings_for(path, env)
    return SmtpBackend("main", settings.mail["main"], settings)


def test_pool_reuses_connections_across_batches_with_a_cap(
    tmp_path: Path, plain_server: Any
) -> None:
    controller, recorder = plain_server
    backend = backend_for(
        tmp_path, controller.port, 'security = "none"\nmax_messages_per_connection = 4\n'
    )
    msgs = make_messages(10)
    for i in range(0, 10, 3):  # four batches: 3, 3, 3, 1
        results = backend.send_batch(msgs[i : i + 3])
        assert all(r.state == "sent" for r in results)
    backend.close()
    assert len(recorder.messages) == 10
    # 10 messages, at most 4 per connection, connections kept between batches: 3 connections
    assert backend.connections_opened == 3 == len(set(recorder.peers))


def test_starttls_and_auth(tmp_path: Path, smtp_tls_server: Any) -> None:
    controller, recorder, ca_file = smtp_tls_server
    extra = f'security = "starttls"\nusername = "digest"\nca_file = "{ca_file}"\n'
    backend = backend_for(
        tmp_path, controller.port, extra, {"DISTRIBUTOR_MAIL_MAIN_PASSWORD": "s3cret"}
    )
    results = backend.send_batch(make_messages(3))
    backend.close()
    assert [r.state for r in results] == ["sent"] * 3 and len(recorder.messages) == 3

    wrong = backend_for(
        tmp_path, controller.port, extra, {"DISTRIBUTOR_MAIL_MAIN_PASSWORD": "nope"}
    )
    with pytest.raises(AuthenticationError, match="refused the credentials"):
        wrong.send_batch(make_messages(1))


def test_certificate_is_checked(tmp_path: Path, smtp_tls_server: Any) -> None:
    controller, recorder, _ca = smtp_tls_server
    backend = backend_for(
        tmp_path,
        controller.port,
        'security = "starttls"\nusername = "digest"\n',
        {"DISTRIBUTOR_MAIL_MAIN_PASSWORD": "s3cret"},
    )
    with pytest.raises(
        TransientProviderError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify"
    ):
        backend.send_batch(make_messages(1))
    assert recorder.messages == []


def test_implicit_tls(tmp_path: Path, tls_ca: Any) -> None:
    cert = tls_ca.issue_cert("127.0.0.1")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(ctx)
    ca_file = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(ca_file))
    recorder = PeerRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), ssl_context=ctx)
    controller.start()
    try:
        backend = backend_for(
            tmp_path, controller.port, f'security = "tls"\nca_file = "{ca_file}"\n'
        )
        assert [r.state for r in backend.send_batch(make_messages(2))] == ["sent", "sent"]
        backend.close()
    finally:
        controller.stop()
    assert len(recorder.messages) == 2


def test_550_is_permanent_421_reconnects(tmp_path: Path, plain_server: Any) -> None:
    controller, recorder = plain_server
    msgs = make_messages(5)
    recorder.refuse[msgs[1].recipient] = "550 5.1.1 no such user"
    recorder.refuse[msgs[3].recipient] = "421 4.3.2 service shutting down"
    backend = backend_for(tmp_path, controller.port, 'security = "none"\n')
    results = backend.send_batch(msgs)
    backend.close()
    assert [r.state for r in results] == ["sent", "failed", "sent", "failed", "sent"]
    assert results[1].retryable is False and "550" in (results[1].error or "")
    assert results[3].retryable is True and "421" in (results[3].error or "")
    # after the 421 the next message went over a new connection
    assert len(set(recorder.peers)) == 2


def test_dropped_pooled_connection_is_replaced(tmp_path: Path) -> None:
    recorder = PeerRecorder()
    port = free_port()
    first = Controller(recorder, hostname="127.0.0.1", port=port)
    first.start()
    backend = backend_for(tmp_path, port, 'security = "none"\n')
    try:
        assert backend.send_batch(make_messages(1))[0].state == "sent"
    finally:
        first.stop()  # the server goes away: the pooled connection is dead
    second = Controller(recorder, hostname="127.0.0.1", port=port)
    second.start()
    try:
        results = backend.send_batch(make_messages(2, start=1))
        backend.close()
    finally:
        second.stop()
    assert [r.state for r in results] == ["sent", "sent"]
    assert backend.connections_opened == 2 and len(recorder.messages) == 3


def test_dkim_signature_verifies_and_covers_list_unsubscribe(
    tmp_path: Path, plain_server: Any
) -> None:
    controller, recorder = plain_server
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    import base64

    txt = b"v=DKIM1; k=rsa; p=" + base64.b64encode(public_der)
    backend = backend_for(
        tmp_path,
        controller.port,
        'security = "none"\ndkim_selector = "mail2026"\n',
        {"DISTRIBUTOR_MAIL_MAIN_DKIM_PRIVATE_KEY": pem},
    )
    from dataclasses import replace
    from email.message import EmailMessage
    from email.policy import SMTP

    msgs = []
    for m in make_messages(2):
        em = EmailMessage(policy=SMTP)
        for k, v in m.headers:
            em[k] = v
        em.set_content(m.text)
        em.add_alternative(m.html, subtype="html")
        msgs.append(replace(m, raw=em.as_bytes()))
    assert all(r.state == "sent" for r in backend.send_batch(msgs))
    backend.close()

    def dns(name: bytes, timeout: int = 5) -> bytes:
        assert name == b"mail2026._domainkey.news.example."
        return txt

    for m in msgs:
        raw = recorder.raw[m.recipient]
        assert raw.startswith(b"DKIM-Signature:")
        assert dkim.verify(raw, dnsfunc=dns)
        header = raw.split(b"\r\n\r\n")[0].replace(b"\r\n ", b"").replace(b"\r\n\t", b"")
        signed = header.split(b"h=")[1].split(b";")[0].lower()
        assert b"list-unsubscribe" in signed and b"list-unsubscribe-post" in signed
        # tampering with the unsubscribe header breaks the signature
        forged = raw.replace(b"tok", b"TOK", 1)
        assert not dkim.verify(forged, dnsfunc=dns)


def test_pool_sends_over_parallel_connections_in_order(tmp_path: Path, plain_server: Any) -> None:
    controller, recorder = plain_server
    backend = backend_for(tmp_path, controller.port, 'security = "none"\npool_size = 3\n')
    msgs = make_messages(10)
    recorder.refuse[msgs[7].recipient] = "550 5.1.1 no such user"
    results = backend.send_batch(msgs)
    assert [r.key for r in results] == [m.key for m in msgs]  # one result per message, in order
    assert [r.state for r in results] == ["sent"] * 7 + ["failed"] + ["sent"] * 2
    assert backend.connections_opened == 3 == len(set(recorder.peers))
    # the three connections are kept for the next batch
    backend.send_batch(make_messages(3, start=10))
    backend.close()
    assert backend.connections_opened == 3 and len(recorder.messages) == 12
