"""The feed source on the sample newsroom and on broken input."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from distributor.errors import SourceError
from distributor.models import StoryStatus
from distributor.sources.base import build_source, plain_text, safe_html
from tests.conftest import NOW, SAMPLE, settings_for, write_config


def fetch(tmp_path: Path, feed: Path | str) -> list:  # type: ignore[type-arg]
    settings = settings_for(write_config(tmp_path, feed=feed))
    with requests.Session() as session:
        src = build_source("meridian", settings.sources["meridian"], settings, session)
        return list(src.fetch(NOW).stories)


def test_sample_feed_is_normalized(tmp_path: Path) -> None:
    stories = fetch(tmp_path, SAMPLE / "newsroom.atom.xml")
    assert len(stories) >= 14
    langs = {s.language for s in stories}
    assert {"en", "ar", "ja", "es", "fr"} <= langs
    by_status: dict[StoryStatus, list[str]] = {}
    for s in stories:
        by_status.setdefault(s.status, []).append(s.title)
        assert s.published_at is not None and s.published_at.tzinfo is not None
        assert s.url.startswith("https://news.example/")
        assert "<" not in s.title
    assert [t for t in by_status[StoryStatus.DRAFT] if t.startswith("DRAFT:")]
    assert [t for t in by_status[StoryStatus.SCHEDULED] if t.startswith("EMBARGOED:")]
    groups: dict[str, set[str]] = {}
    for s in stories:
        if s.translation_group:
            groups.setdefault(s.translation_group, set()).add(s.language)
    assert {"en", "ar", "ja", "es", "fr", "de", "pt-BR"} in groups.values()
    assert len(groups) >= 4
    # entities in titles are decoded, not double-escaped
    assert any("&" in s.title and "&amp;" not in s.title for s in stories)


def test_hostile_markup_is_neutralized() -> None:
    assert plain_text("<b>Hi</b> <script>alert(1)</script> &amp; bye") == "Hi & bye"
    cleaned = safe_html('<p onclick="x()">Hi<script>alert(1)</script><img src=x onerror=y></p>')
    assert "script" not in cleaned and "onclick" not in cleaned and "onerror" not in cleaned


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("<html><body><h1>Not a feed</h1></body></html>", "not a readable RSS or Atom feed"),
        ("<?xml version='1.0'?><rss><channel><item><title>x", "not a readable RSS or Atom feed"),
        ("", "not a readable RSS or Atom feed"),
    ],
)
def test_broken_feeds_raise_source_error(tmp_path: Path, content: str, message: str) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(content)
    with pytest.raises(SourceError, match=message):
        fetch(tmp_path, feed)


def test_missing_file_and_bad_scheme(tmp_path: Path) -> None:
    with pytest.raises(SourceError, match="cannot read"):
        fetch(tmp_path, tmp_path / "absent.xml")
    with pytest.raises(SourceError, match="only http"):
        fetch(tmp_path, "ftp://example.com/feed.xml")


def test_items_without_title_or_link_are_skipped_with_a_reason(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_text(
        """<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><link>https://x.example</link>
<item><title>Good</title><link>https://x.example/1</link><guid>1</guid>
<pubDate>Sat, 28 Nov 2026 05:00:00 GMT</pubDate></item>
<item><link>https://x.example/2</link><guid>2</guid><pubDate>Sat, 28 Nov 2026 05:00:00 GMT</pubDate></item>
<item><title>No link</title><guid>3</guid><pubDate>Sat, 28 Nov 2026 05:00:00 GMT</pubDate></item>
<item><title>Dup</title><link>https://x.example/4</link><guid>1</guid><pubDate>Sat, 28 Nov 2026 05:00:00 GMT</pubDate></item>
</channel></rss>"""
    )
    settings = settings_for(write_config(tmp_path, feed=feed))
    with requests.Session() as session:
        result = build_source("meridian", settings.sources["meridian"], settings, session).fetch(
            NOW
        )
    assert [s.title for s in result.stories] == ["Good"]
    assert len(result.problems) == 3
    assert any("no title" in p for p in result.problems)
    assert any("no link" in p for p in result.problems)
    assert any("duplicate id" in p for p in result.problems)
