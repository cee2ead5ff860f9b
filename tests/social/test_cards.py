"""Share cards: sizes, byte budgets, glyph coverage per script, RTL order, the cache."""

from __future__ import annotations

import io
import os
import random
from pathlib import Path

import pytest
from PIL import Image

from distributor.share.cards import (
    OG_MAX_BYTES,
    THUMB_MAX_BYTES,
    CardMaker,
    TextSetter,
    break_units,
    jpeg_under,
)
from distributor.share.fonts import FontChain, coverage
from tests.social.conftest import HEADLINES, need_fonts, story


def maker(tmp_path: Path) -> CardMaker:
    return CardMaker(tmp_path / "cards", brand_name="Meridian World News", brand_color="#0b3d91")


@pytest.mark.parametrize("lang", sorted(HEADLINES))
def test_every_script_has_a_font_for_every_glyph(lang: str) -> None:
    need_fonts(lang)
    chain = FontChain(lang)
    runs = chain.runs(HEADLINES[lang])
    assert "".join(r.text for r in runs) == HEADLINES[lang]
    for run in runs:
        assert run.face is not None
        # checked independently against the face's character map (fontTools)
        needed = {ord(c) for c in run.text} - {0x200D, 0xFE0F}
        assert needed <= coverage(run.face), (lang, run.text, run.face)


def test_scripts_get_their_own_fonts() -> None:
    for lang in ("ar", "he", "hi", "ja", "es"):
        need_fonts(lang)
    assert "Arabic" in FontChain("ar").runs(HEADLINES["ar"])[0].face.path  # type: ignore[union-attr]
    assert "Hebrew" in FontChain("he").runs(HEADLINES["he"])[0].face.path  # type: ignore[union-attr]
    assert "Devanagari" in FontChain("hi").runs(HEADLINES["hi"])[0].face.path  # type: ignore[union-attr]
    assert "CJK" in FontChain("ja").runs(HEADLINES["ja"])[0].face.path  # type: ignore[union-attr]
    emoji_runs = [r for r in FontChain("es").runs(HEADLINES["es"]) if "🌍" in r.text]
    assert emoji_runs and "Emoji" in emoji_runs[0].face.path  # type: ignore[union-attr]
    # a ZWJ sequence and a flag stay whole grapheme clusters in the emoji run
    assert any("👩🏽\u200d🔬" in r.text for r in FontChain("es").runs(HEADLINES["es"]))


def test_card_sizes_budgets_and_alt_text(tmp_path: Path) -> None:
    need_fonts("ja")
    cards = maker(tmp_path).card_set(story("ja"))
    for card, size in (
        (cards.og, (1200, 630)),
        (cards.square, (1080, 1080)),
        (cards.thumb, (1200, 630)),
    ):
        with Image.open(card.path) as img:
            assert img.size == size == (card.width, card.height)
        assert card.alt_text.startswith(HEADLINES["ja"])
        assert "Meridian World News" in card.alt_text and "World" in card.alt_text
    assert os.path.getsize(cards.og.path) < OG_MAX_BYTES
    with Image.open(cards.thumb.path) as img:
        assert img.format == "JPEG"
    assert os.path.getsize(cards.thumb.path) <= THUMB_MAX_BYTES


def test_jpeg_budget_holds_for_noise() -> None:
    rnd = random.Random(1)
    noise = Image.frombytes(
        "RGB", (1200, 630), bytes(rnd.getrandbits(8) for _ in range(1200 * 630 * 3))
    )
    data = jpeg_under(noise, THUMB_MAX_BYTES)
    assert len(data) <= THUMB_MAX_BYTES
    assert Image.open(io.BytesIO(data)).format == "JPEG"


def test_headline_is_fitted_largest_first_and_ellipsized_last(tmp_path: Path) -> None:
    setter = TextSetter(FontChain("en"), "en")
    short_size, short_lines = setter.fit("Short", width=1072, height=400, max_size=84, min_size=30)
    long_title = " ".join(["Headline"] * 30)
    long_size, long_lines = setter.fit(long_title, width=1072, height=400, max_size=84, min_size=30)
    assert short_size == 84 and short_lines == ["Short"]
    assert long_size < short_size
    for line in long_lines:
        assert setter.width(line, long_size) <= 1072
    huge = " ".join(["Headline"] * 300)
    size, lines = setter.fit(huge, width=1072, height=400, max_size=84, min_size=30)
    assert size == 30 and lines[-1].endswith("…")
    assert len(lines) * 30 * 1.22 <= 400


