"""Fixtures of the sources area: the feed corpus, a config writer, a feed server."""

from __future__ import annotations

import gzip as gzip_module
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from distributor.config import Settings
from distributor.sources.base import USER_AGENT, FetchResult, build_source
from tests.conftest import NOW, database_line, settings_for

CORPUS = Path(__file__).parent / "corpus"

LIST = """
[lists.daily]
title = "Daily"
from_address = "Daily <digest@news.example>"
mail = "main"
max_age_hours = 48
{list_extra}

[mail.main]
provider = "file"
"""


def write_settings(
    tmp_path: Path,
    sources: str,
    *,
    list_extra: str = "",
    subscribers: Path | None = None,
    env: dict[str, str] | None = None,
) -> Settings:
    """Settings with the given ``[sources.*]`` sections, one list, a file mail outbox."""
    extra = f'subscribers_file = "{subscribers}"\n{list_extra}' if subscribers else list_extra
    path = tmp_path / "distributor.toml"
    path.write_text(
        f"""
data_dir = "var"
{database_line(tmp_path)}
[newsroom]
name = "Test Newsroom"
url = "https://news.example"
default_language = "en"

{sources}
{LIST.format(list_extra=extra)}
""",
        encoding="utf-8",
    )
    return settings_for(path, env)


def fetch_one(settings: Settings, name: str, **kwargs: Any) -> FetchResult:
    with requests.Session() as session:
        return build_source(name, settings.sources[name], settings, session).fetch(NOW, **kwargs)


@dataclass
class Served:
    """One URL of the feed server and the requests it received."""

    url: str
    requests: list[dict[str, str]] = field(default_factory=list)
    body: bytes = b""
    etag: str | None = None


class FeedServer:
    """The local HTTP server of the tests, serving corpus files like a newsroom would.

    Every request must carry distributor's User-Agent; conditional GET is
    answered with 304 when the validators match (RFC 9110 section 13.1).
    """

    def __init__(self, server: HTTPServer) -> None:
        self.server = server

    def url(self, path: str) -> str:
        return str(self.server.url_for(path))

    def file(
        self,
        path: str,
        body: bytes | str | Path,
        *,
        content_type: str = "application/xml",
        etag: str | None = None,
        last_modified: str | None = None,
        gzip: bool = False,
        status: int = 200,
    ) -> Served:
        data = (
            body.read_bytes()
            if isinstance(body, Path)
            else body.encode("utf-8")
            if isinstance(body, str)
            else body
        )
        served = Served(self.url(path), body=data, etag=etag)

        def handler(request: Request) -> Response:
            served.requests.append(dict(request.headers))
            if request.headers.get("User-Agent") != USER_AGENT:
                return Response("missing User-Agent", status=403)
            headers = {"Content-Type": content_type}
            if served.etag:
                headers["ETag"] = served.etag
            if last_modified:
                headers["Last-Modified"] = last_modified
            if served.etag and request.headers.get("If-None-Match") == served.etag:
                return Response(status=304, headers=headers)
            if last_modified and request.headers.get("If-Modified-Since") == last_modified:
                return Response(status=304, headers=headers)
            payload = served.body
            if gzip and "gzip" in request.headers.get("Accept-Encoding", ""):
                payload = gzip_module.compress(payload)
                headers["Content-Encoding"] = "gzip"
            return Response(payload, status=status, headers=headers)

        self.server.expect_request(path).respond_with_handler(handler)
        return served

    def handler(self, path: str, func: Callable[[Request], Response]) -> str:
        self.server.expect_request(path).respond_with_handler(func)
        return self.url(path)


@pytest.fixture(scope="session")
def _feed_server() -> Iterator[HTTPServer]:
    # threaded: a handler that stalls (the timeout tests) must not block the others
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    server.start()
    try:
        yield server
    finally:
        server.clear()
        server.stop()


@pytest.fixture
def feeds(_feed_server: HTTPServer) -> Iterator[FeedServer]:
    yield FeedServer(_feed_server)
    _feed_server.clear()
