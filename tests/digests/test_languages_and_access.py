"""Issue 15 in the digest: own language first, mixed directions, accessible markup,
per-language list titles."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from lxml import html as lxml_html

from distributor.config import Settings
from distributor.render.digest import DigestRenderer
from tests.conftest import settings_for, write_config
from tests.digests.conftest import edition_for, links_for, make_stories, parse, subscriber


def _doc(markup: str) -> lxml_html.HtmlElement:
    return lxml_html.document_fromstring(markup)


def test_an_english_fallback_in_an_arabic_digest_reads_and_aligns_left_to_right(
    renderer: DigestRenderer, settings: Settings
) -> None:
    ar, en = make_stories("ar", 2), make_stories("en", 2)
    stories = [*en[:1], *ar, *en[1:]]  # a caller's order: the renderer puts Arabic first
    variant = renderer.render(edition_for("ar", stories), stories, {}, settings.lists["daily"])
    doc = _doc(variant.html)
    blocks = doc.xpath("//td[h2]")
    assert [b.get("lang") for b in blocks] == ["ar", "ar", "en", "en"]
    for block in blocks:
        rtl = block.get("lang") == "ar"
        side = "right" if rtl else "left"
        assert block.get("dir") == ("rtl" if rtl else "ltr")
        assert block.get("align") == side  # on the story itself, not inherited
        assert f"text-align:{side}" in block.get("style").replace(" ", "")
    # the English ones come under their own part, labelled in Arabic, their language named
    labels = [
        td.text_content().strip() for td in doc.xpath("//td[contains(@class,'section-label')]")
    ]
    assert labels == ["أخبار أخرى", "بلغات أخرى"]
    assert "الإنجليزية" in blocks[2].text_content()
    # the interface inside an English block stays Arabic, marked as such
    read_more = blocks[2].xpath(".//a[@aria-label]")[0]
    assert read_more.text_content() == "اقرأ المزيد"
    assert read_more.getparent().get("lang") == "ar"
    assert "بلغات أخرى" in variant.text
    assert variant.subject.endswith(ar[0].title)


def test_fallback_fill_keeps_one_list(tmp_path: Path) -> None:
    settings = settings_for(write_config(tmp_path, list_extra='fallback = "fill"'))
    renderer = DigestRenderer(settings)
    stories = [*make_stories("fr", 2), *make_stories("en", 2)]
    variant = renderer.render(edition_for("fr", stories), stories, {}, settings.lists["daily"])
    labels = [
        td.text_content().strip()
        for td in _doc(variant.html).xpath("//td[contains(@class,'section-label')]")
    ]
    assert labels == ["Autres articles"]
    assert "Dans d’autres langues" not in variant.text


def test_headings_link_context_and_alt_text(renderer: DigestRenderer, settings: Settings) -> None:
    stories = make_stories("en", 4)
    variant = renderer.render(
        edition_for("en", stories), stories, links_for(stories), settings.lists["daily"]
    )
    doc = _doc(variant.html)
    assert [h.text_content() for h in doc.xpath("//h1")] == ["Meridian Daily"]
    h2 = doc.xpath("//h2")
    assert [h.text_content() for h in h2] == [s.title for s in stories]
    assert not doc.xpath("//p[contains(@class,'story-title') or contains(@class,'lead-title')]")
    for h in h2:  # styles inlined on the heading itself
        assert "font-size" in h.get("style") and "margin" in h.get("style")
    more = [a for a in doc.xpath("//a") if a.text_content() == "Read more"]
    assert len(more) == 4
    assert [a.get("aria-label") for a in more] == [f"Read more: {s.title}" for s in stories]
    shares = doc.xpath("//p[contains(@class,'share')]/a")
    assert shares and all(a.get("aria-label", "").startswith("Share on ") for a in shares)
    assert f"Share on X: {stories[0].title}" in {a.get("aria-label") for a in shares}
    (img,) = doc.xpath("//img")
    assert img.get("alt") == ""  # decorative: the heading next to it is the title
    link = img.getparent()
    assert link.get("aria-hidden") == "true" and link.get("tabindex") == "-1"


def test_list_title_and_description_per_language(tmp_path: Path, now: datetime) -> None:
    path = write_config(tmp_path)
    text = path.read_text(encoding="utf-8").replace(
        'title = "Meridian Daily"',
        'title = { en = "Meridian Daily", ar = "ميريديان اليومية", ja = "メリディアン・デイリー" }\n'
        'description = { en = "The day\'s news.", ar = "أخبار اليوم." }',
    )
    path.write_text(text, encoding="utf-8")
    settings = settings_for(path)
    cfg = settings.lists["daily"]
    assert cfg.title == "Meridian Daily" and cfg.title_in("ar-EG") == "ميريديان اليومية"
    assert cfg.description_in("ja") == "The day's news."  # none in Japanese: the default
    renderer = DigestRenderer(settings)
    for lang, title in (
        ("ar", "ميريديان اليومية"),
        ("ja", "メリディアン・デイリー"),
        ("fr", "Meridian Daily"),
    ):
        stories = make_stories(lang, 1)
        variant = renderer.render(edition_for(lang, stories), stories, {}, cfg)
        assert title in variant.subject
        assert _doc(variant.html).xpath("//h1")[0].text_content() == title
        msg = renderer.personalize(variant, subscriber(1, "a@example.com", "", lang), "k", cfg, now)
        assert title in parse(msg.raw)["Subject"]
        assert title in msg.text  # the footer names the list in the reader's language


@pytest.mark.parametrize(
    "bad",
    [
        "title = { en = 3 }",
        'title = { "not a tag!" = "x" }',
    ],
)
def test_a_bad_per_language_title_is_a_config_error(tmp_path: Path, bad: str) -> None:
    from distributor.errors import ConfigError

    path = write_config(tmp_path)
    path.write_text(
        path.read_text(encoding="utf-8").replace('title = "Meridian Daily"', bad), encoding="utf-8"
    )
    with pytest.raises(ConfigError, match=r"lists\.daily"):
        settings_for(path)


def test_a_name_in_another_script_is_isolated_in_the_greeting(
    renderer: DigestRenderer, settings: Settings, now: datetime
) -> None:
    cfg = settings.lists["daily"]
    for lang, name in (("en", "ليلى حداد"), ("ar", "Ada O'Brien")):
        stories = make_stories(lang, 1)
        variant = renderer.render(edition_for(lang, stories), stories, {}, cfg)
        msg = renderer.personalize(
            variant, subscriber(1, "a@example.com", name, lang), "k", cfg, now
        )
        isolated = f"\u2068{name}\u2069"
        assert isolated in msg.text
        assert isolated in msg.html.replace("&#39;", "'").replace("&#x27;", "'")
        naive = renderer.naive_message(
            edition_for(lang, stories),
            stories,
            {},
            cfg,
            subscriber(1, "a@example.com", name, lang),
            "k",
            now,
        )
        assert isolated in naive.text
