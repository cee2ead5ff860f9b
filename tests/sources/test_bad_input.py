"""Bad input from the corpus: a clear error for the source or the item; the rest goes on."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from distributor.errors import SourceError
from distributor.models import StoryStatus
from distributor.sources.base import plain_text, safe_html
from distributor.sources.normalize import held_far_ahead
from tests.sources.conftest import CORPUS, NOW, FeedServer, fetch_one, write_settings


def served_settings(tmp_path: Path, feeds: FeedServer, name: str, **kw: str) -> object:
    served = feeds.file(f"/{name}", CORPUS / name, **kw)  # type: ignore[arg-type]
    return write_settings(tmp_path, f'[sources.s]\nurl = "{served.url}"')


def test_malformed_xml_is_read_leniently(tmp_path: Path, feeds: FeedServer) -> None:
    result = fetch_one(served_settings(tmp_path, feeds, "malformed.xml"), "s")  # type: ignore[arg-type]
    assert [s.title for s in result.stories] == ["Fish & chips shop wins award", "Second story"]
    assert result.problems[0].startswith("malformed XML, read leniently")


def test_wrong_encoding_declaration(tmp_path: Path, feeds: FeedServer) -> None:
    result = fetch_one(served_settings(tmp_path, feeds, "wrong-encoding.xml"), "s")  # type: ignore[arg-type]
    assert [s.title for s in result.stories] == ["Café crème à la une"]
    assert "wrong or missing encoding declaration" in result.problems[0]


def test_missing_declaration_with_the_charset_in_the_http_header(
    tmp_path: Path, feeds: FeedServer
) -> None:
    settings = served_settings(
        tmp_path,
        feeds,
        "no-declaration-latin1.xml",
        content_type="application/xml; charset=iso-8859-1",
    )
    result = fetch_one(settings, "s")  # type: ignore[arg-type]
    assert [s.title for s in result.stories] == ["Café crème à la une"]
    assert result.problems == ()


def test_missing_declaration_and_no_charset(tmp_path: Path, feeds: FeedServer) -> None:
    result = fetch_one(served_settings(tmp_path, feeds, "no-declaration-latin1.xml"), "s")  # type: ignore[arg-type]
    assert [s.title for s in result.stories] == ["Café crème à la une"]
    assert "encoding" in result.problems[0]


def test_an_html_page_instead_of_a_feed(tmp_path: Path, feeds: FeedServer) -> None:
    settings = served_settings(tmp_path, feeds, "html-page.html", content_type="text/html")
    with pytest.raises(SourceError, match="is an HTML page, not a feed"):
        fetch_one(settings, "s")  # type: ignore[arg-type]


def test_missing_titles_links_and_dates(tmp_path: Path, feeds: FeedServer) -> None:
    result = fetch_one(served_settings(tmp_path, feeds, "missing-fields.xml"), "s")  # type: ignore[arg-type]
    assert [s.title for s in result.stories] == ["Complete story"]
    assert list(result.problems) == [
        "item 2: no title; skipped",
        "item 3: no title; skipped",
        "item 4: no link ('No link at all'); skipped",
        "item 5: no link: 'javascript:alert(1)' is not an absolute http(s) URL ('Link is javascript'); skipped",
        "item 6: no publish date ('No date'); skipped",
        "item 7: unreadable date 'sometime last week'; skipped",
    ]


def test_duplicate_guids(tmp_path: Path, feeds: FeedServer) -> None:
    result = fetch_one(served_settings(tmp_path, feeds, "dup-guid.xml"), "s")  # type: ignore[arg-type]
    assert [s.title for s in result.stories] == ["First telling", "Other"]
    assert result.problems == ("item 2: duplicate id 'same' (first in item 1); skipped",)


def test_dates_in_1970_and_far_in_the_future(tmp_path: Path, feeds: FeedServer) -> None:
    result = fetch_one(served_settings(tmp_path, feeds, "dates.xml"), "s")  # type: ignore[arg-type]
    stories = {s.title: s for s in result.stories}
    assert set(stories) == {"Normal", "Far future", "Tomorrow"}
    assert stories["Normal"].status is StoryStatus.PUBLISHED
    assert stories["Tomorrow"].status is StoryStatus.SCHEDULED  # an embargo: not yet
    assert stories["Far future"].status is StoryStatus.SCHEDULED
    assert stories["Far future"].published_at == datetime(2199, 5, 1, tzinfo=UTC)
    problems = "\n".join(result.problems)
    assert (
        "item 2: publish date 1970-01-01 is not plausible (an unset date?) ('Epoch'); skipped"
        in problems
    )
    assert "far in the future" not in problems  # kept, so a note (the run's notes), not a warning
    [held] = held_far_ahead(result.stories, NOW)
    assert "publish date 2199-05-01 is far in the future; held as scheduled ('Far future')" in held


def test_script_tags_and_event_handlers(tmp_path: Path, feeds: FeedServer) -> None:
    [story] = fetch_one(served_settings(tmp_path, feeds, "hostile.xml"), "s").stories  # type: ignore[arg-type]
    assert story.title == "Budget passes"
    for bad in ("<script", "onclick", "onerror", "onmouseover", "javascript:", "<iframe", "cookie"):
        assert bad not in story.summary_html, bad
    assert '<img src="https://hostile.example/i.png">' in story.summary_html
    assert story.summary_text == "Vote count"


def test_sanitizers_directly() -> None:
    assert plain_text("<b>Hi</b> <script>alert(1)</script> &amp; bye") == "Hi & bye"
    assert plain_text("  many \n\t spaces  ") == "many spaces"
    cleaned = safe_html('<p onclick="x()">Hi<script>alert(1)</script><img src=x onerror=y></p>')
    assert "script" not in cleaned and "onclick" not in cleaned and "onerror" not in cleaned


def test_empty_and_truncated_files(tmp_path: Path, feeds: FeedServer) -> None:
    for body, message in [
        (b"", "is empty"),
        (b"<?xml version='1.0'?><rss><channel><item><title>x", "not a readable RSS or Atom feed"),
        (b"\x00\x01\x02binary", "not a readable RSS or Atom feed"),
    ]:
        feeds.server.clear()
        served = feeds.file("/bad", body)
        settings = write_settings(tmp_path, f'[sources.s]\nurl = "{served.url}"')
        with pytest.raises(SourceError, match=message):
            fetch_one(settings, "s")


def test_bad_json_feed_items(tmp_path: Path, feeds: FeedServer) -> None:
    served = feeds.file(
        "/f.json",
        '{"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": ['
        '"not an object", {"id": "1", "title": "No url", "date_published": "2026-11-28T05:00:00Z"},'
        '{"id": "2", "url": "https://j.example/2", "title": "<b>Ok</b>", "date_published": "garbage"},'
        '{"id": "3", "url": "https://j.example/3", "title": "Fine", "date_published": "2026-11-28T05:00:00Z",'
        ' "language": "not a language!"}]}',
    )
    settings = write_settings(tmp_path, f'[sources.s]\nkind = "jsonfeed"\nurl = "{served.url}"')
    result = fetch_one(settings, "s")
    assert [(s.id, s.language) for s in result.stories] == [("3", "en")]
    assert list(result.problems) == [
        "item 1: not an object; skipped",
        "item 2: no link ('No url'); skipped",
        "item 3: unreadable date 'garbage'; skipped",
        "item 4: language 'not a language!' is not a BCP 47 tag; using en ('Fine')",
    ]
    feeds.server.clear()
    feeds.file("/f.json", "{not json")
    with pytest.raises(SourceError, match="invalid JSON"):
        fetch_one(settings, "s")


def test_a_feed_served_as_html_is_still_read(tmp_path: Path, feeds: FeedServer) -> None:
    settings = served_settings(
        tmp_path, feeds, "rss20.xml", content_type="text/html; charset=utf-8"
    )
    result = fetch_one(settings, "s")  # type: ignore[arg-type]
    assert len(result.stories) == 3
    assert result.problems == (
        "served with a non-feed content type (text/html; charset=utf-8 is not an XML media type); read anyway",
    )
