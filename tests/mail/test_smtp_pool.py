"""SMTP connection setup and pool sizing, against real aiosmtpd servers.

``TCP_NODELAY`` on every connection (plain, STARTTLS, implicit TLS), and a pool
that never holds more than ``pool_size`` connections of one transport, however
many batches send through it at once.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from distributor.errors import ConfigError, TransientProviderError
from distributor.mail.smtp import SmtpBackend
from tests.conftest import SmtpRecorder, free_port, settings_for, write_config
from tests.mail.conftest import make_messages


@dataclass
class GatedRecorder(SmtpRecorder):
    """Holds every DATA until ``gate`` is set; counts the DATA commands held at once."""

    gate: threading.Event = field(default_factory=threading.Event)
    held: int = 0
    most_held: int = 0
    peers: set[Any] = field(default_factory=set)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.peers.add(session.peer)
        self.held += 1
        self.most_held = max(self.most_held, self.held)
        while not self.gate.is_set():
            await asyncio.sleep(0.005)
        self.held -= 1
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def gated_server() -> Iterator[tuple[Controller, GatedRecorder]]:
    recorder = GatedRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, recorder
    recorder.gate.set()
    controller.stop()


def backend_for(
    tmp_path: Path, port: int, extra: str = "", env: dict[str, str] | None = None
) -> SmtpBackend:
    path = write_config(
        tmp_path, mail=f'provider = "smtp"\nhost = "127.0.0.1"\nport = {port}\n{extra}'
    )
    settings = settings_for(path, env)
    return SmtpBackend("main", settings.mail["main"], settings)


def until(condition: Callable[[], bool]) -> None:
    """Wait for ``condition`` (polled; no clock is read), failing after a few seconds."""
    pause = threading.Event()
    for _ in range(1000):
        if condition():
            return
        pause.wait(0.005)
    raise AssertionError("condition never held")


def nodelay(conn: Any) -> int:
    return int(conn.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))


def pooled(backend: SmtpBackend) -> list[Any]:
    return [conn for conn, _count in backend.pool.idle]


# ------------------------------------------------------------------ TCP_NODELAY
def test_nodelay_on_a_plain_connection(tmp_path: Path, smtp_server: Any) -> None:
    controller, recorder = smtp_server
    backend = backend_for(tmp_path, controller.port, 'security = "none"\npool_size = 2\n')
    assert [r.state for r in backend.send_batch(make_messages(4))] == ["sent"] * 4
    conns = pooled(backend)
    assert len(conns) == 2 and all(nodelay(c) for c in conns)
    backend.close()
    assert len(recorder.messages) == 4


def test_nodelay_on_a_starttls_connection(tmp_path: Path, smtp_tls_server: Any) -> None:
    controller, recorder, ca_file = smtp_tls_server
    backend = backend_for(
        tmp_path,
        controller.port,
        f'security = "starttls"\nusername = "digest"\nca_file = "{ca_file}"\n',
        {"DISTRIBUTOR_MAIL_MAIN_PASSWORD": "s3cret"},
    )
    assert backend.send_batch(make_messages(1))[0].state == "sent"
    [conn] = pooled(backend)
    assert isinstance(conn.sock, ssl.SSLSocket)  # the socket after STARTTLS
    assert nodelay(conn)
    direct = backend.connect()  # the way `providers check` and reconnects go
    assert isinstance(direct.sock, ssl.SSLSocket) and nodelay(direct)
    direct.quit()
    backend.close()
    assert len(recorder.messages) == 1


def test_nodelay_on_an_implicit_tls_connection(tmp_path: Path, tls_ca: Any) -> None:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_ca.issue_cert("127.0.0.1").configure_cert(ctx)
    ca_file = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(ca_file))
    recorder = SmtpRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port(), ssl_context=ctx)
    controller.start()
    try:
        backend = backend_for(
            tmp_path, controller.port, f'security = "tls"\nca_file = "{ca_file}"\n'
        )
        assert backend.send_batch(make_messages(1))[0].state == "sent"
        [conn] = pooled(backend)
        assert isinstance(conn.sock, ssl.SSLSocket) and nodelay(conn)
        backend.close()
    finally:
        controller.stop()
    assert len(recorder.messages) == 1


# ------------------------------------------------------------------ pool sizing
def test_concurrent_batches_share_the_pool_and_never_exceed_its_size(
    tmp_path: Path, gated_server: Any
) -> None:
    controller, recorder = gated_server
    backend = backend_for(tmp_path, controller.port, 'security = "none"\npool_size = 2\n')
    msgs = make_messages(6)
    results: dict[str, list[Any]] = {}

    def send(name: str, part: list[Any]) -> None:
        results[name] = backend.send_batch(part)

    first = threading.Thread(target=send, args=("first", msgs[:4]))
    first.start()
    until(lambda: recorder.held == 2)  # the first batch holds both connections
    second = threading.Thread(target=send, args=("second", msgs[4:]))
    second.start()
    until(lambda: backend.pool.waiting == 1)  # ... so the second batch waits for one
    assert backend.connections_opened == 2
    recorder.gate.set()
    first.join(10)
    second.join(10)
    backend.close()
    assert [r.state for r in results["first"] + results["second"]] == ["sent"] * 6
    assert [r.key for r in results["second"]] == [m.key for m in msgs[4:]]
    assert backend.connections_opened == 2 == len(recorder.peers) == recorder.most_held
    assert len(recorder.messages) == 6


def test_a_batch_uses_the_connections_that_are_free(tmp_path: Path, smtp_server: Any) -> None:
    controller, recorder = smtp_server
    backend = backend_for(tmp_path, controller.port, 'security = "none"\npool_size = 3\n')
    held = backend.pool.acquire(block=True)  # another batch holds one slot
    assert held == (None, 0)
    assert all(r.state == "sent" for r in backend.send_batch(make_messages(6)))
    assert backend.connections_opened == 2 and len(backend.pool.idle) == 2
    backend.pool.release(None, 0, keep=False)
    assert all(r.state == "sent" for r in backend.send_batch(make_messages(6, start=6)))
    assert backend.connections_opened == 3 and len(backend.pool.idle) == 3
    # a batch of one takes one connection; the others stay idle
    assert backend.send_batch(make_messages(1, start=12))[0].state == "sent"
    assert backend.connections_opened == 3 and len(backend.pool.idle) == 3
    backend.close()
    assert backend.pool.idle == [] and backend.pool.empty == 3
    assert len(recorder.messages) == 13


def test_a_batch_that_finds_no_free_connection_fails_without_sending(
    tmp_path: Path, smtp_server: Any
) -> None:
    controller, recorder = smtp_server
    # the pool waits 4 x timeout for a connection to come free
    backend = backend_for(tmp_path, controller.port, 'security = "none"\ntimeout = 0.05\n')
    backend.pool.acquire(block=True)  # another batch holds the only slot and never returns it
    with pytest.raises(TransientProviderError, match="none of the 1 pooled connections"):
        backend.send_batch(make_messages(2))
    assert backend.connections_opened == 0 and recorder.messages == []


@pytest.mark.parametrize("size", [0, 33])
def test_pool_size_is_bounded_by_config(tmp_path: Path, size: int) -> None:
    with pytest.raises(ConfigError, match=r"mail\.main\.pool_size"):
        backend_for(tmp_path, 25, f"pool_size = {size}\n")


# ------------------------------------------------------------------ DATA
def test_leading_dots_arrive_intact(tmp_path: Path) -> None:
    """The connection's own dot-stuffing (bytes.replace, not smtplib's regex): every
    line starting with a dot, the first included, reaches the server as it was sent."""
    from dataclasses import replace

    @dataclass
    class RawRecorder(SmtpRecorder):
        raw: list[bytes] = field(default_factory=list)

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.raw.append(envelope.original_content)
            return await super().handle_DATA(server, session, envelope)

    recorder = RawRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    bodies = [
        b"Subject: dots\r\n\r\n.first\r\n..two\r\n.\r\nmid . dot\r\n.",
        b"Subject: plain\r\n\r\nno dots at all\r\n",
    ]
    try:
        backend = backend_for(tmp_path, controller.port, 'security = "none"\n')
        msgs = [replace(m, raw=b) for m, b in zip(make_messages(2), bodies, strict=True)]
        assert [r.state for r in backend.send_batch(msgs)] == ["sent", "sent"]
        backend.close()
    finally:
        controller.stop()
    assert recorder.raw == [bodies[0] + b"\r\n", bodies[1]]
