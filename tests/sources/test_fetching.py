"""Polite, safe fetching: User-Agent, gzip, redirects, limits, errors, conditional GET."""

from __future__ import annotations

import gzip
import socket
import time
from pathlib import Path
from typing import Any

import pytest
from werkzeug import Request, Response

from distributor.errors import SourceError
from distributor.pipeline import fetch_sources
from distributor.report import RunReport
from distributor.sources.base import USER_AGENT
from distributor.store import sources as source_store
from distributor.store.schema import stories as stories_table
from tests.sources.conftest import CORPUS, FeedServer, fetch_one, write_settings


def feed_config(url: str, extra: str = "") -> str:
    return f'[sources.s]\nurl = "{url}"\n{extra}'


def test_user_agent_accept_and_gzip(tmp_path: Path, feeds: FeedServer) -> None:
    served = feeds.file("/f.xml", CORPUS / "rss20.xml", gzip=True)
    settings = write_settings(tmp_path, feed_config(served.url))
    assert len(fetch_one(settings, "s").stories) == 3
    [headers] = served.requests
    assert headers["User-Agent"] == USER_AGENT
    assert USER_AGENT.startswith("distributor/0.")
    assert "gzip" in headers["Accept-Encoding"]
    assert "application/rss+xml" in headers["Accept"]


def test_size_cap_counts_decoded_bytes(tmp_path: Path, feeds: FeedServer) -> None:
    # 40 kB compressed to a few hundred bytes: the cap applies to what is decoded
    body = (CORPUS / "rss20.xml").read_bytes().replace(b"</channel>", b" " * 40_000 + b"</channel>")
    assert len(gzip.compress(body)) < 5_000
    served = feeds.file("/big.xml", body, gzip=True)
    settings = write_settings(tmp_path, feed_config(served.url, "max_bytes = 20000"))
    with pytest.raises(SourceError, match="larger than the size cap"):
        fetch_one(settings, "s")


def test_size_cap_from_content_length_and_local_files(tmp_path: Path, feeds: FeedServer) -> None:
    served = feeds.file("/big.xml", b"x" * 50_000)
    settings = write_settings(tmp_path, feed_config(served.url, "max_bytes = 1000"))
    with pytest.raises(SourceError, match=r"larger than the size cap \(50000 > 1000 bytes\)"):
        fetch_one(settings, "s")
    local = tmp_path / "big.xml"
    local.write_bytes(b"x" * 5000)
    settings = write_settings(tmp_path, feed_config(str(local), "max_bytes = 1000"))
    with pytest.raises(SourceError, match="larger than the size cap"):
        fetch_one(settings, "s")


def test_size_cap_without_content_length(tmp_path: Path, feeds: FeedServer) -> None:
    def chunked(request: Request) -> Response:
        return Response((b"<rss>" + b" " * 1000 for _ in range(100)), content_type="text/xml")

    url = feeds.handler("/stream.xml", chunked)
    settings = write_settings(tmp_path, feed_config(url, "max_bytes = 20000"))
    with pytest.raises(SourceError, match="larger than the size cap"):
        fetch_one(settings, "s")


def redirect(to: str, status: int = 302) -> Any:
    return lambda request: Response(status=status, headers={"Location": to})


def test_redirects_are_followed_up_to_five(tmp_path: Path, feeds: FeedServer) -> None:
    feeds.file("/final.xml", CORPUS / "rss091.xml")
    for i in range(5):
        target = "/final.xml" if i == 4 else f"/hop{i + 1}"
        feeds.handler(f"/hop{i}", redirect(target, 301 if i % 2 else 302))
    settings = write_settings(tmp_path, feed_config(feeds.url("/hop0")))
    result = fetch_one(settings, "s")
    assert [s.title for s in result.stories] == ["Printing press restored"]
    assert result.location == feeds.url("/final.xml")

    for i in range(7):
        feeds.handler(f"/long{i}", redirect(f"/long{i + 1}"))
    settings = write_settings(tmp_path, feed_config(feeds.url("/long0")))
    with pytest.raises(SourceError, match="more than 5 redirects"):
        fetch_one(settings, "s")


def test_redirect_loop_and_redirect_off_http(tmp_path: Path, feeds: FeedServer) -> None:
    feeds.handler("/a", redirect("/b"))
    feeds.handler("/b", redirect("/a"))
    settings = write_settings(tmp_path, feed_config(feeds.url("/a")))
    with pytest.raises(SourceError, match="redirect loop"):
        fetch_one(settings, "s")
    feeds.handler("/to-file", redirect("file:///etc/passwd"))
    settings = write_settings(tmp_path, feed_config(feeds.url("/to-file")))
    with pytest.raises(SourceError, match="non-http"):
        fetch_one(settings, "s")


@pytest.mark.parametrize("status", [404, 500, 503])
def test_http_errors(tmp_path: Path, feeds: FeedServer, status: int) -> None:
    served = feeds.file("/err.xml", b"<html>oops</html>", status=status, content_type="text/html")
    settings = write_settings(tmp_path, feed_config(served.url))
    with pytest.raises(SourceError, match=f"HTTP {status}"):
        fetch_one(settings, "s")


