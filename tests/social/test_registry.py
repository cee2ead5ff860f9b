"""Every registered social network has a module with docs, config, secrets and a channel test."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

from distributor.config import SOCIAL_SECRETS
from distributor.errors import ConfigError
from distributor.registry import SOCIAL_CHANNELS, social_channel_class
from tests.social.conftest import channel_settings

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]


@pytest.mark.parametrize("provider", sorted(set(SOCIAL_CHANNELS) - {"file"}))
def test_each_network_is_documented_configured_and_tested(provider: str) -> None:
    cls = social_channel_class(provider)
    module = importlib.import_module(cls.__module__)
    assert module.__doc__ and len(module.__doc__) > 100
    assert cls.provider == provider and cls.network == provider
    assert provider in SOCIAL_SECRETS
    tests = (HERE / "test_channels.py").read_text(encoding="utf-8")
    assert re.search(rf'build\(\s*tmp_path,\s*"{provider}"', tests)
    assert f'provider = "{provider}"' in (ROOT / "README.md").read_text(encoding="utf-8")
    assert f'provider = "{provider}"' in (ROOT / "config" / "distributor.toml").read_text(
        encoding="utf-8"
    )


def test_missing_secret_of_an_enabled_network_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        channel_settings(
            tmp_path, '[social.toot]\nprovider = "mastodon"\nbase_url = "https://m.example"'
        )
    assert str(err.value) == (
        "social.toot.access_token: missing secret for enabled provider 'mastodon'; "
        "set DISTRIBUTOR_SOCIAL_TOOT_ACCESS_TOKEN in the environment or .env"
    )
    # disabled: no secret needed, and the dry run can still compose for it
    settings = channel_settings(
        tmp_path,
        '[social.toot]\nprovider = "mastodon"\nenabled = false\nbase_url = "https://m.example"',
    )
    assert settings.social["toot"].provider == "mastodon"


def test_secret_in_the_file_is_refused_and_env_secret_is_masked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="secrets do not belong in the config file"):
        channel_settings(
            tmp_path, '[social.tg]\nprovider = "telegram"\nchat_id = "1"\nbot_token = "123:abc"'
        )
    settings = channel_settings(
        tmp_path,
        '[social.tg]\nprovider = "telegram"\nchat_id = "1"',
        {"DISTRIBUTOR_SOCIAL_TG_BOT_TOKEN": "123:abc"},
    )
    assert "123:abc" not in repr(settings.social["tg"])


def test_unknown_key_in_a_network_section_names_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"unknown key 'social\.b\.handel'"):
        channel_settings(
            tmp_path,
            '[social.b]\nprovider = "bluesky"\nenabled = false\nhandle = "a"\nhandel = "b"',
        )
