"""Story images are fetched safely: SSRF guards, limits, decompression bombs, fallback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
import requests
from PIL import Image
from pytest_httpserver import HTTPServer

from distributor.share.cards import CardMaker
from distributor.share.fetch import AddressPolicy, FetchLimits, ImageRefused, check_url, fetch_image
from tests.social.conftest import png_bytes, story

LOOPBACK = AddressPolicy.allowing("127.0.0.1/32")


@pytest.fixture
def session() -> requests.Session:
    with requests.Session() as s:
        yield s


def test_loopback_is_refused_by_default(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/a.png").respond_with_data(png_bytes(), content_type="image/png")
    with pytest.raises(ImageRefused, match=r"127\.0\.0\.1 is not public"):
        fetch_image(httpserver.url_for("/a.png"), session)
    assert httpserver.log == []  # refused before any request


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "192.168.0.9",
        "172.16.0.1",
        "169.254.169.254",
        "::1",
        "fe80::1",
        "fd00:ec2::254",
        "0.0.0.0",
        "224.0.0.1",
        "::ffff:127.0.0.1",
        "100.64.0.1",
    ],
)
def test_non_public_addresses_are_refused(address: str) -> None:
    with pytest.raises(ImageRefused):
        AddressPolicy().check(address)
    AddressPolicy().check("93.184.216.34")  # a public address passes


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.com/a.png",
        "gopher://x/",
        "http://user:pw@example.com/a.png",
    ],
)
def test_only_plain_http_urls(url: str) -> None:
    with pytest.raises(ImageRefused):
        check_url(url, AddressPolicy(resolver=lambda h, p: ["93.184.216.34"]))


def test_every_resolved_address_is_checked() -> None:
    policy = AddressPolicy(resolver=lambda h, p: ["93.184.216.34", "10.0.0.5"])
    with pytest.raises(ImageRefused, match=r"10\.0\.0\.5"):
        check_url("https://images.example/a.png", policy)


def test_allowed_image_is_fetched_and_decoded(
    httpserver: HTTPServer, session: requests.Session
) -> None:
    httpserver.expect_request("/a.png").respond_with_data(
        png_bytes((640, 480)), content_type="image/png"
    )
    img = fetch_image(httpserver.url_for("/a.png"), session, policy=LOOPBACK)
    assert img.size == (640, 480) and img.format == "PNG"


def test_redirect_to_metadata_address_is_refused(
    httpserver: HTTPServer, session: requests.Session
) -> None:
    httpserver.expect_request("/a.png").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}
    )
    with pytest.raises(ImageRefused, match=r"169\.254\.169\.254 is not public"):
        fetch_image(httpserver.url_for("/a.png"), session, policy=LOOPBACK)


def test_redirect_to_a_host_resolving_privately_is_refused(
    httpserver: HTTPServer, session: requests.Session
) -> None:
    hosts = {"localhost": "127.0.0.1", "internal.test": "10.0.0.7"}
    policy = AddressPolicy.allowing("127.0.0.1/32", resolver=lambda h, p: [hosts.get(h, h)])
    httpserver.expect_request("/a.png").respond_with_data(
        "", status=301, headers={"Location": f"http://internal.test:{httpserver.port}/b.png"}
    )
    with pytest.raises(ImageRefused, match=r"10\.0\.0\.7"):
        fetch_image(httpserver.url_for("/a.png"), session, policy=policy)
    assert len(httpserver.log) == 1  # the redirect target was never asked


def test_redirect_within_allowed_hosts_is_followed(
    httpserver: HTTPServer, session: requests.Session
) -> None:
    httpserver.expect_request("/a.png").respond_with_data(
        "", status=302, headers={"Location": "/b.png"}
    )
    httpserver.expect_request("/b.png").respond_with_data(png_bytes(), content_type="image/png")
    assert fetch_image(httpserver.url_for("/a.png"), session, policy=LOOPBACK).size == (800, 600)


def test_redirect_loops_stop(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/a.png").respond_with_data(
        "", status=302, headers={"Location": "/a.png"}
    )
    with pytest.raises(ImageRefused, match="redirects"):
        fetch_image(httpserver.url_for("/a.png"), session, policy=LOOPBACK)


def test_content_type_and_decoded_format_are_checked(
    httpserver: HTTPServer, session: requests.Session
) -> None:
    httpserver.expect_request("/page").respond_with_data("<html></html>", content_type="text/html")
    with pytest.raises(ImageRefused, match="content type"):
        fetch_image(httpserver.url_for("/page"), session, policy=LOOPBACK)
    bmp = io.BytesIO()
    Image.new("RGB", (10, 10)).save(bmp, format="BMP")
    httpserver.expect_request("/fake.png").respond_with_data(
        bmp.getvalue(), content_type="image/png"
    )
    with pytest.raises(ImageRefused, match="format 'BMP'"):
        fetch_image(httpserver.url_for("/fake.png"), session, policy=LOOPBACK)
    httpserver.expect_request("/junk.png").respond_with_data(
        b"not an image", content_type="image/png"
    )
    with pytest.raises(ImageRefused, match="not a readable image"):
        fetch_image(httpserver.url_for("/junk.png"), session, policy=LOOPBACK)


def test_size_cap(httpserver: HTTPServer, session: requests.Session) -> None:
    httpserver.expect_request("/big.png").respond_with_data(png_bytes(), content_type="image/png")
    with pytest.raises(ImageRefused, match="over 100"):
        fetch_image(
            httpserver.url_for("/big.png"),
            session,
            policy=LOOPBACK,
            limits=FetchLimits(max_bytes=100),
        )


def test_timeout(httpserver: HTTPServer, session: requests.Session) -> None:
    import time

    def slow(_request: object) -> object:
        time.sleep(1.5)
        from werkzeug import Response

        return Response(png_bytes(), content_type="image/png")

    httpserver.expect_request("/slow.png").respond_with_handler(slow)
    with pytest.raises(ImageRefused, match="Timeout"):
        fetch_image(
            httpserver.url_for("/slow.png"),
            session,
            policy=LOOPBACK,
            limits=FetchLimits(timeout=0.3),
        )


def test_decompression_bomb_is_refused_before_decoding(
    httpserver: HTTPServer, session: requests.Session
) -> None:
    bomb = io.BytesIO()
    Image.new("1", (12000, 12000)).save(bomb, format="PNG")  # 144 Mpx in a small file
    assert bomb.tell() < 100_000
    httpserver.expect_request("/bomb.png").respond_with_data(
        bomb.getvalue(), content_type="image/png"
    )
    with pytest.raises(ImageRefused, match="pixel limit"):
        fetch_image(httpserver.url_for("/bomb.png"), session, policy=LOOPBACK)


def test_refused_image_falls_back_to_brand_background(
    tmp_path: Path, httpserver: HTTPServer, session: requests.Session
) -> None:
    httpserver.expect_request("/photo.png").respond_with_data(
        png_bytes(color=(0, 200, 0)), content_type="image/png"
    )
    url = httpserver.url_for("/photo.png")
    default = CardMaker(tmp_path / "a", brand_name="M", brand_color="#0b3d91", session=session)
    refused = default.card_set(story("en", image_url=url))
    assert refused.image_problem and "not public" in refused.image_problem
    with Image.open(refused.og.path) as img:
        pixel = img.convert("RGB").getpixel((5, 5))
        assert isinstance(pixel, tuple)
        assert all(
            abs(a - b) <= 3 for a, b in zip(pixel, (11, 61, 145), strict=True)
        )  # brand colour
    allowed = CardMaker(
        tmp_path / "b", brand_name="M", brand_color="#0b3d91", session=session, policy=LOOPBACK
    )
    used = allowed.card_set(story("en", image_url=url))
    assert used.image_problem is None
    with Image.open(used.og.path) as img:
        r, g, b = img.convert("RGB").getpixel((5, 5))  # type: ignore[misc]
        assert g > r and g > b and g < 200  # the photo, darkened
