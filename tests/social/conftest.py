"""Fixtures of the social area: stories in many scripts, font checks, settings for channels."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from distributor.config import Settings
from distributor.models import Story, StoryStatus
from distributor.share.fonts import FontChain
from tests.conftest import settings_for, write_config

HEADLINES = {
    "en": "Ministers agree on a new climate pact after a record-breaking night of talks",
    "ru": "Министры согласовали новый климатический пакт после рекордной ночи переговоров",
    "el": "Οι υπουργοί συμφώνησαν σε νέο σύμφωνο για το κλίμα μετά από μια νύχτα συνομιλιών",
    "ar": "وزراء يتفقون على ميثاق مناخي جديد بعد ليلة مفاوضات قياسية",
    "he": "השרים הסכימו על אמנת אקלים חדשה לאחר לילה של שיחות",
    "hi": "रिकॉर्ड तोड़ बातचीत की रात के बाद मंत्रियों ने नए जलवायु समझौते पर सहमति जताई",
    "zh": "部长们在创纪录的谈判之夜后就新的气候公约达成一致",
    "ja": "記録的な夜の交渉の末、閣僚が新たな気候協定で合意",
    "ko": "장관들, 기록적인 밤샘 협상 끝에 새로운 기후 협약에 합의",
    "es": "Los ministros acuerdan un nuevo pacto climático 🌍👩🏽‍🔬🇺🇳",
}


def story(lang: str = "en", title: str | None = None, **kw: Any) -> Story:
    """A published story in ``lang``."""
    fields: dict[str, Any] = {
        "id": kw.pop("id", f"story-{lang}"),
        "source": "test",
        "url": kw.pop("url", f"https://news.example/{lang}/climate-pact?ref=home"),
        "title": title if title is not None else HEADLINES[lang],
        "language": lang,
        "status": StoryStatus.PUBLISHED,
        "published_at": None,
        "sections": kw.pop("sections", ("World",)),
        "summary_text": kw.pop("summary_text", "Talks ran through the night."),
    }
    fields.update(kw)
    return Story(**fields)


def chain_covers(lang: str, text: str) -> bool:
    """Whether the font chain of ``lang`` has a face for every grapheme of ``text``."""
    return all(r.face is not None for r in FontChain(lang).runs(text))


def need_fonts(lang: str) -> None:
    """Skip (with the reason) when this machine has no font for ``lang``'s headline."""
    if not chain_covers(lang, HEADLINES[lang]):
        pytest.skip(
            f"no installed font covers the {lang} headline; run scripts/ensure-fonts.sh as "
            "root (Debian: fonts-noto-core fonts-noto-cjk fonts-noto-color-emoji)"
        )


def png_bytes(
    size: tuple[int, int] = (800, 600), color: tuple[int, int, int] = (200, 30, 30)
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def channel_settings(tmp_path: Path, social: str, env: dict[str, str] | None = None) -> Settings:
    """Settings on the sample newsroom with the given ``[social.*]`` sections."""
    return settings_for(write_config(tmp_path, social=social), env or {})


@pytest.fixture
def sample_story() -> Story:
    return story("en")
