"""``serve`` serves the web archive (the "View in your browser" target) and the
newsroom's images, with caching headers; nothing outside those folders."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from distributor.store import Store
from distributor.web import create_app
from tests.conftest import SAMPLE, settings_for, write_config


def fetch(http: FlaskClient, url: str, method: str = "GET", **kwargs: Any) -> TestResponse:
    """The response, read and closed (a served file is not left open)."""
    reply = http.open(url, method=method, **kwargs)
    reply.get_data()
    reply.close()
    return reply


@pytest.fixture
def client(tmp_path: Path) -> Iterator[tuple[FlaskClient, Path]]:
    path = write_config(tmp_path, social="")
    path.write_text(
        path.read_text().replace(
            "[newsroom]\n", f'[newsroom]\nimages_dir = "{SAMPLE / "images"}"\n', 1
        )
    )
    settings = settings_for(path)
    store = Store.open(settings.database_url)
    try:
        app = create_app(settings, store)
        yield app.test_client(), settings.data_path("archive")
    finally:
        store.close()


def test_archive_pages_are_served_with_caching_headers(client: tuple[FlaskClient, Path]) -> None:
    http, archive = client
    page = archive / "daily" / "2026-11-28" / "en.html"
    page.parent.mkdir(parents=True)
    page.write_text("<!doctype html><title>Meridian Daily</title>", encoding="utf-8")
    # base_url is https://news.example/newsletter (a proxy in front maps it to the app):
    # the archive is at <base_url>/archive, the app's /archive
    reply = fetch(http, "/archive/daily/2026-11-28/en.html")
    assert reply.status_code == 200
    assert reply.mimetype == "text/html"
    assert "Meridian Daily" in reply.get_data(as_text=True)
    assert reply.headers["Cache-Control"] == "public, max-age=300"
    assert reply.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in reply.headers["Content-Security-Policy"]
    etag = reply.headers["ETag"]
    again = fetch(http, "/archive/daily/2026-11-28/en.html", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert fetch(http, "/archive/daily/2026-11-28/xx.html").status_code == 404


def test_the_newsrooms_images_are_served(client: tuple[FlaskClient, Path]) -> None:
    http, _archive = client
    reply = fetch(http, "/images/marel-river-treaty.jpg")
    assert reply.status_code == 200
    assert reply.mimetype == "image/jpeg"
    assert reply.headers["Cache-Control"] == "public, max-age=86400"
    assert reply.data == (SAMPLE / "images" / "marel-river-treaty.jpg").read_bytes()
    head = fetch(http, "/images/marel-river-treaty.jpg", method="HEAD")
    assert head.status_code == 200 and not head.data


@pytest.mark.parametrize(
    "url",
    [
        "/images/../newsroom.atom.xml",
        "/images/%2e%2e/newsroom.atom.xml",
        "/images/..%2fnewsroom.atom.xml",
        "/archive/../distributor.db",
        "/archive/%2e%2e/secret.key",
    ],
)
def test_nothing_outside_the_folders(client: tuple[FlaskClient, Path], url: str) -> None:
    http, _archive = client
    assert fetch(http, url).status_code == 404
