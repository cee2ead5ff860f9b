"""Languages: gettext catalogs complete for every sample language, locale formats, subjects."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from distributor.config import Settings
from distributor.render import i18n
from distributor.render.digest import DigestRenderer
from tests.digests.conftest import (
    LANGUAGES,
    edition_for,
    links_for,
    make_stories,
    parse,
    subscriber,
)

ROOT = Path(__file__).resolve().parents[2]


def extracted_ids() -> set[str | tuple[str, str]]:
    """Every message id the templates and the render code ask gettext for."""
    ids: set[str | tuple[str, str]] = set()
    options = {
        "**.j2": {"extensions": "jinja2.ext.i18n", "trim_blocks": "true", "lstrip_blocks": "true"}
    }
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT / "templates" / "email"), method_map=[("**.j2", "jinja2")], options_map=options
    ):
        ids.add(message if isinstance(message, str) else (message[0], message[1]))
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(ROOT / "distributor" / "render"), method_map=[("**.py", "python")]
    ):
        ids.add(message if isinstance(message, str) else (message[0], message[1]))
    return ids


#: every language the sample newsroom and issue 15 name: its readers' pages and mail are
#: wholly in it (folder names: pt_BR)
CATALOG_LANGUAGES = (*LANGUAGES, "de", "pt", "pt_BR", "he")


def _sample_languages() -> set[str]:
    """Every language the sample newsroom publishes in or has a reader in (folder names)."""
    import csv

    from lxml import etree

    sample = ROOT / "config" / "sample"
    feed = etree.parse(str(sample / "newsroom.atom.xml"))
    langs = {str(x) for x in feed.xpath("//@xml:lang")}
    with (sample / "subscribers.csv").open(encoding="utf-8", newline="") as fh:
        langs |= {row["language"] for row in csv.DictReader(fh)}
    return {lang.replace("-", "_") for lang in langs}


def test_the_catalog_tests_cover_every_language_of_the_sample() -> None:
    """The tests below check these languages' catalogs; the sample must not outgrow them."""
    langs = _sample_languages()
    assert {"en", "ar", "ja", "es", "fr", "de", "pt_BR"} <= langs
    assert langs <= set(CATALOG_LANGUAGES), sorted(langs - set(CATALOG_LANGUAGES))


def test_every_sample_language_has_a_complete_catalog() -> None:
    assert {x.replace("_", "-") for x in CATALOG_LANGUAGES} <= set(i18n.catalog_languages())
    wanted = extracted_ids()
    assert "Read more" in wanted and "Hello %(name)s," in wanted
    assert "Read more: %(title)s" in wanted and "In other languages" in wanted
    assert ("%(num)s story in this edition", "%(num)s stories in this edition") in wanted
    for lang in CATALOG_LANGUAGES:
        path = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "digest.po"
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        have = {m.id if isinstance(m.id, str) else (m.id[0], m.id[1]): m for m in catalog if m.id}
        missing = wanted - set(have)
        assert not missing, f"{lang}: untranslated {missing}"
        for msgid, message in have.items():
            strings = message.string if isinstance(message.string, tuple) else (message.string,)
            assert all(strings), f"{lang}: empty translation of {msgid!r}"
            assert len(strings) == (catalog.num_plurals if isinstance(msgid, tuple) else 1)
        # babel's own checks: python-format placeholders agree with the msgid
        problems = [(m.id, errs) for m, errs in catalog.check() if errs]
        assert not problems, problems


