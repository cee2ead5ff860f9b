"""Source configuration (a union on ``kind``) and the normalization helpers."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from distributor.config import (
    ApiSourceConfig,
    FeedSourceConfig,
    JsonFeedSourceConfig,
    MarkdownSourceConfig,
)
from distributor.errors import ConfigError
from distributor.sources.normalize import (
    canonical_url,
    first_image,
    language_tag,
    normalized_title,
    parse_time,
)
from tests.conftest import ROOT
from tests.sources.conftest import write_settings


def test_each_kind_is_its_own_model(tmp_path: Path) -> None:
    settings = write_settings(
        tmp_path,
        """
[sources.plain]
url = "feed.xml"
[sources.explicit]
kind = "feed"
url = "https://x.example/feed"
[sources.json]
kind = "jsonfeed"
url = "https://x.example/feed.json"
[sources.cms]
kind = "api"
url = "https://cms.example/posts"
[sources.cms.fields]
title = "title.rendered"
[sources.notes]
kind = "markdown"
path = "notes"
""",
    )
    kinds = {name: type(cfg) for name, cfg in settings.sources.items()}
    assert kinds == {
        "plain": FeedSourceConfig,  # no kind: a feed, as before
        "explicit": FeedSourceConfig,
        "json": JsonFeedSourceConfig,
        "cms": ApiSourceConfig,
        "notes": MarkdownSourceConfig,
    }
    cms = settings.sources["cms"]
    assert isinstance(cms, ApiSourceConfig) and cms.fields.title == "title.rendered"
    assert cms.fields.url == "url" and cms.token is None


def test_the_default_config_still_reads(tmp_path: Path) -> None:
    from distributor.config import load_settings

    settings = load_settings(
        ROOT / "config" / "distributor.toml", environ={"DISTRIBUTOR_DATA_DIR": str(tmp_path)}
    )
    assert isinstance(settings.sources["meridian"], FeedSourceConfig)


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            'kind = "gopher"\nurl = "x"',
            "sources.s.kind: unknown value 'gopher' \\(expected one of 'feed'",
        ),
        ('kind = "markdown"\nurl = "x"', "unknown key 'sources.s.url'"),
        ('kind = "api"', r"sources\.s\.url: required key is missing"),
        ('url = "x"\npath = "y"', "unknown key 'sources.s.path'"),
        ('url = "x"\ntranslation_pattern = "(["', "not a valid regular expression"),
        ('kind = "api"\nurl = "x"\npagination = "cursor"', r"sources\.s\.pagination"),
        ('kind = "api"\nurl = "x"\nstatus_values = { live = "gone" }', r"status_values\.live"),
    ],
)
def test_bad_source_sections_are_named(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        write_settings(tmp_path, f"[sources.s]\n{section}")


def test_api_token_comes_from_the_environment_only(tmp_path: Path) -> None:
    sources = '[sources.cms]\nkind = "api"\nurl = "https://cms.example/posts"'
    settings = write_settings(tmp_path, sources, env={"DISTRIBUTOR_SOURCES_CMS_TOKEN": "s3cret"})
    cms = settings.sources["cms"]
    assert isinstance(cms, ApiSourceConfig) and cms.token is not None
    assert cms.token.get_secret_value() == "s3cret" and "s3cret" not in repr(settings)
    with pytest.raises(ConfigError, match="set DISTRIBUTOR_SOURCES_CMS_TOKEN in the environment"):
        write_settings(tmp_path, sources + '\ntoken = "inline"')


def test_canonical_url() -> None:
    assert (
        canonical_url("HTTPS://News.Example:443/a/b?utm_source=x&id=3&UTM_Medium=y&gclid=1#frag")
        == "https://news.example/a/b?id=3"
    )
    assert canonical_url("http://x.example:8080?fbclid=1") == "http://x.example:8080/"
    assert canonical_url("/rel", "https://x.example/a/") == "https://x.example/rel"
    assert canonical_url("javascript:alert(1)") is None
    assert canonical_url("mailto:a@b.example") is None
    assert canonical_url("   ") is None


def test_language_tags() -> None:
    assert language_tag("en_us") == "en-US"
    assert language_tag("PT-br") == "pt-BR"
    assert language_tag("zh-hant-tw") == "zh-Hant-TW"
    assert language_tag("eng") == "en"
    assert language_tag("not a language!") is None
    assert language_tag("") is None and language_tag(None) is None


def test_times() -> None:
    paris = ZoneInfo("Europe/Paris")
    assert parse_time("2026-11-28T06:00:00", paris) == datetime(2026, 11, 28, 5, tzinfo=UTC)
    assert parse_time("2026-11-28T06:00:00Z", paris) == datetime(2026, 11, 28, 6, tzinfo=UTC)
    assert parse_time("Sat, 28 Nov 2026 06:00:00 +0100", paris) == datetime(
        2026, 11, 28, 5, tzinfo=UTC
    )
    assert parse_time(1_795_845_600, paris) == datetime(2026, 11, 28, 6, tzinfo=UTC)
    assert parse_time(1_795_845_600_000, paris) == datetime(2026, 11, 28, 6, tzinfo=UTC)  # ms
    assert parse_time(None, paris) is None and parse_time("", paris) is None
    for bad in ("yesterday-ish", True, ["2026"]):
        with pytest.raises(ValueError):
            parse_time(bad, paris)
    with pytest.raises(ValueError, match="unknown time zone"):
        parse_time("Sat, 28 Nov 2026 06:00:00 XYZT", paris)


def test_first_image_and_titles() -> None:
    assert first_image('<p>x</p><img alt="" src="/a.png"><img src="/b.png">') == "/a.png"
    assert first_image("<p>no image</p>") is None
    assert normalized_title("Storm: hits the COAST!") == normalized_title("storm hits the coast")


def test_the_readme_example_is_valid(tmp_path: Path) -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("<!-- sources: issue 3 -->", 1)[1].split("\n## ", 1)[0]
    example = section.split("```toml\n", 1)[1].split("```", 1)[0]
    settings = write_settings(tmp_path, example, env={"DISTRIBUTOR_SOURCES_CMS_TOKEN": "t"})
    assert {n: c.kind for n, c in settings.sources.items()} == {
        "world": "feed",
        "lantern": "jsonfeed",
        "cms": "api",
        "notes": "markdown",
    }
