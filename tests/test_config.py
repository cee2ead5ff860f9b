"""Configuration: validated at start, one clear message naming the key, secrets kept secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from distributor.config import load_settings
from distributor.errors import ConfigError
from tests.conftest import ROOT, settings_for, write_config

SMTP = 'provider = "smtp"\nhost = "127.0.0.1"\nport = 2525\nsecurity = "none"\nusername = "u"'


def test_default_config_is_valid(tmp_path: Path) -> None:
    settings = load_settings(
        ROOT / "config" / "distributor.toml", environ={"DISTRIBUTOR_DATA_DIR": str(tmp_path)}
    )
    assert settings.newsroom.name == "Meridian World News"
    assert settings.data_dir == tmp_path
    assert settings.database_url == f"sqlite:///{tmp_path / 'distributor.db'}"
    assert settings.lists["daily"].mail in settings.mail


def test_unknown_key_is_named(tmp_path: Path) -> None:
    path = write_config(tmp_path, list_extra="max_storeis = 5")
    with pytest.raises(ConfigError, match=r"unknown key 'lists\.daily\.max_storeis'"):
        settings_for(path)


def test_wrong_type_is_named(tmp_path: Path) -> None:
    path = write_config(tmp_path, list_extra='max_stories = "ten"')
    with pytest.raises(ConfigError, match=r"lists\.daily\.max_stories: .*integer.*'ten'"):
        settings_for(path)


def test_bad_time_zone_is_named(tmp_path: Path) -> None:
    path = write_config(tmp_path, list_extra='timezone = "Mars/Olympus"')
    with pytest.raises(ConfigError, match=r"lists\.daily\.timezone: unknown time zone"):
        settings_for(path)


def test_list_must_name_a_known_transport(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    path.write_text(path.read_text().replace('mail = "main"', 'mail = "nope"'))
    with pytest.raises(ConfigError, match=r"lists\.daily\.mail: no mail transport named 'nope'"):
        settings_for(path)


def test_missing_secret_for_enabled_provider(tmp_path: Path) -> None:
    path = write_config(tmp_path, mail=SMTP)
    with pytest.raises(
        ConfigError,
        match=r"mail\.main\.password: missing secret.*"
        r"DISTRIBUTOR_MAIL_MAIN_PASSWORD",
    ):
        settings_for(path)


def test_disabled_provider_needs_no_secret(tmp_path: Path) -> None:
    path = write_config(tmp_path, mail=SMTP + "\nenabled = false")
    assert settings_for(path).mail["main"].enabled is False


def test_secret_in_config_file_is_refused(tmp_path: Path) -> None:
    path = write_config(tmp_path, mail=SMTP + '\npassword = "hunter2"')
    with pytest.raises(ConfigError) as err:
        settings_for(path)
    assert "secrets do not belong in the config file" in str(err.value)
    assert "hunter2" not in str(err.value)


def test_secret_from_env_and_dotenv_never_shown(tmp_path: Path) -> None:
    path = write_config(tmp_path, mail=SMTP)
    (tmp_path / ".env").write_text("DISTRIBUTOR_MAIL_MAIN_PASSWORD=hunter2\n")
    settings = load_settings(path, environ={}, dotenv_path=tmp_path / ".env")
    smtp = settings.mail["main"]
    assert smtp.password is not None and smtp.password.get_secret_value() == "hunter2"
    assert "hunter2" not in repr(settings) and "hunter2" not in str(settings)
    assert "hunter2" not in settings.model_dump_json()


def test_environment_overrides_dotenv(tmp_path: Path) -> None:
    path = write_config(tmp_path, mail=SMTP)
    (tmp_path / ".env").write_text("DISTRIBUTOR_MAIL_MAIN_PASSWORD=from-file\n")
    settings = load_settings(
        path, environ={"DISTRIBUTOR_MAIL_MAIN_PASSWORD": "from-env"}, dotenv_path=tmp_path / ".env"
    )
    assert settings.mail["main"].password.get_secret_value() == "from-env"  # type: ignore[union-attr]


def test_config_path_from_environment(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    settings = load_settings(
        None, environ={"DISTRIBUTOR_CONFIG": str(path)}, dotenv_path=tmp_path / "none"
    )
    assert settings.config_path == path.resolve()


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        settings_for(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[lists\nx=1")
    with pytest.raises(ConfigError, match="not valid TOML"):
        settings_for(bad)


def test_signing_key_is_generated_once(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    first = settings_for(path).secret_key.get_secret_value()
    assert settings_for(path).secret_key.get_secret_value() == first
    key_file = tmp_path / "var" / "secret.key"
    assert key_file.stat().st_mode & 0o077 == 0
    explicit = settings_for(path, {"DISTRIBUTOR_SECRET_KEY": "k" * 32})
    assert explicit.secret_key.get_secret_value() == "k" * 32


def test_provider_names_and_nested_keys_are_reported_as_written(tmp_path: Path) -> None:
    cases = {
        'provider = "mailgunn"': r"mail\.main\.provider: unknown value 'mailgunn' \(expected",
        'directory = "x"': r"mail\.main\.provider: required key is missing",
        'provider = "smtp"\nhost = "h"\nport = "x"': r"mail\.main\.port: .*valid integer",
        'provider = "smtp"\nhost = "h"\nhots = 1': r"unknown key 'mail\.main\.hots'",
    }
    for i, (mail, pattern) in enumerate(cases.items()):
        folder = tmp_path / str(i)
        folder.mkdir()
        with pytest.raises(ConfigError, match=pattern):
            settings_for(write_config(folder, mail=mail))