@pytest.mark.parametrize(
    ("lang", "read_more", "date", "subject_part"),
    [
        ("en", "Read more", "November 28, 2026", "Meridian Daily · November 28, 2026: "),
        ("ar", "اقرأ المزيد", "28 نوفمبر 2026", "Meridian Daily · 28 نوفمبر 2026: "),
        ("ja", "続きを読む", "2026年11月28日", "【Meridian Daily】"),
        (
            "es",
            "Seguir leyendo",
            "28 de noviembre de 2026",
            "Meridian Daily · 28 de noviembre de 2026: ",
        ),
        ("fr", "Lire la suite", "28 novembre 2026", "Meridian Daily · 28 novembre 2026\u00a0: "),
        ("de", "Weiterlesen", "28. November 2026", "Meridian Daily · 28. November 2026: "),
        (
            "pt-BR",
            "Continuar lendo",
            "28 de novembro de 2026",
            "Meridian Daily · 28 de novembro de 2026: ",
        ),
        ("pt", "Continuar a ler", "28 de novembro de 2026", "Meridian Daily · 28 de novembro"),
    ],
)
def test_digest_speaks_the_language(
    renderer: DigestRenderer,
    settings: Settings,
    now: datetime,
    lang: str,
    read_more: str,
    date: str,
    subject_part: str,
) -> None:
    stories = make_stories(lang, 3)
    edition = edition_for(lang, stories)
    variant = renderer.render(edition, stories, links_for(stories), settings.lists["daily"])
    msg = renderer.personalize(
        variant, subscriber(1, "a@example.com", "Ana", lang), "k/1", settings.lists["daily"], now
    )
    parsed = parse(msg.raw)
    assert subject_part in parsed["Subject"]
    assert stories[0].title in parsed["Subject"]
    for body in (msg.html, msg.text):
        assert read_more in body
        assert date in body
    assert f'<html lang="{lang}" dir="{i18n.direction(lang)}">' in msg.html
    greeting = renderer.personal(
        subscriber(1, "a@example.com", "Ana", lang), "daily", lang
    ).greeting
    assert "Ana" in greeting and greeting in msg.text
    if lang != "en":
        assert "Read more" not in msg.html


def test_plural_forms_and_numbers_follow_the_locale(
    renderer: DigestRenderer, settings: Settings
) -> None:
    cfg = settings.lists["daily"]
    counts = {1: "خبر واحد في هذا العدد", 2: "خبران في هذا العدد", 3: "3 أخبار في هذا العدد"}
    for n, phrase in counts.items():
        stories = make_stories("ar", n)
        variant = renderer.render(edition_for("ar", stories), stories, {}, cfg)
        assert phrase in variant.html and phrase in variant.text
    stories = make_stories("fr", 1)
    variant = renderer.render(edition_for("fr", stories), stories, {}, cfg)
    assert "1 article dans cette édition" in variant.text
    assert i18n.number(1234567, "fr") == "1\u202f234\u202f567"
    assert i18n.number(1234567, "es") == "1.234.567"


def test_language_without_catalog_gets_english_strings_and_its_own_dates(
    renderer: DigestRenderer, settings: Settings
) -> None:
    stories = make_stories("en", 2)
    edition = edition_for("it", stories)
    variant = renderer.render(edition, stories, {}, settings.lists["daily"])
    assert "Read more" in variant.text
    assert "28 novembre 2026" in variant.text
    assert 'lang="it" dir="ltr"' in variant.html


@pytest.mark.parametrize("lang", ["ar", "he", "fa", "ur"])
def test_right_to_left_languages_are_mirrored(
    renderer: DigestRenderer, settings: Settings, lang: str
) -> None:
    stories = make_stories("ar", 2)
    variant = renderer.render(edition_for(lang, stories), stories, {}, settings.lists["daily"])
    html = variant.html
    assert f'<html lang="{lang}" dir="rtl">' in html
    assert (
        'class="container"' in html
        and 'dir="rtl"'
        in html.split('class="container"')[0][-400:] + html.split('class="container"')[1][:400]
    )
    assert 'align="right"' in html and 'align="left"' not in html.replace(
        'class="topbar text pad" align="left"', ""
    )
    assert (
        "text-align:right" in html
        and "text-align:left"
        not in html.replace('text-align:left; padding:8px 24px"', "").split("topbar")[0]
        + html.split("</tr>", 2)[-1]
    )
    # the view-in-browser link sits at the end side: left in a right-to-left layout
    assert 'class="topbar text pad" align="left"' in html
    stack = i18n.font_stack(lang)
    assert stack.split(",")[0] in html


