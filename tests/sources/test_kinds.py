"""Each kind of source, read from the corpus over a local HTTP server (or a folder)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from werkzeug import Request, Response

from distributor.models import Story, StoryStatus
from tests.sources.conftest import CORPUS, FeedServer, fetch_one, write_settings


def by_id(stories: tuple[Story, ...]) -> dict[str, Story]:
    return {s.id: s for s in stories}


def test_rss20(tmp_path: Path, feeds: FeedServer) -> None:
    served = feeds.file("/rss20.xml", CORPUS / "rss20.xml", content_type="application/rss+xml")
    settings = write_settings(
        tmp_path,
        f'[sources.gazette]\nurl = "{served.url}"\ntimezone = "Europe/London"\nlanguage = "en"',
    )
    result = fetch_one(settings, "gazette")
    assert result.problems == ()
    stories = by_id(result.stories)
    ferry = stories["gazette-1001"]
    # RSS titles may be HTML: "&amp;amp;" in the XML is "&amp;" in HTML, "&" as text
    assert ferry.title == "Ferry & bus timetables merge from December"
    assert ferry.url == "https://gazette.example/news/ferry-bus?id=7"  # tracking removed
    assert ferry.language == "en-GB"  # the feed's language, as a BCP 47 tag
    assert ferry.author == "Ruth Okonjo"
    assert ferry.sections == ("Transport", "Local")
    assert ferry.image_url == "https://gazette.example/img/ferry.jpg"  # media:content
    assert ferry.published_at == datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
    assert ferry.summary_text == "One ticket for both, details."
    assert 'rel="noopener noreferrer"' in ferry.summary_html
    # no guid: the canonical URL is the id; EST is understood
    library = stories["https://gazette.example/news/library-hours"]
    assert library.published_at == datetime(2026, 11, 27, 23, 30, tzinfo=UTC)
    assert library.image_url == "https://gazette.example/img/library.jpg"  # enclosure
    assert library.summary_html == "Open until nine on weekdays."
    # a date without a zone is read in the source's zone (London, GMT in November)
    regatta = stories["https://gazette.example/news/regatta"]
    assert regatta.published_at == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    # the first image in the body, made absolute against the feed's own URL (as
    # feedparser resolves relative URLs: xml:base, else the document), not the story's
    assert regatta.image_url == feeds.url("/img/regatta.png")
    assert all(s.status is StoryStatus.PUBLISHED for s in result.stories)


def test_naive_dates_use_the_configured_zone(tmp_path: Path, feeds: FeedServer) -> None:
    served = feeds.file("/rss20.xml", CORPUS / "rss20.xml")
    settings = write_settings(
        tmp_path, f'[sources.gazette]\nurl = "{served.url}"\ntimezone = "Asia/Tokyo"'
    )
    regatta = by_id(fetch_one(settings, "gazette").stories)["https://gazette.example/news/regatta"]
    assert regatta.published_at == datetime(2026, 11, 27, 0, 0, tzinfo=UTC)  # 09:00 JST


def test_rss10_and_rss091(tmp_path: Path, feeds: FeedServer) -> None:
    rdf = feeds.file("/rss10.rdf", CORPUS / "rss10.xml", content_type="application/rdf+xml")
    old = feeds.file("/rss091.xml", CORPUS / "rss091.xml", content_type="text/xml")
    settings = write_settings(
        tmp_path, f'[sources.rdf]\nurl = "{rdf.url}"\n[sources.old]\nurl = "{old.url}"'
    )
    [bridge] = fetch_one(settings, "rdf").stories
    assert bridge.title == "Neue Brücke eröffnet"
    assert bridge.language == "de"
    assert bridge.author == "Lena Vogt"
    assert bridge.published_at == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
    assert bridge.sections == ("Stadt",)
    [press] = fetch_one(settings, "old").stories
    assert press.title == "Printing press restored" and press.language == "en"
    assert press.published_at == datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_atom_translations_drafts_and_images(tmp_path: Path, feeds: FeedServer) -> None:
    served = feeds.file("/atom", CORPUS / "atom.xml", content_type="application/atom+xml")
    settings = write_settings(tmp_path, f'[sources.cronica]\nurl = "{served.url}"')
    stories = by_id(fetch_one(settings, "cronica").stories)
    es, pt = stories["urn:cronica:puerto:es"], stories["urn:cronica:puerto:pt"]
    assert es.title == "El puerto amplía su muelle"  # tags stripped from a type="html" title
    assert (es.language, pt.language) == ("es", "pt-BR")
    assert es.translation_group is not None and es.translation_group == pt.translation_group
    assert es.published_at == datetime(2026, 11, 28, 5, 0, tzinfo=UTC)
    assert es.updated_at == datetime(2026, 11, 28, 5, 30, tzinfo=UTC)
    assert es.image_url == "https://cronica.example/img/puerto-thumb.jpg"  # media:thumbnail
    assert pt.image_url == "https://cronica.example/img/porto.jpg"  # first image in the body
    assert pt.summary_text == "Obras até 2028."  # from the body when there is no summary
    assert es.sections == ("economía",) and es.author == "Marta Gil"
    assert stories["urn:cronica:borrador"].status is StoryStatus.DRAFT


def test_json_feed(tmp_path: Path, feeds: FeedServer) -> None:
    served = feeds.file("/feed.json", CORPUS / "feed.json", content_type="application/feed+json")
    settings = write_settings(
        tmp_path, f'[sources.lantern]\nkind = "jsonfeed"\nurl = "{served.url}"'
    )
    result = fetch_one(settings, "lantern")
    stories = by_id(result.stories)
    fr, en = stories["lantern-1"], stories["lantern-1-en"]
    assert fr.url == "https://lantern.example/fr/marche"
    assert fr.language == "fr" and en.language == "en"
    assert fr.translation_group == en.translation_group == "t:market-reopens"
    assert fr.author == "La rédaction" and en.author == "Paul Roy"
    assert fr.sections == ("Ville", "Commerce")
    assert "script" not in fr.body_html and "onclick" not in fr.body_html
    assert fr.image_url == "https://lantern.example/img/marche.jpg"
    assert fr.published_at == datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
    assert en.body_html == "<p>After two years of work.</p><p>The stalls are back.</p>"
    assert en.summary_text.startswith("After two years of work.")
    assert stories["lantern-2"].status is StoryStatus.DRAFT
    assert stories["lantern-3"].url == "https://elsewhere.example/story"  # external_url


def test_json_feed_rejects_other_json(tmp_path: Path, feeds: FeedServer) -> None:
    served = feeds.file("/x.json", json.dumps({"items": []}), content_type="application/json")
    settings = write_settings(tmp_path, f'[sources.j]\nkind = "jsonfeed"\nurl = "{served.url}"')
    import pytest

    from distributor.errors import SourceError

    with pytest.raises(SourceError, match="not a JSON Feed"):
        fetch_one(settings, "j")


API_FIELDS = """
items = "@"
pagination = "{pagination}"
max_pages = 5
status_values = {{ publish = "published", future = "scheduled", draft = "draft" }}
[sources.cms.fields]
id = "id"
title = "title.rendered"
url = "link"
summary = "excerpt.rendered"
body = "content.rendered"
language = "meta.lang"
published = "date_gmt"
updated = "modified_gmt"
status = "status"
translation_group = "meta.\\"group\\""
author = "byline"
sections = "sections"
"""


def test_api_with_page_numbers_and_a_token(tmp_path: Path, feeds: FeedServer) -> None:
    pages = {
        "1": (CORPUS / "api_page1.json").read_bytes(),
        "2": (CORPUS / "api_page2.json").read_bytes(),
    }
    seen: list[tuple[str, str | None]] = []

    def handler(request: Request) -> Response:
        seen.append((request.args.get("page", ""), request.headers.get("Authorization")))
        if request.headers.get("Authorization") != "Bearer t0ken":
            return Response('{"code": "rest_forbidden"}', status=401)
        page = request.args.get("page", "1")
        if page not in pages:  # WordPress answers 400 past the last page
            return Response('{"code": "rest_post_invalid_page_number"}', status=400)
        return Response(pages[page], content_type="application/json")

    url = feeds.handler("/wp-json/wp/v2/posts", handler)
    settings = write_settings(
        tmp_path,
        f'[sources.cms]\nkind = "api"\nurl = "{url}?per_page=2"\n'
        + API_FIELDS.format(pagination="page"),
        env={"DISTRIBUTOR_SOURCES_CMS_TOKEN": "t0ken"},
    )
    result = fetch_one(settings, "cms")
    assert [p for p, _ in seen] == ["1", "2", "3"]
    stories = by_id(result.stories)
    assert set(stories) == {"501", "502", "503", "504"}
    tram, tranvia = stories["501"], stories["503"]
    assert tram.title == "Tram line 4 opens – early"
    assert tram.url == "https://cms.example/2026/11/tram"
    assert tram.published_at == datetime(2026, 11, 28, 5, 15, tzinfo=UTC)
    assert tram.translation_group == tranvia.translation_group == "t:tram-4"
    assert (tram.language, tranvia.language) == ("en", "es")
    assert tram.sections == ("city", "transport") and tram.author == "Ana Ruiz"
    assert tram.image_url == "https://cms.example/tram.jpg"
    assert stories["502"].status is StoryStatus.DRAFT
    assert stories["504"].status is StoryStatus.SCHEDULED
    assert result.problems == ()


def test_api_with_next_links(tmp_path: Path, feeds: FeedServer) -> None:
    one = json.loads((CORPUS / "api_page1.json").read_text())
    two = json.loads((CORPUS / "api_page2.json").read_text())
    feeds.file("/api/p2", json.dumps({"data": {"posts": two}, "next": None}))
    feeds.file(
        "/api/p1",
        json.dumps({"data": {"posts": one}, "next": feeds.url("/api/p2")}),
        content_type="application/json",
    )
    cfg = API_FIELDS.format(pagination="next_link").replace('items = "@"', 'items = "data.posts"')
    cfg = cfg.replace("max_pages = 5", 'max_pages = 5\nnext_link = "next"')
    settings = write_settings(
        tmp_path, f'[sources.cms]\nkind = "api"\nurl = "{feeds.url("/api/p1")}"\n{cfg}'
    )
    assert {s.id for s in fetch_one(settings, "cms").stories} == {"501", "502", "503", "504"}


def test_api_with_link_header_and_a_page_loop(tmp_path: Path, feeds: FeedServer) -> None:
    page = (CORPUS / "api_page1.json").read_bytes()
    url = feeds.url("/api/loop")
    feeds.handler(
        "/api/loop",
        lambda r: Response(
            page, content_type="application/json", headers={"Link": f'<{url}>; rel="next"'}
        ),
    )
    settings = write_settings(
        tmp_path,
        f'[sources.cms]\nkind = "api"\nurl = "{url}"\n' + API_FIELDS.format(pagination="next_link"),
    )
    result = fetch_one(settings, "cms")
    assert {s.id for s in result.stories} == {"501", "502"}
    assert any("already read" in p for p in result.problems)


def test_markdown_folder(tmp_path: Path) -> None:
    settings = write_settings(
        tmp_path,
        f'[sources.notes]\nkind = "markdown"\npath = "{CORPUS / "md"}"\n'
        'base_url = "https://notes.example/posts/"\ntimezone = "Europe/Paris"',
    )
    result = fetch_one(settings, "notes")
    stories = {s.title: s for s in result.stories}
    en = stories["Heatwave warning for the coast"]
    fr = stories["Alerte canicule sur la côte"]
    assert en.url == "https://notes.example/posts/heatwave"
    assert (en.language, fr.language) == ("en", "fr")  # from the file names
    assert en.translation_group == fr.translation_group is not None
    assert en.published_at == datetime(2026, 11, 28, 5, 0, tzinfo=UTC)  # 06:00 Paris
    assert "<strong>warning</strong>" in en.body_html and "<script" not in en.body_html
    assert en.image_url == "https://notes.example/img/heat.jpg"
    assert en.sections == ("weather", "coast") and en.author == "Sam Lee"
    assert en.summary_text == "Temperatures above 38 C expected."
    assert stories["Not ready"].status is StoryStatus.DRAFT
    problems = "\n".join(result.problems)
    assert "no-title.md: no title; skipped" in problems
    assert "bad-yaml.md: bad front matter" in problems


def test_translation_pattern_groups_by_url(tmp_path: Path, feeds: FeedServer) -> None:
    item = (
        "<item><title>{t}</title><link>https://p.example/{lang}/{slug}</link>"
        "<pubDate>Sat, 28 Nov 2026 05:00:00 GMT</pubDate></item>"
    )
    body = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>P</title><link>https://p.example/</link>'
        + item.format(t="Bridge", lang="en", slug="bridge")
        + item.format(t="Pont", lang="fr", slug="bridge")
        + item.format(t="Alone", lang="en", slug="alone")
        + "</channel></rss>"
    )
    served = feeds.file("/p.xml", body)
    settings = write_settings(
        tmp_path,
        f'[sources.p]\nurl = "{served.url}"\n'
        "translation_pattern = '^https://p\\.example/[a-z]+/(?P<key>.+)$'",
    )
    groups = {s.title: s.translation_group for s in fetch_one(settings, "p").stories}
    assert groups == {"Bridge": "p:bridge", "Pont": "p:bridge", "Alone": "p:alone"}
