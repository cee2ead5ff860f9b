"""Story archive pages: og:* and twitter:* tags, alternates, RTL, share links, cache, escaping."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlsplit

from lxml import html as lxml_html

from distributor.config import Settings
from distributor.models import ShareCard, Story
from distributor.pipeline import make_links, run
from distributor.render.digest import DigestRenderer
from distributor.render.story_page import (
    CAMPAIGN,
    StoryPage,
    story_page_name,
    story_page_url,
    write_story_page,
)
from distributor.share.cards import CardMaker
from tests.conftest import settings_for, write_config
from tests.social.conftest import story

ARCHIVE = "https://news.example/newsletter/archive"


def _settings(tmp_path: Path) -> Settings:
    return settings_for(write_config(tmp_path))


def _card(settings: Settings, s: Story) -> ShareCard:
    maker = CardMaker(
        settings.data_path("cards"),
        brand_name=settings.newsroom.name,
        brand_color=settings.newsroom.brand_color,
    )
    return maker.card_set(s).og


def _write(settings: Settings, s: Story, translations: Sequence[Story] = ()) -> StoryPage:
    return write_story_page(
        DigestRenderer(settings),
        s,
        links=make_links([s], CAMPAIGN, settings.share)[s.id],
        card=_card(settings, s),
        translations=translations,
        timezone="Europe/Paris",
    )


def _doc(page: StoryPage) -> Any:
    return lxml_html.document_fromstring(page.path.read_text(encoding="utf-8"))


def _metas(doc: Any) -> list[tuple[str, str, str]]:
    """(attribute, key, content) of every meta tag with a property or a name."""
    out = []
    for m in doc.xpath("//head/meta[@property or @name]"):
        attr = "property" if m.get("property") else "name"
        out.append((attr, str(m.get(attr)), str(m.get("content"))))
    return out


def test_page_carries_every_og_and_twitter_tag(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    ar = story(
        "ar",
        id="urn:x:pact:ar",
        translation_group="pact",
        author="ليلى حسن",
        published_at=datetime(2026, 11, 27, 18, 30, tzinfo=UTC),
        summary_html="<p>تواصلت المحادثات طوال الليل.</p>",
        summary_text="تواصلت المحادثات طوال الليل.",
    )
    en = story("en", id="urn:x:pact:en", translation_group="pact")
    ja = story("ja", id="urn:x:pact:ja", translation_group="pact")
    page = _write(settings, ar, [en, ar, ja])
    card = _card(settings, ar)

    name = hashlib.sha256(b"urn:x:pact:ar").hexdigest()[:16]
    assert story_page_name(ar.id) == name
    assert page.path == tmp_path / "var/archive/stories" / f"{name}.html"
    assert page.url == f"{ARCHIVE}/stories/{name}.html" == story_page_url(settings, ar.id)
    assert page.written

    doc = _doc(page)
    assert doc.get("lang") == "ar" and doc.get("dir") == "rtl"
    card_url = f"{ARCHIVE}/stories/cards/{Path(card.path).name}"
    expected = [
        ("property", "og:type", "article"),
        ("property", "og:site_name", "Meridian World News"),
        ("property", "og:title", ar.title),
        ("property", "og:url", ar.url),
        ("property", "og:locale", "ar"),
        ("property", "og:description", "تواصلت المحادثات طوال الليل."),
        ("property", "og:locale:alternate", "en"),
        ("property", "og:locale:alternate", "ja"),
        ("property", "og:image", card_url),
        ("property", "og:image:type", "image/jpeg"),
        ("property", "og:image:width", "1200"),
        ("property", "og:image:height", "630"),
        ("property", "og:image:alt", card.alt_text),
        ("name", "twitter:card", "summary_large_image"),
        ("name", "twitter:title", ar.title),
        ("name", "twitter:image", card_url),
        ("name", "twitter:image:alt", card.alt_text),
    ]
    assert [m for m in _metas(doc) if m[1] not in ("description", "viewport")] == expected
    assert card.alt_text
    # the card is served with the archive: the very file, under its content-hash name
    served = tmp_path / "var/archive/stories/cards" / Path(card.path).name
    assert served.read_bytes() == Path(card.path).read_bytes()
    # alternates: the translations' own pages
    alternates = {a.get("hreflang"): a.get("href") for a in doc.xpath("//link[@rel='alternate']")}
    assert alternates == {
        "en": story_page_url(settings, en.id),
        "ja": story_page_url(settings, ja.id),
    }
    assert doc.xpath("//link[@rel='canonical']/@href") == [ar.url]
    # headline, byline, Babel date in Arabic (Paris time), body, link to the original
    assert doc.xpath("string(//h1)") == ar.title
    assert doc.xpath("string(//*[@class='author'])") == "ليلى حسن"
    date = doc.xpath("string(//time)")
    assert "١١" in date or "11" in date  # Babel's Arabic short date
    assert doc.xpath("//time/@datetime") == ["2026-11-27T18:30:00+00:00"]
    assert doc.xpath("string(//*[@class='body'])").strip() == "تواصلت المحادثات طوال الليل."
    assert doc.xpath("//a[@class='original']/@href") == [ar.url]
    assert doc.xpath("string(//*[contains(@class, 'section')])") == "World"


def test_story_without_translations_or_card_has_no_alternates(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    s = story("en")
    page = write_story_page(
        DigestRenderer(settings),
        s,
        links=(),
        card=None,
    )
    doc = _doc(page)
    keys = [k for _a, k, _v in _metas(doc)]
    assert "og:locale:alternate" not in keys and "og:image" not in keys
    assert doc.get("lang") == "en" and doc.get("dir") == "ltr"
    assert not doc.xpath("//link[@rel='alternate']")
    assert dict((k, v) for _a, k, v in _metas(doc))["twitter:card"] == "summary_large_image"


def test_share_links_for_every_network_percent_encoded_with_utm(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    s = story(
        "en", url="https://news.example/en/pact?ref=home&x=a%2Fb#top", title="Pact & co: 100%"
    )
    doc = _doc(_write(settings, s))
    links = {a.get("data-network"): str(a.get("href")) for a in doc.xpath("//p[@class='share']/a")}
    assert set(links) == set(settings.share.networks)
    for network, href in links.items():
        medium = "email" if network == "email" else "social"
        target = (
            f"https://news.example/en/pact?ref=home&x=a%2Fb&utm_source={network}"
            f"&utm_medium={medium}&utm_campaign={CAMPAIGN}#top"
        )
        # the whole story URL (with its own query and the UTM) is one encoded parameter
        assert quote(target, safe="") in href, network
        assert " " not in href and "#top" not in href
        assert quote(s.title, safe="") in href or network in {"facebook", "linkedin"}
    fb = parse_qs(urlsplit(links["facebook"]).query)["u"][0]
    fb_query = parse_qs(urlsplit(fb).query)
    assert fb_query["utm_source"] == ["facebook"] and fb_query["utm_campaign"] == ["archive"]
    assert fb_query["ref"] == ["home"] and fb_query["x"] == ["a/b"]


def test_hostile_title_and_body_are_escaped(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    title = '<script>alert(1)</script> "Ministers" <b>& co</b>'
    s = story(
        "en",
        title=title,
        body_html='<p onclick="steal()">Body <script>alert(2)</script><a href="javascript:x">l</a></p>',
    )
    page = _write(settings, s)
    raw = page.path.read_text(encoding="utf-8")
    assert "<script>" not in raw and "onclick" not in raw and "javascript:" not in raw
    doc = _doc(page)
    assert doc.xpath("string(//h1)") == title  # shown as text, not markup
    metas = {k: v for _a, k, v in _metas(doc)}
    assert metas["og:title"] == title == metas["twitter:title"]
    assert doc.xpath("string(//title)").startswith(title)
    assert not doc.xpath("//script") and not doc.xpath("//h1/b")


def test_cache_rewrites_only_what_changed(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    s = story("en")
    first = _write(settings, s)
    stamp = first.path.stat().st_mtime_ns
    second = _write(settings, s)
    assert first.written and not second.written
    assert second.path.stat().st_mtime_ns == stamp
    changed = _write(settings, story("en", title="A corrected headline"))
    assert changed.written and changed.path == first.path
    assert "A corrected headline" in changed.path.read_text(encoding="utf-8")


def test_run_writes_story_pages_links_them_and_caches(tmp_path: Path, make_context: Any) -> None:
    settings = _settings(tmp_path)
    report = run(make_context(settings))
    assert report.ok, report.errors
    stories_dir = tmp_path / "var/archive/stories"
    pages = sorted(stories_dir.glob("*.html"))
    assert pages and report.story_pages_written == len(pages)
    # the edition pages link their stories' titles to the story pages
    linked = set()
    for edition in (tmp_path / "var/archive/daily").rglob("*.html"):
        doc = lxml_html.document_fromstring(edition.read_text(encoding="utf-8"))
        for href in doc.xpath("//a[@class='title-link']/@href"):
            assert href.startswith(f"{ARCHIVE}/stories/"), href
            linked.add(href.removeprefix(f"{ARCHIVE}/stories/"))
    assert linked and linked <= {p.name for p in pages}
    # the sample's translated stories name each other
    ar_pages = [p for p in pages if lxml_html.parse(str(p)).getroot().get("lang") == "ar"]
    assert ar_pages
    alternates = [
        a
        for p in ar_pages
        for a in lxml_html.parse(str(p)).getroot().xpath("//meta[@property='og:locale:alternate']")
    ]
    assert alternates
    stamps = {p: p.stat().st_mtime_ns for p in pages}

    again = run(make_context(settings))
    assert again.story_pages_written == 0 and again.cards_made == 0
    assert {p: p.stat().st_mtime_ns for p in stories_dir.glob("*.html")} == stamps


def test_a_page_that_cannot_be_written_is_reported_and_the_run_goes_on(
    tmp_path: Path, make_context: Any
) -> None:
    settings = _settings(tmp_path)
    (tmp_path / "var/archive").mkdir(parents=True)
    (tmp_path / "var/archive/stories").write_text("not a folder", encoding="utf-8")
    report = run(make_context(settings))
    assert report.emails.sent > 0 and report.posts.sent > 0
    assert report.story_pages_written == 0
    assert any(e.stage == "archive" for e in report.errors)
    # the edition pages are still written, their titles linking the stories themselves
    assert list((tmp_path / "var/archive/daily").rglob("*.html"))