def test_timeout(tmp_path: Path, feeds: FeedServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response((CORPUS / "rss091.xml").read_bytes())

    url = feeds.handler("/slow.xml", slow)
    settings = write_settings(tmp_path, feed_config(url, "timeout = 0.3"))
    started = time.monotonic()
    with pytest.raises(SourceError, match=r"timed out after 0\.3s"):
        fetch_one(settings, "s")
    assert time.monotonic() - started < 1.4


def test_connection_refused(tmp_path: Path) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        settings = write_settings(tmp_path, feed_config(f"http://127.0.0.1:{port}/feed.xml"))
        with pytest.raises(SourceError, match="cannot connect"):
            fetch_one(settings, "s")


@pytest.mark.parametrize(
    "location",
    ["ftp://example.com/feed.xml", "file:///etc/passwd", "gopher://x/", "data:text/xml,<rss/>"],
)
def test_only_http_and_local_paths(tmp_path: Path, location: str) -> None:
    settings = write_settings(tmp_path, feed_config(location))
    with pytest.raises(SourceError, match="only http"):
        fetch_one(settings, "s")


def stored_ids(ctx: Any) -> set[str]:
    with ctx.store.engine.connect() as conn:
        return {r.id for r in conn.execute(stories_table.select())}


def test_etag_304_keeps_stored_stories(
    tmp_path: Path, feeds: FeedServer, make_context: Any
) -> None:
    served = feeds.file("/feed.xml", CORPUS / "rss20.xml", etag='"v1"')
    ctx = make_context(write_settings(tmp_path, feed_config(served.url)))

    first = RunReport(started_at="", dry_run=False)
    fetch_sources(ctx, first)
    assert first.sources[0].new == 3 and not first.sources[0].not_modified
    assert source_store.validators(ctx.store, "s", served.url).etag == '"v1"'  # type: ignore[union-attr]

    second = RunReport(started_at="", dry_run=False)
    fetch_sources(ctx, second)
    assert served.requests[1]["If-None-Match"] == '"v1"'
    assert second.sources[0].not_modified and second.sources[0].fetched == 0
    assert second.ok and len(stored_ids(ctx)) == 3

    # the feed changes: a full read, new validators, the old stories stay
    served.body = (CORPUS / "rss091.xml").read_bytes()
    served.etag = '"v2"'
    third = RunReport(started_at="", dry_run=False)
    fetch_sources(ctx, third)
    assert third.sources[0].new == 1 and not third.sources[0].not_modified
    assert len(stored_ids(ctx)) == 4
    assert source_store.validators(ctx.store, "s", served.url).etag == '"v2"'  # type: ignore[union-attr]


def test_last_modified_304(tmp_path: Path, feeds: FeedServer, make_context: Any) -> None:
    stamp = "Sat, 28 Nov 2026 05:00:00 GMT"
    served = feeds.file("/feed.xml", CORPUS / "rss091.xml", last_modified=stamp)
    ctx = make_context(write_settings(tmp_path, feed_config(served.url)))
    for _ in range(2):
        report = RunReport(started_at="", dry_run=False)
        fetch_sources(ctx, report)
    assert served.requests[1]["If-Modified-Since"] == stamp
    assert report.sources[0].not_modified


def test_a_failed_parse_keeps_no_validators(
    tmp_path: Path, feeds: FeedServer, make_context: Any
) -> None:
    """An unreadable reply must be read in full next time, not answered 304."""
    served = feeds.file(
        "/feed.xml", CORPUS / "html-page.html", etag='"bad"', content_type="text/html"
    )
    ctx = make_context(write_settings(tmp_path, feed_config(served.url)))
    for _ in range(2):
        report = RunReport(started_at="", dry_run=False)
        fetch_sources(ctx, report)
        assert report.sources[0].error and "HTML page" in report.sources[0].error
    assert "If-None-Match" not in served.requests[1]


def test_a_broken_source_never_stops_the_run_nor_loses_stories(
    tmp_path: Path, feeds: FeedServer, make_context: Any
) -> None:
    good = feeds.file("/good.xml", CORPUS / "rss091.xml")
    flaky = feeds.file("/flaky.xml", CORPUS / "rss20.xml")
    sources = (
        f'[sources.a]\nurl = "{flaky.url}"\n[sources.b]\nurl = "{good.url}"\n'
        f'[sources.c]\nurl = "{feeds.url("/missing")}"\n'
        f'[sources.off]\nurl = "{feeds.url("/never")}"\nenabled = false\n'
    )
    ctx = make_context(write_settings(tmp_path, sources))
    fetch_sources(ctx, RunReport(started_at="", dry_run=False))
    assert len(stored_ids(ctx)) == 4

    flaky.body = b"<rss><channel><item><title>half"  # now broken
    report = RunReport(started_at="", dry_run=False)
    fetch_sources(ctx, report)
    results = {s.name: s for s in report.sources}
    assert set(results) == {"a", "b", "c"}  # the disabled one is not read
    assert results["a"].error and "not a readable RSS or Atom feed" in results["a"].error
    assert results["b"].error is None and results["b"].fetched == 1
    assert results["c"].error and "HTTP 500" in results["c"].error  # no handler: 500
    assert [e.subject for e in report.errors] == ["a", "c"]
    assert len(stored_ids(ctx)) == 4  # nothing stored was lost
    states = source_store.source_states(ctx.store)
    assert states["b"]["outcome"] == "ok" and "HTTP 500" in states["c"]["outcome"]