def test_left_to_right_layout_and_font_stacks(renderer: DigestRenderer, settings: Settings) -> None:
    for lang, font in (("en", "Roboto"), ("ja", "Hiragino Sans"), ("fr", "Roboto")):
        stories = make_stories(lang, 2)
        variant = renderer.render(edition_for(lang, stories), stories, {}, settings.lists["daily"])
        assert 'dir="ltr"' in variant.html and 'align="left"' in variant.html
        assert font in variant.html
    assert "Noto Naskh Arabic" in i18n.font_stack("ar")
    assert "Nastaliq" in i18n.font_stack("ur")
    assert "Hebrew" in i18n.font_stack("he")
    assert i18n.direction("pt-BR") == "ltr" and i18n.direction("fa-IR") == "rtl"


def test_languages_listing_for_other_callers() -> None:
    """``i18n.STRINGS`` still lists the digest's languages (the web app offers them)."""
    assert set(LANGUAGES) <= set(i18n.STRINGS)
    assert i18n.STRINGS["ja"]["Read more"] == "続きを読む"
    assert i18n.catalog_strings("fr")["Unsubscribe"] == "Se désabonner"


# ------------------------------------------------------------- reader pages (web.po)
def test_every_reader_page_string_is_translated_in_every_language() -> None:
    """A test that fails when a catalog lacks a string the reader pages or the
    confirmation mail use (``distributor.web.i18n.EN`` lists them)."""
    import string

    from distributor.web.i18n import EN, strings_for

    def fields(text: str) -> set[str]:
        return {f for _, f, _, _ in string.Formatter().parse(text) if f}

    for lang in CATALOG_LANGUAGES:
        path = i18n.LOCALE_DIR / lang / "LC_MESSAGES" / "web.po"
        with path.open("rb") as fh:
            catalog = read_po(fh, locale=lang)
        have = {m.context: m for m in catalog if m.id}
        missing = set(EN) - set(have)
        assert not missing, f"{lang}: web.po lacks {sorted(missing)}"
        for key, english in EN.items():
            message = have[key]
            assert message.id == english, f"{lang}: {key} translates an old English text"
            assert message.string, f"{lang}: empty translation of {key}"
            assert fields(str(message.string)) == fields(english), f"{lang}: {key} placeholders"
        strings = strings_for(lang.replace("_", "-"))
        if lang != "en":
            same = [k for k in EN if strings[k] == EN[k] and k not in _SAME_IN_EN]
            assert not same, f"{lang}: still English: {same}"


# strings that may read the same as the English in a language (a word both use)
_SAME_IN_EN = {"name", "list", "prefs_status"}


def test_a_broken_catalog_is_named_with_its_file_and_line(tmp_path: Path) -> None:
    from distributor.errors import ConfigError

    folder = tmp_path / "fr" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    (folder / "digest.po").write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\nmsgid "Read more"\nmsgstr "Lire"\n'
        "\nthis is not gettext\n",
        encoding="utf-8",
    )
    (folder / "web.po").write_text(
        'msgid ""\nmsgstr ""\n"Language: fr\\n"\n\n#, python-format\n'
        'msgid "Hello %(name)s,"\nmsgstr "Bonjour %(nom)s,"\n',
        encoding="utf-8",
    )
    problems = i18n.check_catalogs(tmp_path)
    where = {(p.path.name, p.line) for p in problems}
    assert ("digest.po", 8) in where
    assert ("web.po", 6) in where
    with pytest.raises(ConfigError, match=r"digest\.po:8"):
        i18n.verify_catalogs(tmp_path)
    assert i18n.check_catalogs() == []  # the shipped catalogs are sound
