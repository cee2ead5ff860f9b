"""The digest HTML uses nothing caniemail.com marks unsupported in Gmail or Apple Mail,
and lays out with tables for Outlook (see distributor/render/compat.py, docs/digests.md)."""

from __future__ import annotations

import pytest
from lxml import html as lxml_html

from distributor.config import Settings
from distributor.render.compat import check_email_html
from distributor.render.digest import DigestRenderer
from tests.digests.conftest import LANGUAGES, edition_for, links_for, make_stories


@pytest.mark.parametrize("lang", LANGUAGES)
def test_digest_passes_the_client_support_check(
    renderer: DigestRenderer, settings: Settings, lang: str
) -> None:
    stories = make_stories(lang, 10)
    settings_logo = settings.model_copy(
        update={
            "newsroom": settings.newsroom.model_copy(
                update={"logo_url": "https://news.example/logo.png"}
            )
        }
    )
    logo_renderer = DigestRenderer(settings_logo)
    for r in (renderer, logo_renderer):
        variant = r.render(
            edition_for(lang, stories), stories, links_for(stories), settings.lists["daily"]
        )
        assert check_email_html(variant.html) == []


def test_layout_is_tables_with_sized_images(renderer: DigestRenderer, settings: Settings) -> None:
    stories = make_stories("en", 5)
    variant = renderer.render(
        edition_for("en", stories), stories, links_for(stories), settings.lists["daily"]
    )
    doc = lxml_html.document_fromstring(variant.html)
    body = doc.find("body")
    assert body is not None
    children = [c for c in body if isinstance(c.tag, str)]
    # a hidden preheader, then the whole mail in one presentation table
    assert children[0].tag == "div" and "display:none" in children[0].get("style", "").replace(
        " ", ""
    )
    assert [c.tag for c in children[1:]] == ["table"]
    assert children[1].get("role") == "presentation"
    assert len(doc.xpath("//div")) == 1  # the preheader only: no div layout
    container = doc.xpath("//table[contains(@class, 'container')]")[0]
    assert container.get("width") == "600"
    for img in doc.xpath("//img"):
        # every image has an alt attribute; the lead image's is empty (decorative: the
        # title next to it says the same, and its link is hidden from screen readers)
        assert img.get("width") and img.get("height") and img.get("alt") is not None
    # media queries stay in the <style> block after inlining, !important kept
    style = doc.xpath("//style")[0].text
    assert "@media only screen and (max-width: 620px)" in style and "!important" in style
    # Outlook gets the fixed-width ghost table
    assert "<!--[if mso]>" in variant.html


@pytest.mark.parametrize(
    ("markup", "expected"),
    [
        ('<div style="display:flex">x</div>', "display: flex"),
        ('<table><tr><td style="display: grid">x</td></tr></table>', "display: grid"),
        ('<p style="position:absolute">x</p>', "'position'"),
        ('<p style="width: calc(100% - 2px)">x</p>', "calc("),
        ('<p style="color: var(--x)">x</p>', "var("),
        ("<svg></svg>", "<svg>"),
        ('<img src="a.png" width="1" height="1">', "no alt"),
        ('<img src="a.svg" width="1" height="1" alt="">', "SVG image"),
        ("<style>@font-face { font-family: x; }</style>", "@font-face"),
        (
            "<style>@media (prefers-color-scheme: dark) { .a { color: red; } }</style>",
            "prefers-color-scheme",
        ),
        ("<style>#main { color: red; }</style>", "selector"),
        ("<style>[data-ogsc] .a { color: red; }</style>", "selector"),
        ('<link rel="stylesheet" href="x.css">', "external stylesheet"),
        ('<img src="a.png" srcset="b.png 2x" width="1" height="1" alt="">', "srcset"),
        ('<p style="font-size: 1.2rem">x</p>', "1.2rem"),
    ],
)
def test_the_check_finds_unsupported_features(markup: str, expected: str) -> None:
    findings = [str(f) for f in check_email_html(f"<html><body>{markup}</body></html>")]
    assert any(expected in f for f in findings), findings
