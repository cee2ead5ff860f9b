"""Configuration keys from the environment (``DISTRIBUTOR_<SECTION>_<KEY>``), and the
warnings of ``config check`` and ``serve`` about links."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from distributor.cli import main
from distributor.envconfig import variable
from distributor.errors import ConfigError
from distributor.service.site import config_warnings, link_warnings
from tests.conftest import settings_for, write_config


def test_the_naming_rule() -> None:
    assert variable("web", "base_url") == "DISTRIBUTOR_WEB_BASE_URL"
    assert variable("lists", "morning-news", "max_stories") == (
        "DISTRIBUTOR_LISTS_MORNING_NEWS_MAX_STORIES"
    )


def test_environment_wins_over_the_file(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    env = {
        "DISTRIBUTOR_WEB_BASE_URL": "http://localhost:8765",
        "DISTRIBUTOR_WEB_TOPICS": "world, climate",
        "DISTRIBUTOR_WEB_SECURE_COOKIES": "false",
        "DISTRIBUTOR_NEWSROOM_NAME": "The Evening Lantern",
        "DISTRIBUTOR_LISTS_DAILY_MAX_STORIES": "3",
        "DISTRIBUTOR_LISTS_DAILY_LOCAL_TIME": "yes",
        "DISTRIBUTOR_SCHEDULER_POLL_MINUTES": "2.5",
        "DISTRIBUTOR_LISTS_NOSUCH_MAX_STORIES": "4",  # no such list: ignored
    }
    settings = settings_for(path, env)
    assert settings.web.base_url == "http://localhost:8765"
    assert settings.web.topics == ("world", "climate")
    assert settings.web.secure_cookies is False
    assert settings.newsroom.name == "The Evening Lantern"
    assert settings.lists["daily"].max_stories == 3
    assert settings.lists["daily"].local_time is True
    assert settings.scheduler.poll_minutes == 2.5
    assert set(settings.lists) == {"daily"}
    # without the variables, the file's values
    plain = settings_for(path)
    assert plain.web.base_url == "https://news.example/newsletter"
    assert plain.lists["daily"].max_stories == 10


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("DISTRIBUTOR_LISTS_DAILY_MAX_STORIES", "many", "must be a whole number"),
        ("DISTRIBUTOR_WEB_SECURE_COOKIES", "perhaps", "must be true or false"),
        ("DISTRIBUTOR_SCHEDULER_POLL_MINUTES", "often", "must be a number"),
    ],
)
def test_a_bad_value_names_the_variable(tmp_path: Path, name: str, value: str, says: str) -> None:
    with pytest.raises(ConfigError) as err:
        settings_for(write_config(tmp_path), {name: value})
    assert str(err.value).startswith(f"{name}: {says}")


def test_a_value_out_of_range_is_refused_like_the_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"lists\.daily\.max_stories"):
        settings_for(write_config(tmp_path), {"DISTRIBUTOR_LISTS_DAILY_MAX_STORIES": "0"})


def test_config_check_warns_about_plain_http_on_a_public_host(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    public = settings_for(path, {"DISTRIBUTOR_WEB_BASE_URL": "http://news.example/newsletter"})
    [warning] = config_warnings(public)
    assert warning.startswith("web.base_url is plain http on a public host")
    assert "RFC 8058" in warning
    for fine in ("https://news.example", "http://localhost:8000", "http://127.0.0.1:9000"):
        assert config_warnings(settings_for(path, {"DISTRIBUTOR_WEB_BASE_URL": fine})) == []

    runner = CliRunner()
    env = {"DISTRIBUTOR_WEB_BASE_URL": "http://news.example"}
    out = runner.invoke(main, ["--config", str(path), "config", "check", "--json"], env=env)
    assert out.exit_code == 0, out.output
    assert json.loads(out.stdout)["warnings"] == config_warnings(settings_for(path, env))
    out = runner.invoke(main, ["--config", str(path), "config", "check"], env=env)
    assert "warning: web.base_url is plain http on a public host" in out.stderr


def test_serve_warns_when_links_would_miss_it(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    local = settings_for(path, {"DISTRIBUTOR_WEB_BASE_URL": "http://localhost:8000"})
    [warning] = link_warnings(local, "127.0.0.1", 8765)
    assert "links point to http://localhost:8000" in warning
    assert "DISTRIBUTOR_WEB_BASE_URL=http://localhost:8765" in warning
    assert link_warnings(local, "127.0.0.1", 8000) == []
    # a public base URL is a proxy in front of the server: nothing to say
    assert link_warnings(settings_for(path), "127.0.0.1", 8765) == []