def test_cjk_wraps_between_ideographs() -> None:
    units = break_units("記録的な夜 ok go")
    assert units[:3] == ["記", "録", "的"]
    assert "ok " in units


def _ink_columns(img: Image.Image, top: int, bottom: int) -> tuple[int, int]:
    gray = img.crop((0, top, img.width, bottom)).convert("L").point(lambda v: 255 if v > 200 else 0)
    box = gray.getbbox()
    assert box is not None
    return box[0], box[2]


def test_rtl_headlines_are_right_aligned_and_shaped(tmp_path: Path) -> None:
    need_fonts("ar")
    m = maker(tmp_path)
    ar = m.draw(story("ar", title="مرحبا"), "og", None)
    en = m.draw(story("en", title="Hello"), "og", None)
    ar_left, ar_right = _ink_columns(ar, 200, 560)
    en_left, en_right = _ink_columns(en, 200, 560)
    assert ar_right > 1100 and ar_left > 400  # flush right
    assert en_left < 100 and en_right < 800  # flush left
    # shaped by raqm: joined Arabic is narrower than its isolated letters side by side
    setter = m.setter("ar")
    assert setter.width("مرحبا", 80) < sum(setter.width(c, 80) for c in "مرحبا")


def _greenish(p: object) -> bool:
    assert isinstance(p, tuple)
    return bool(p[1] - p[2] > 30)


def test_rtl_runs_are_laid_out_right_to_left(tmp_path: Path) -> None:
    need_fonts("he")
    m = maker(tmp_path)
    # Hebrew then an emoji (logical order): the Hebrew word must be to the right of the emoji
    img = m.draw(story("he", title="שלום 🌍"), "og", None)
    band = img.crop((0, 200, 1200, 560))
    colored = [
        x
        for x in range(0, 1200, 2)
        for y in range(0, 360, 4)
        if _greenish(band.getpixel((x, y)))  # the globe's land; text and background are not
    ]
    white = [
        x
        for x in range(0, 1200, 2)
        for y in range(0, 360, 4)
        if band.getpixel((x, y)) == (255, 255, 255)
    ]
    assert colored and white
    assert min(white) > max(colored)  # the emoji (coloured) is left of the Hebrew (white)


def test_cache_renders_nothing_the_second_time(tmp_path: Path) -> None:
    m = maker(tmp_path)
    first = m.card_set(story("en"))
    assert not first.cached
    mtimes = {
        p: os.stat(p).st_mtime_ns for p in (first.og.path, first.square.path, first.thumb.path)
    }
    again = maker(tmp_path).card_set(story("en"))
    assert again.cached and again.og.path == first.og.path
    assert {p: os.stat(p).st_mtime_ns for p in mtimes} == mtimes
    changed = m.card_set(story("en", title="A different headline"))
    assert not changed.cached and changed.og.path != first.og.path
    assert len(list((tmp_path / "cards").glob("*-og.*"))) == 2


def test_glyphs_no_font_has_are_reported_not_boxed(tmp_path: Path) -> None:
    made = maker(tmp_path).card_set(story("en", title="Budget talks \U0010fffd resume"))
    assert made.image_problem and "no installed font has glyphs for" in made.image_problem
    assert "U0010fffd" in made.image_problem  # named (escaped), so an editor can find it
    assert maker(tmp_path).card_set(story("en")).image_problem is None


@pytest.mark.parametrize(("lang", "label"), [("ja", "世界"), ("ar", "العالم")])
def test_the_section_label_is_in_the_storys_language(tmp_path: Path, lang: str, label: str) -> None:
    """Issue 15: the configured topic names (``web.topic_names``) label the card."""
    need_fonts(lang)
    names = {"ja": "世界", "ar": "العالم"}

    def section_label(section: str, language: str) -> str:
        return names.get(language, section) if section.casefold() == "world" else section

    plain = maker(tmp_path)
    local = CardMaker(
        tmp_path / "local",
        brand_name="Meridian World News",
        brand_color="#0b3d91",
        section_label=section_label,
    )
    s = story(lang)
    assert plain.section(s) == "World" and local.section(s) == label
    assert f" · {label} · " in local.alt_text(s) and " · World · " not in local.alt_text(s)
    assert local.fingerprint(s) != plain.fingerprint(s)  # the cached card is redrawn
    cards = local.card_set(s)
    assert cards.image_problem is None and label in cards.og.alt_text
    assert local.section(story("en")) == "World"  # no English name: as written
