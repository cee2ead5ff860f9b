"""Issue 16, the sources side: what real and hostile feeds did to us, each case pinned.

Dates are read exactly (``corpus/zones.xml``), relative URLs resolved against
``xml:base`` then the document, plain-text titles kept as text, JSON Feed items
without a title kept, and one hostile source fails alone, within its bounds.

No test here reads the wall clock: the ``now`` of each read is chosen from the
dates of the corpus (or is the suite's ``NOW``), so the suite reads the same
in any year.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests
from werkzeug import Request, Response

from distributor.config import Settings
from distributor.errors import ConfigError, SourceError
from distributor.models import Story, StoryStatus
from distributor.pipeline import fetch_sources
from distributor.report import RunReport
from distributor.sources.base import FetchResult, build_source
from distributor.sources.dates import DateError, read_date
from distributor.sources.normalize import canonical_url, headline, safe_html
from tests.conftest import NOW
from tests.sources.conftest import CORPUS, FeedServer, write_settings


def fetch_at(settings: Settings, name: str, now: datetime) -> FetchResult:
    with requests.Session() as session:
        return build_source(name, settings.sources[name], settings, session).fetch(now)


def by_id(stories: tuple[Story, ...]) -> dict[str, Story]:
    return {s.id: s for s in stories}


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


# ------------------------------------------------------------------ dates

ZONES_READ = {
    "jst": "2026-11-28T06:00Z",
    "cet": "2026-11-28T14:00Z",
    "cest": "2026-06-28T13:00Z",
    "bst": "2026-06-28T14:00Z",
    "ist": "2026-11-28T09:30Z",  # ambiguous: India, with a note
    "cst": "2026-11-28T21:00Z",  # ambiguous: US Central (RFC 822), with a note
    "aedt": "2026-11-28T04:00Z",
    "est": "2026-11-28T20:00Z",
    "pdt": "2026-06-28T15:00Z",
    "msk": "2026-11-28T12:00Z",
    "gmt+0100": "2026-11-28T14:00Z",  # one hour east of Greenwich, as written
    "utc+1": "2026-11-28T14:00Z",
    "gmt-01:01": "2026-11-28T16:01Z",  # the sign kept
    "comment": "2026-11-28T14:00Z",
    "rfc822-yy": "2026-11-28T15:00Z",
    "year": "2026-01-01T00:00Z",  # never today's month
    "year-month": "2026-11-01T00:00Z",
    "date": "2026-11-28T00:00Z",
    "iso-yy": "2026-11-28T00:00Z",
    "rfc3339": "2026-11-28T06:00:00.250Z",
    "basic": "2026-11-28T15:00Z",
}


@pytest.fixture
def zones(tmp_path: Path, feeds: FeedServer) -> Iterator[Any]:
    served = feeds.file("/zones.xml", CORPUS / "zones.xml")

    def read(timezone: str = "UTC", now: datetime = NOW) -> FetchResult:
        settings = write_settings(
            tmp_path, f'[sources.z]\nurl = "{served.url}"\ntimezone = "{timezone}"'
        )
        return fetch_at(settings, "z", now)

    yield read


def test_every_form_of_date_is_read_exactly(zones: Any) -> None:
    result = zones()
    read = {s.id: s.published_at for s in result.stories}
    assert read == {key: utc(value) for key, value in ZONES_READ.items()}
    problems = "\n".join(result.problems)
    # what could not be read is said in words, never as a Python message
    assert (
        "item 22: time zone offset '+25:00' is out of range in date "
        "'2026-11-28T15:00:00+25:00'; skipped" in problems
    )
    assert "item 23: unknown time zone 'XYZT' in date" in problems
    assert "item 24: date '28 November' has no year; skipped" in problems
    assert "item 25: date '2026-02-30' is not a real date or time; skipped" in problems
    assert "timedelta" not in problems and "strictly between" not in problems
    # uncertain readings are reported
    assert "item 16: date '2026' gives only a year; read as 2026-01-01" in problems
    assert "item 17: date '2026-11' gives only a year and a month" in problems
    for abbreviation in ("IST", "CST", "BST"):
        assert f"time zone '{abbreviation}' in date" in problems
    assert "'IST' in date 'Sat, 28 Nov 2026 15:00:00 IST' is ambiguous" in problems
    assert "read as India Standard Time +05:30: set the source's timezone" in problems
    # unambiguous names are read silently
    assert "'JST'" not in problems and "'CET'" not in problems and "'EST'" not in problems


def test_a_tokyo_story_of_30_minutes_ago_is_published_not_held(zones: Any) -> None:
    jst = utc(ZONES_READ["jst"])  # 15:00 JST
    stories = by_id(zones(now=jst + timedelta(minutes=30)).stories)
    assert stories["jst"].status is StoryStatus.PUBLISHED
    assert by_id(zones(now=jst - timedelta(minutes=30)).stories)["jst"].status is (
        StoryStatus.SCHEDULED
    )


@pytest.mark.parametrize(
    ("timezone", "key", "expected"),
    [
        ("Europe/Dublin", "ist", "2026-11-28T14:00Z"),  # Irish Standard Time
        ("Asia/Jerusalem", "ist", "2026-11-28T13:00Z"),
        ("Asia/Kolkata", "ist", "2026-11-28T09:30Z"),
        ("Asia/Shanghai", "cst", "2026-11-28T07:00Z"),  # China Standard Time
        ("America/Chicago", "cst", "2026-11-28T21:00Z"),
        ("Europe/London", "bst", "2026-06-28T14:00Z"),
        ("Asia/Dhaka", "bst", "2026-06-28T09:00Z"),  # Bangladesh
    ],
)
def test_ambiguous_zones_are_settled_by_the_source_timezone(
    zones: Any, timezone: str, key: str, expected: str
) -> None:
    result = zones(timezone=timezone)
    assert by_id(result.stories)[key].published_at == utc(expected)
    name = key.upper()
    assert not any(f"time zone '{name}'" in p for p in result.problems)


def test_read_date_directly() -> None:
    tokyo, utc_zone = ZoneInfo("Asia/Tokyo"), ZoneInfo("UTC")
    read = read_date("2026-11-28T15:00", tokyo)
    assert read is not None and read.when == utc("2026-11-28T06:00Z") and read.note is None
    # a form dateutil knows, with its parts checked: no part is taken from today
    read = read_date("November 2026", utc_zone)
    assert read is not None and read.when == utc("2026-11-01T00:00Z") and read.note
    with pytest.raises(DateError, match="has no year"):
        read_date("Nov 28 10:00", utc_zone)
    read = read_date("11/12/2026 10:00", utc_zone)
    assert read is not None and read.note and "day-first or month-first" in read.note
    # forms only dateutil knows: the offset after UTC/GMT keeps its sign there too
    for text, expected in [
        ("2026-11-28 15:00 UTC+05:30", "2026-11-28T09:30Z"),
        ("November 28, 2026 15:00 GMT-3", "2026-11-28T18:00Z"),
        ("28 November 2026 3pm CET", "2026-11-28T14:00Z"),
        ("2026/11/28 15:00 +0900", "2026-11-28T06:00Z"),
    ]:
        read = read_date(text, utc_zone)
        assert read is not None and read.when == utc(expected), text
    with pytest.raises(DateError, match="offset is out of range"):
        read_date("2026/11/28 15:00 +2500", utc_zone)
    read = read_date("2026-11-28T24:00:00Z", utc_zone)
    assert read is not None and read.when == utc("2026-11-29T00:00Z")
    # numbers out of range for a time: refused in words (OverflowError inside)
    for number, words in [
        (1e300, "out of range"),
        (10**400, "out of range"),
        (float("nan"), "not a time"),
        (-(10**20), "out of range"),
    ]:
        with pytest.raises(DateError, match=words):
            read_date(number, utc_zone)
    with pytest.raises(DateError, match="out of range"):
        read_date(datetime(9999, 12, 31, 23, 0), ZoneInfo("America/New_York"))


# ------------------------------------------------------------ links, text


def test_relative_urls_follow_xml_base_then_the_document(tmp_path: Path, feeds: FeedServer) -> None:
    served = feeds.file("/feeds/rel.xml", CORPUS / "xml-base.xml")
    settings = write_settings(tmp_path, f'[sources.r]\nurl = "{served.url}"')
    result = fetch_at(settings, "r", NOW)
    assert result.problems == ()
    one, two = by_id(result.stories)["urn:rel:1"], by_id(result.stories)["urn:rel:2"]
    # the entry's xml:base ("2026/") on the feed's ("https://cdn.example/news/")
    assert one.url == "https://cdn.example/news/2026/story-1.html"
    assert one.image_url == "https://cdn.example/news/2026/lead.png"  # the enclosure
    assert 'href="https://cdn.example/news/about"' in one.body_html
    assert 'src="https://cdn.example/news/2026/inline.png"' in one.body_html
    assert two.url == "https://cdn.example/root-relative"
    assert two.image_url == "https://cdn.example/news/thumb.jpg"  # media:thumbnail
    # an Atom type="text" title keeps its angle brackets as text
    assert one.title == "Why <br> tags & <b>bold</b> break layouts"
    assert two.title == "An HTML title"  # type="html": markup removed
    # a text summary is text: escaped, not sanitized away
    assert two.summary_html == "<p>x &lt; y &amp; &lt;z&gt;</p>"
    assert two.summary_text == "x < y & <z>"

    served = feeds.file("/feeds/no-base.xml", CORPUS / "no-base.xml")
    settings = write_settings(tmp_path, f'[sources.r]\nurl = "{served.url}"')
    [story] = fetch_at(settings, "r", NOW).stories
    assert story.url == feeds.url("/feeds/stories/one.html")  # the document's URL
    assert story.image_url == feeds.url("/feeds/img/one.png")
    assert f'href="{feeds.url("/about")}"' in story.summary_html


def test_json_feed_items_without_a_title(tmp_path: Path, feeds: FeedServer) -> None:
    served = feeds.file(
        "/micro/feed.json", CORPUS / "no-title.json", content_type="application/feed+json"
    )
    settings = write_settings(tmp_path, f'[sources.m]\nkind = "jsonfeed"\nurl = "{served.url}"')
    result = fetch_at(settings, "m", NOW)
    stories = by_id(result.stories)
    assert stories["m1"].title == "Ferry service resumes after the storm."
    long = stories["m2"]
    assert long.title.endswith("\u2026") and len(long.title) <= 100
    assert long.title.startswith("A very long summary without any sentence end")
    assert long.url == feeds.url("/m2")  # relative to the document
    assert f'href="{feeds.url("/council")}"' in long.body_html
    assert long.image_url == feeds.url("/micro/img/vote.png")
    assert list(result.problems) == [
        "item 1: no title; headline taken from the summary "
        "('Ferry service resumes after the storm.')",
        f"item 2: no title; headline taken from the summary ({long.title[:60]!r})",
        "item 3: no title; skipped",  # nothing to take a headline from
    ]


def test_when_every_item_is_skipped_the_error_says_why(tmp_path: Path) -> None:
    settings = write_settings(tmp_path, f'[sources.s]\nurl = "{CORPUS / "all-skipped.xml"}"')
    with pytest.raises(SourceError) as caught:
        fetch_at(settings, "s", NOW)
    assert caught.value.reason == (
        "not a readable RSS or Atom feed: every item was skipped (3 read): "
        "no publish date (2), unreadable date (1); "
        "the first: item 1: no publish date ('No date 1')"
    )


def test_helpers_for_links_and_headlines() -> None:
    assert canonical_url("https://x.example:99999/a") is None  # ValueError inside
    assert canonical_url("http://[::1/a") is None
    assert canonical_url("http://[::1]:8080/a") == "http://[::1]:8080/a"
    html = safe_html(
        '<a href="../b">b</a><img src="c.png"><a href="#top">t</a>', "https://x.example/a/s"
    )
    assert 'href="https://x.example/b"' in html and 'src="https://x.example/a/c.png"' in html
    assert 'href="#top"' in html
    assert headline("One. Two.") == "One."
    assert headline("Version 2.0 ships today. More later.") == "Version 2.0 ships today."
    assert headline("東京で新しい駅が開業。利用者は多い。") == "東京で新しい駅が開業。"
    assert headline("  short  ") == "short"


# ---------------------------------------------------------------- hostile


def test_hostile_numbers_and_ports_fail_one_item_each(tmp_path: Path) -> None:
    settings = write_settings(
        tmp_path, f'[sources.h]\nkind = "jsonfeed"\nurl = "{CORPUS / "hostile.json"}"'
    )
    result = fetch_at(settings, "h", NOW)
    assert sorted(by_id(result.stories)) == ["ok", "tags"]
    assert list(result.problems) == [
        "item 2: date number 1e+300 is out of range for a time; skipped",
        "item 3: date number inf is not a time; skipped",
        "item 4: no link: 'https://h.example:99999/port' is not an absolute http(s) URL "
        "('Port out of range'); skipped",
        "item 5: no link: 'http://[::1/ipv6' is not an absolute http(s) URL "
        "('Broken IPv6 host'); skipped",
        "item 6: date number inf is not a time; skipped",  # 5,000 digits: one item only
    ]


def test_a_json_feed_nested_thousands_deep(tmp_path: Path) -> None:
    settings = write_settings(
        tmp_path, f'[sources.d]\nkind = "jsonfeed"\nurl = "{CORPUS / "deep.json"}"'
    )
    with pytest.raises(SourceError, match="not a JSON Feed: nested too deeply to read"):
        fetch_at(settings, "d", NOW)


def test_markdown_front_matter_bombs(tmp_path: Path) -> None:
    settings = write_settings(
        tmp_path,
        f'[sources.md]\nkind = "markdown"\npath = "{CORPUS / "md-hostile"}"\n'
        'base_url = "https://notes.example/"',
    )
    started = time.monotonic()
    result = fetch_at(settings, "md", NOW)
    assert time.monotonic() - started < 5
    assert [s.title for s in result.stories] == ["A calm note"]
    assert sorted(result.problems) == [
        "bomb.md: front matter refused: more than 20 aliases (an alias bomb?); skipped",
        "deep.md: front matter refused: nested more than 50 levels deep; skipped",
        "title-list.md: no title; skipped",
    ]


def test_an_xml_entity_bomb_is_not_expanded(tmp_path: Path) -> None:
    settings = write_settings(tmp_path, f'[sources.s]\nurl = "{CORPUS / "entity-bomb.xml"}"')
    started = time.monotonic()
    result = fetch_at(settings, "s", NOW)
    assert time.monotonic() - started < 3  # expat alone spends seconds before it stops
    [story] = result.stories
    assert len(story.title) < 100
    assert result.problems[0] == (
        "the feed declares XML entities in its DOCTYPE; they were not expanded"
    )


def test_ten_thousand_items_are_capped(tmp_path: Path, feeds: FeedServer) -> None:
    # made here, not stored: 10,000 items of the same shape
    items = "".join(
        f"<item><title>Story {i}</title><link>https://big.example/{i}</link>"
        "<pubDate>Sat, 28 Nov 2026 05:00:00 GMT</pubDate></item>"
        for i in range(10_000)
    )
    served = feeds.file("/big.xml", f"<rss version='2.0'><channel>{items}</channel></rss>")
    settings = write_settings(tmp_path, f'[sources.big]\nurl = "{served.url}"\nmax_items = 50')
    result = fetch_at(settings, "big", NOW)
    assert len(result.stories) == 50 and result.stories[0].title == "Story 0"
    assert result.problems == (
        "the source has 10000 items; only the first 50 were read (max_items)",
    )


def test_a_trickling_server_is_given_up_at_the_deadline(tmp_path: Path, feeds: FeedServer) -> None:
    body = (CORPUS / "rss091.xml").read_bytes()

    def trickle(request: Request) -> Response:
        def chunks() -> Iterator[bytes]:
            for byte in body[:60]:  # one byte every 0.1 s: no single read times out
                time.sleep(0.1)
                yield bytes([byte])

        return Response(chunks(), content_type="application/xml")

    def stall(request: Request) -> Response:
        time.sleep(2)  # before the headers: under the read timeout, over the deadline
        return Response(body, content_type="application/xml")

    for path, handler in [("/trickle.xml", trickle), ("/stall.xml", stall)]:
        url = feeds.handler(path, handler)
        settings = write_settings(
            tmp_path, f'[sources.s]\nurl = "{url}"\ntimeout = 5\ndeadline = 0.8'
        )
        started = time.monotonic()
        with pytest.raises(SourceError, match=r"did not arrive within 0\.8s \(the deadline\)"):
            fetch_at(settings, "s", NOW)
        assert time.monotonic() - started < 1.8, path


def test_the_api_token_goes_only_to_its_own_origin(tmp_path: Path, feeds: FeedServer) -> None:
    """127.0.0.1 and localhost are two origins of one server."""
    one = json.loads((CORPUS / "api_page1.json").read_text())
    two = json.loads((CORPUS / "api_page2.json").read_text())
    other = feeds.url("/api/p2").replace("127.0.0.1", "localhost")
    seen: list[tuple[str, str, str | None]] = []

    def record(request: Request, payload: Any) -> Response:
        seen.append(
            (request.host.split(":")[0], request.path, request.headers.get("Authorization"))
        )
        return Response(json.dumps(payload), content_type="application/json")

    feeds.handler("/api/p1", lambda r: record(r, {"posts": one, "next": other}))
    feeds.handler("/api/p2", lambda r: record(r, {"posts": two, "next": None}))
    fields = (
        'items = "posts"\npagination = "next_link"\nnext_link = "next"\n'
        '[sources.cms.fields]\nid = "id"\ntitle = "title.rendered"\nurl = "link"\n'
        'published = "date_gmt"\nstatus = "status"\n'
    )
    settings = write_settings(
        tmp_path,
        f'[sources.cms]\nkind = "api"\nurl = "{feeds.url("/api/p1")}"\n{fields}',
        env={"DISTRIBUTOR_SOURCES_CMS_TOKEN": "s3cret"},
    )
    result = fetch_at(settings, "cms", NOW)
    assert seen == [
        ("127.0.0.1", "/api/p1", "Bearer s3cret"),
        ("localhost", "/api/p2", None),  # another origin: no token
    ]
    assert f"page 2: {other} is on another origin; read without the token" in result.problems
    assert {"501", "503"} <= {s.id for s in result.stories}

    # a redirect to another origin: followed without the token
    seen.clear()
    feeds.handler(
        "/api/moved",
        lambda r: Response(
            status=302, headers={"Location": feeds.url("/api/p2").replace("127.0.0.1", "localhost")}
        ),
    )
    settings = write_settings(
        tmp_path,
        f'[sources.cms]\nkind = "api"\nurl = "{feeds.url("/api/moved")}"\n'
        + fields.replace('pagination = "next_link"', 'pagination = "none"'),
        env={"DISTRIBUTOR_SOURCES_CMS_TOKEN": "s3cret"},
    )
    fetch_at(settings, "cms", NOW)
    assert seen == [("localhost", "/api/p2", None)]


def test_one_hostile_source_fails_alone_and_the_run_goes_on(
    tmp_path: Path, feeds: FeedServer, make_context: Any
) -> None:
    good = feeds.file("/good.xml", CORPUS / "rss091.xml")
    deep = feeds.file("/deep.json", CORPUS / "deep.json", content_type="application/json")
    sources = (
        f'[sources.deep]\nkind = "jsonfeed"\nurl = "{deep.url}"\n'
        f'[sources.numbers]\nkind = "jsonfeed"\nurl = "{CORPUS / "hostile.json"}"\n'
        f'[sources.notes]\nkind = "markdown"\npath = "{CORPUS / "md-hostile"}"\n'
        'base_url = "https://notes.example/"\n'
        f'[sources.good]\nurl = "{good.url}"\n'
    )
    ctx = make_context(write_settings(tmp_path, sources))
    report = RunReport(started_at="", dry_run=False)
    fetch_sources(ctx, report)
    results = {s.name: s for s in report.sources}
    assert results["deep"].error == "not a JSON Feed: nested too deeply to read"
    assert results["numbers"].error is None and results["numbers"].fetched == 2
    assert results["notes"].error is None and results["notes"].fetched == 1
    assert results["good"].error is None and results["good"].fetched == 1
    assert [e.subject for e in report.errors] == ["deep"]


def test_an_unforeseen_error_in_one_source_is_contained(
    tmp_path: Path, make_context: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributor.sources import jsonfeed

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RecursionError("maximum recursion depth exceeded")

    monkeypatch.setattr(jsonfeed, "normalize_all", explode)
    sources = (
        f'[sources.j]\nkind = "jsonfeed"\nurl = "{CORPUS / "feed.json"}"\n'
        f'[sources.good]\nurl = "{CORPUS / "rss091.xml"}"\n'
    )
    ctx = make_context(write_settings(tmp_path, sources))
    report = RunReport(started_at="", dry_run=False)
    fetch_sources(ctx, report)
    results = {s.name: s for s in report.sources}
    assert results["j"].error == "nested too deeply to read; skipped"
    assert results["good"].fetched == 1


@pytest.mark.parametrize("entry", ["not-a-network", "10.0.0.1/8", "300.1.2.3"])
def test_config_refuses_an_image_network_that_is_not_one(tmp_path: Path, entry: str) -> None:
    path = tmp_path / "distributor.toml"
    with pytest.raises(ConfigError) as caught:
        write_settings(
            tmp_path, f'[sources.s]\nurl = "x"\n\n[share]\nimage_allow_networks = ["{entry}"]'
        )
    message = str(caught.value)
    assert "\n" not in message and "share.image_allow_networks" in message
    assert f"{entry!r} is not a network" in message
    assert path.exists()


def test_archive_pages_make_relative_body_links_absolute(tmp_path: Path) -> None:
    """A story stored with relative links (before issue 16) must not point at our host."""
    from distributor.models import Story as StoryModel
    from distributor.render.digest import DigestRenderer
    from distributor.render.story_page import render_story_page
    from tests.conftest import settings_for, write_config

    settings = settings_for(write_config(tmp_path))
    stored = StoryModel(
        id="old",
        source="s",
        url="https://news.example/world/2026/pact.html",
        title="Pact",
        language="en",
        status=StoryStatus.PUBLISHED,
        published_at=NOW,
        body_html='<p><a href="../about">about</a> <img src="img/map.png" alt="map"></p>',
    )
    page = render_story_page(DigestRenderer(settings), stored, links=(), card=None, card_url=None)
    assert 'href="https://news.example/world/about"' in page
    assert 'src="https://news.example/world/2026/img/map.png"' in page


def test_a_run_over_every_form_reports_each_problem_in_one_line_and_sends(
    tmp_path: Path, feeds: FeedServer
) -> None:
    from sqlalchemy import select

    from distributor.pipeline import Context, run
    from distributor.store import Store
    from distributor.store.schema import editions

    zones = feeds.file("/zones.xml", CORPUS / "zones.xml")
    deep = feeds.file("/deep.json", CORPUS / "deep.json", content_type="application/json")
    rel = feeds.file("/feeds/rel.xml", CORPUS / "xml-base.xml")
    sources = (
        f'[sources.zones]\nurl = "{zones.url}"\n'
        f'[sources.rel]\nurl = "{rel.url}"\n'
        f'[sources.deep]\nkind = "jsonfeed"\nurl = "{deep.url}"\n'
        f'[sources.numbers]\nkind = "jsonfeed"\nurl = "{CORPUS / "hostile.json"}"\n'
        f'[sources.skipped]\nurl = "{CORPUS / "all-skipped.xml"}"\n'
        f'[sources.laughs]\nurl = "{CORPUS / "entity-bomb.xml"}"\n'
        f'[sources.notes]\nkind = "markdown"\npath = "{CORPUS / "md-hostile"}"\n'
        'base_url = "https://notes.example/"\n'
    )
    subs = tmp_path / "subscribers.csv"
    subs.write_text("email,name,language,timezone,topics\nen@example.com,En,en,,\n")
    settings = write_settings(tmp_path, sources, subscribers=subs)
    now = utc(ZONES_READ["jst"]) + timedelta(hours=1)  # the clock of the corpus
    ctx = Context(
        settings=settings,
        store=Store.open(settings.database_url),
        session=requests.Session(),
        clock=lambda: now,
    )
    try:
        report = run(ctx)
        check_run(ctx, report, select, editions)
    finally:
        ctx.close()
        ctx.session.close()
        ctx.store.close()


def check_run(ctx: Any, report: Any, select: Any, editions: Any) -> None:
    assert sorted(e.subject for e in report.errors) == ["deep", "skipped"]
    lines = [e.cause for e in report.errors] + [w.cause for w in report.warnings]
    assert lines and all("\n" not in line and "Traceback" not in line for line in lines)
    assert report.emails.sent == 1  # the rest of the edition went out
    with ctx.store.engine.connect() as conn:
        [edition_id] = conn.execute(select(editions.c.id)).scalars().all()
    assert "jst" in ctx.store.edition(edition_id).story_ids  # the Tokyo story of an hour ago
