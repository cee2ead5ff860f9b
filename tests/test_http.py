"""The shared HTTP base: the one Retry-After parser, and what is retried after what."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from distributor.errors import OutcomeUnknown, ProviderConfigError, TransientProviderError
from distributor.http import HttpBase, retry_after_seconds, seconds_until
from distributor.redact import Redactor
from tests.conftest import free_port

NOW = 1_800_000_000.0  # an injected wall clock (2027-01-15T08:00:00Z)


@pytest.mark.parametrize(
    ("headers", "status", "expected"),
    [
        ({"Retry-After": "7"}, 429, 7.0),
        ({"Retry-After": "0.5"}, 429, 0.5),
        ({"Retry-After": "Fri, 15 Jan 2027 08:00:30 GMT"}, 429, 30.0),  # an HTTP date
        ({"Retry-After": "Fri, 15 Jan 2027 07:00:00 GMT"}, 429, 0.0),  # in the past
        ({"Retry-After": "soon"}, 429, None),
        ({"Retry-After": "nan"}, 429, None),
        ({"X-RateLimit-Reset-After": "1.25"}, 429, 1.25),  # Discord
        ({"X-RateLimit-Reset": "4"}, 429, 4.0),  # mail APIs: seconds
        ({"x-rate-limit-reset": str(int(NOW) + 900), "x-rate-limit-remaining": "0"}, 200, 900.0),
        ({"x-rate-limit-reset": str(int(NOW) + 900), "x-rate-limit-remaining": "5"}, 200, None),
        ({"X-RateLimit-Reset": "2027-01-15T08:01:00Z", "X-RateLimit-Remaining": "0"}, 200, 60.0),
        ({"RateLimit-Reset": str(int(NOW) + 10)}, 429, 10.0),  # Bluesky: epoch
        ({"x-sib-ratelimit-reset": "3"}, 429, 3.0),  # Brevo
        ({}, 429, None),
    ],
)
def test_retry_after_seconds(headers: dict[str, str], status: int, expected: float | None) -> None:
    got = retry_after_seconds(requests.structures.CaseInsensitiveDict(headers), NOW, status)
    assert got == (pytest.approx(expected) if expected is not None else None)


def test_seconds_until_reads_every_form() -> None:
    assert seconds_until(" 12 ", NOW) == 12.0
    assert seconds_until(str(NOW + 5), NOW) == 5.0
    assert seconds_until("2027-01-15T08:00:10+00:00", NOW) == 10.0
    assert seconds_until("2027-01-15T08:00:10", NOW) == 10.0  # no zone: UTC
    assert seconds_until("inf", NOW) is None and seconds_until("", NOW) is None


def base(url: str, **kw: Any) -> tuple[HttpBase, list[float]]:
    sleeps: list[float] = []
    client = HttpBase(
        "test",
        base_url=url,
        timeout=kw.pop("timeout", 2.0),
        max_retries=kw.pop("max_retries", 2),
        max_retry_wait=kw.pop("max_retry_wait", 60.0),
        sleep=sleeps.append,
        wall_clock=lambda: NOW,
        jitter=lambda: 0.5,
        **kw,
    )
    return client, sleeps


@pytest.fixture
def threaded() -> Any:
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    srv.stop()


def test_lost_reply_is_unknown_unless_idempotent(threaded: HTTPServer) -> None:
    arrived: list[str] = []

    def slow(req: Request) -> Response:
        arrived.append(req.path)
        time.sleep(0.6)
        return Response("ok")

    threaded.expect_request("/post").respond_with_handler(slow)
    client, _ = base(threaded.url_for("").rstrip("/"), timeout=0.2)
    with pytest.raises(OutcomeUnknown, match="not resent"):
        client.send("POST", "/post", idempotent=False)
    assert arrived == ["/post"]
    with pytest.raises(TransientProviderError, match="no reply"):
        client.send("POST", "/post", idempotent=True)  # retried: 3 tries
    assert len(arrived) == 4


def test_5xx_retried_only_where_asked_and_other_replies_handed_back(
    httpserver: HTTPServer,
) -> None:
    replies = iter([503, 200])
    httpserver.expect_request("/a").respond_with_handler(lambda _r: Response("x", next(replies)))
    client, sleeps = base(httpserver.url_for("").rstrip("/"))
    assert client.send("POST", "/a", idempotent=True).status_code == 200
    assert sleeps == [0.25]  # backoff 0.5 s x jitter 0.5
    httpserver.expect_request("/b").respond_with_data("down", status=502)
    with pytest.raises(TransientProviderError, match="502"):
        client.send("POST", "/b", idempotent=False)  # no second try for a non-idempotent call
    httpserver.expect_request("/c").respond_with_data("nope", status=400)
    assert client.send("POST", "/c", idempotent=False).status_code == 400
    kept = client.send("POST", "/b", idempotent=True, keep=lambda r: r.status_code == 502)
    assert kept.status_code == 502  # the caller reads it first


def test_long_retry_after_ends_the_call_with_the_wait(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data(
        "slow down", status=429, headers={"Retry-After": "3600"}
    )
    client, sleeps = base(httpserver.url_for("").rstrip("/"))
    with pytest.raises(TransientProviderError, match="3600") as err:
        client.send("GET", "/a", idempotent=True)
    assert err.value.retry_after == 3600 and sleeps == []


def test_refused_and_unusable_urls_with_secrets_redacted() -> None:
    port = free_port()
    secret = "/hooks/SECRETpath123"
    client, sleeps = base(
        f"http://127.0.0.1:{port}",
        redactor=Redactor([f"http://127.0.0.1:{port}{secret}"]),
        max_retries=1,
    )
    with pytest.raises(TransientProviderError, match="cannot connect") as err:
        client.send("POST", secret, idempotent=False)  # nothing sent: safe to retry
    assert "SECRET" not in str(err.value) and len(sleeps) == 1
    with pytest.raises(ProviderConfigError):
        client.send("POST", "ftp//not-a-url", idempotent=False)
