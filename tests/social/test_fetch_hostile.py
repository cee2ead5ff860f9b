"""Image fetching against hostile servers and names: DNS rebinding, trickling, TLS by name."""

from __future__ import annotations

import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer

from distributor.share.fetch import AddressPolicy, FetchLimits, ImageRefused, fetch_image
from tests.conftest import free_port
from tests.social.conftest import png_bytes


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture
def two_hosts() -> Iterator[tuple[HTTPServer, HTTPServer]]:
    """A "public" server on 127.0.0.1 and an "internal" one on 127.0.0.2, same port."""
    port = free_port()
    public = HTTPServer(host="127.0.0.1", port=port)
    internal = HTTPServer(host="127.0.0.2", port=port)
    public.start()
    internal.start()
    try:
        yield public, internal
    finally:
        public.stop()
        internal.stop()


def test_a_rebinding_name_reaches_only_the_address_that_was_checked(
    two_hosts: tuple[HTTPServer, HTTPServer], session: requests.Session
) -> None:
    public, internal = two_hosts
    public.expect_request("/a.png").respond_with_data(png_bytes((64, 48)), content_type="image/png")
    internal.expect_request("/a.png").respond_with_data(png_bytes((1, 1)), content_type="image/png")
    answers: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        # the first answer passes the check; every later one points inside
        answer = "127.0.0.1" if not answers else "127.0.0.2"
        answers.append(answer)
        return [answer]

    policy = AddressPolicy.allowing("127.0.0.1/32", resolver=rebinding)
    url = f"http://images.rebind.test:{public.port}/a.png"
    image = fetch_image(url, session, policy=policy)
    assert image.size == (64, 48)
    assert answers == ["127.0.0.1"]  # resolved once, never again by the HTTP stack
    assert internal.log == []
    ((request, _resp),) = public.log
    assert request.headers["Host"] == f"images.rebind.test:{public.port}"


def test_every_redirect_hop_is_resolved_once_and_pinned(
    two_hosts: tuple[HTTPServer, HTTPServer], session: requests.Session
) -> None:
    public, internal = two_hosts
    port = public.port
    public.expect_request("/a.png").respond_with_data(
        "", status=302, headers={"Location": f"http://cdn.rebind.test:{port}/b.png"}
    )
    public.expect_request("/b.png").respond_with_data(png_bytes((30, 20)), content_type="image/png")
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"] if asked.count(host) == 1 else ["127.0.0.2"]

    policy = AddressPolicy.allowing("127.0.0.1/32", resolver=resolver)
    assert fetch_image(f"http://images.rebind.test:{port}/a.png", session, policy=policy).size == (
        30,
        20,
    )
    assert asked == ["images.rebind.test", "cdn.rebind.test"]
    assert internal.log == []


def _trickler(headers_first: bool) -> tuple[socket.socket, threading.Event]:
    """A server that answers one byte every 0.2 s, forever (until stopped)."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            head = b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n"
            if headers_first:
                conn.sendall(head)
                payload = png_bytes()
            else:
                payload = head
            for i in range(len(payload)):
                if stop.wait(0.2):
                    return
                try:
                    conn.sendall(payload[i : i + 1])
                except OSError:
                    return

    threading.Thread(target=serve, daemon=True).start()
    return listener, stop


@pytest.mark.parametrize("headers_first", [True, False], ids=["trickled-body", "trickled-head"])
def test_a_trickling_server_is_given_up_at_the_deadline(
    session: requests.Session, headers_first: bool
) -> None:
    listener, stop = _trickler(headers_first)
    port = listener.getsockname()[1]
    policy = AddressPolicy.allowing("127.0.0.1/32")
    started = time.monotonic()
    try:
        with pytest.raises(ImageRefused, match=r"within 1s \(the deadline\)"):
            fetch_image(
                f"http://127.0.0.1:{port}/slow.png",
                session,
                policy=policy,
                limits=FetchLimits(timeout=0.5, deadline=1.0),
            )
    finally:
        stop.set()
        listener.close()
    # each read is well inside the per-read timeout; only the whole-transfer deadline stops it
    assert time.monotonic() - started < 2.5


def test_the_deadline_defaults_to_three_timeouts() -> None:
    assert FetchLimits(timeout=2).total == 6
    assert FetchLimits(timeout=2, deadline=4).total == 4


def test_tls_is_verified_against_the_name_not_the_pinned_address(
    tls_ca: Any, tmp_path: Path, session: requests.Session
) -> None:
    ca_file = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(ca_file))
    session.verify = str(ca_file)
    policy = AddressPolicy.allowing("127.0.0.1/32", resolver=lambda h, p: ["127.0.0.1"])
    for name, ok in (("images.test", True), ("elsewhere.test", False)):
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_ca.issue_cert(name).configure_cert(context)
        server = HTTPServer(host="127.0.0.1", port=free_port(), ssl_context=context)
        server.expect_request("/a.png").respond_with_data(
            png_bytes((20, 10)), content_type="image/png"
        )
        server.start()
        try:
            url = f"https://images.test:{server.port}/a.png"
            if ok:
                assert fetch_image(url, session, policy=policy).size == (20, 10)
                ((request, _resp),) = server.log
                assert request.headers["Host"] == f"images.test:{server.port}"
            else:
                with pytest.raises(ImageRefused, match="cannot fetch image"):
                    fetch_image(url, session, policy=policy)
                assert server.log == []
        finally:
            server.stop()


def test_an_internationalized_host_is_resolved_in_its_ascii_form(
    two_hosts: tuple[HTTPServer, HTTPServer], session: requests.Session
) -> None:
    public, _internal = two_hosts
    public.expect_request("/a.png").respond_with_data(png_bytes((8, 8)), content_type="image/png")
    asked: list[str] = []

    def resolver(host: str, port: int) -> list[str]:
        asked.append(host)
        return ["127.0.0.1"]

    policy = AddressPolicy.allowing("127.0.0.1/32", resolver=resolver)
    fetch_image(f"http://bücher.example:{public.port}/a.png", session, policy=policy)
    assert asked == ["xn--bcher-kva.example"]
    assert public.log[0][0].headers["Host"] == f"xn--bcher-kva.example:{public.port}"
