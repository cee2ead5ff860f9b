"""Config for issue 15: brand colour contrast (WCAG), topic names per language."""

from __future__ import annotations

from pathlib import Path

import pytest

from distributor.config import contrast_ratio, darker_until_readable
from distributor.errors import ConfigError
from tests.conftest import settings_for, write_config


def _with(tmp_path: Path, newsroom: str = "", web: str = "") -> Path:
    path = write_config(tmp_path)
    text = path.read_text(encoding="utf-8")
    text = text.replace(
        'postal_address = "1 Example Square, Example City"',
        f'postal_address = "1 Example Square, Example City"\n{newsroom}',
    )
    text = text.replace(
        'base_url = "https://news.example/newsletter"',
        f'base_url = "https://news.example/newsletter"\n{web}',
    )
    path.write_text(text, encoding="utf-8")
    return path


def test_contrast_ratio_follows_wcag() -> None:
    assert round(contrast_ratio("#000000", "#ffffff"), 2) == 21.0
    assert round(contrast_ratio("#ffffff", "#ffffff"), 2) == 1.0
    assert round(contrast_ratio("#f5a623", "#fcfcfd"), 2) == 1.98  # the example
    assert contrast_ratio("#0b3d91", "#fcfcfd") > 9
    fixed = darker_until_readable("#f5a623")
    assert contrast_ratio(fixed, "#fcfcfd") >= 4.5 and fixed != "#f5a623"


def test_a_brand_color_the_header_text_cannot_be_read_on_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        settings_for(_with(tmp_path, newsroom='brand_color = "#f5a623"'))
    message = str(err.value)
    assert "newsroom.brand_color" in message and "1.98:1" in message and "4.5:1" in message
    assert darker_until_readable("#f5a623") in message  # a colour that would do


def test_a_readable_brand_color_is_accepted(tmp_path: Path) -> None:
    settings = settings_for(_with(tmp_path, newsroom='brand_color = "#8a4b00"'))
    assert settings.newsroom.brand_color == "#8a4b00"


def test_topic_names_per_language(tmp_path: Path) -> None:
    web = (
        'topics = ["world", "climate"]\n'
        'topic_names = { world = { ar = "العالم", ja = "世界" }, climate = { ar = "المناخ" } }'
    )
    settings = settings_for(_with(tmp_path, web=web))
    assert settings.web.topic_name("world", "ar") == "العالم"
    assert settings.web.topic_name("World", "ja-JP") == "世界"  # a story section's spelling
    assert settings.web.topic_name("climate", "ja") == "climate"  # no Japanese name
    assert settings.web.topic_name("sport", "ar") == "sport"


def test_topic_names_must_name_a_topic(tmp_path: Path) -> None:
    web = 'topics = ["world"]\ntopic_names = { wrold = { ar = "العالم" } }'
    with pytest.raises(ConfigError, match=r"web\.topic_names\.wrold"):
        settings_for(_with(tmp_path, web=web))


@pytest.mark.parametrize("value", ['"section"', '"fill"', '"none"'])
def test_fallback_option(tmp_path: Path, value: str) -> None:
    path = write_config(tmp_path, list_extra=f'fallback = {value}\nempty_language = "skip"')
    cfg = settings_for(path).lists["daily"]
    assert cfg.fallback == value.strip('"') and cfg.empty_language == "skip"


def test_unknown_fallback_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"lists\.daily\.fallback"):
        settings_for(write_config(tmp_path, list_extra='fallback = "mix"'))
