"""Reading the configuration: the TOML file, ``.env`` and the environment merged, secrets
injected from ``DISTRIBUTOR_<GROUP>_<NAME>_<FIELD>``, validated once, errors on one line.
"""

from __future__ import annotations

import os
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dotenv import dotenv_values
from pydantic import (
    SecretStr,
    ValidationError,
)

from distributor.config.lists import ListConfig, NewsroomConfig
from distributor.config.mail import _MAIL_SECRETS
from distributor.config.sections import SchedulerConfig, ShareConfig, WebConfig
from distributor.config.settings import Settings
from distributor.config.social import SOCIAL_SECRETS
from distributor.envconfig import apply_overrides
from distributor.errors import ConfigError

DEFAULT_CONFIG = Path("config/distributor.toml")
ENV_PREFIX = "DISTRIBUTOR_"


# Secrets a provider needs, by provider kind: field -> required when?
def _secret_fields(kind: str, section: Mapping[str, Any]) -> dict[str, bool]:
    if kind == "api":
        return {"token": False}
    if kind == "smtp":
        return {"password": bool(section.get("username")), "dkim_private_key": False}
    if kind in SOCIAL_SECRETS:
        return dict.fromkeys(SOCIAL_SECRETS[kind], True)
    return _MAIL_SECRETS.get(kind, {})


_TAGGED = {"mail": "provider", "social": "provider", "sources": "kind"}


def _describe(err: ValidationError, raw: Mapping[str, Any]) -> str:
    """Pydantic's errors as one line, each naming its key as written in the file."""
    parts = []
    for e in err.errors():
        loc = [str(p) for p in e["loc"] if not str(p).startswith("function-")]
        tag_field = _TAGGED.get(loc[0]) if loc else None
        if tag_field and len(loc) >= 3:
            section = raw.get(loc[0], {}).get(loc[1], {})
            default = "feed" if loc[0] == "sources" else None
            if isinstance(section, dict) and loc[2] == str(section.get(tag_field, default)):
                del loc[2]  # pydantic names the union member; the file does not
        key = ".".join(loc)
        if e["type"] == "extra_forbidden":
            parts.append(f"unknown key {key!r}")
        elif e["type"] == "missing":
            parts.append(f"{key}: required key is missing")
        elif e["type"] == "union_tag_invalid":
            expected = e.get("ctx", {}).get("expected_tags", "")
            tag = e.get("ctx", {}).get("tag")
            parts.append(f"{key}.{tag_field}: unknown value {tag!r} (expected one of {expected})")
        elif e["type"] == "union_tag_not_found":
            parts.append(f"{key}.{tag_field}: required key is missing")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            got = e.get("input")
            shown = "" if isinstance(got, dict | list) or repr(got) in msg else f" (got {got!r})"
            parts.append(f"{key}: {msg}{shown}" if key else msg)
    return "; ".join(parts)


def _bundled_templates() -> Path:
    return Path(__file__).resolve().parent.parent.parent / "templates"


def find_config(explicit: str | Path | None, environ: Mapping[str, str]) -> Path:
    """``--config`` wins, then ``DISTRIBUTOR_CONFIG``, then ``config/distributor.toml``."""
    if explicit:
        return Path(explicit)
    if environ.get("DISTRIBUTOR_CONFIG"):
        return Path(environ["DISTRIBUTOR_CONFIG"])
    return DEFAULT_CONFIG


def load_settings(
    path: str | Path | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    dotenv_path: str | Path | None = None,
) -> Settings:
    """Read, merge and validate the configuration.

    ``environ`` defaults to :data:`os.environ`; values from ``.env`` (in the
    working directory, or ``dotenv_path``) fill in what the environment lacks.
    Nothing global is changed.
    """
    env: dict[str, str] = {}
    dotenv_file = Path(dotenv_path) if dotenv_path else Path(".env")
    if dotenv_file.is_file():
        env.update({k: v for k, v in dotenv_values(dotenv_file).items() if v is not None})
    env.update(os.environ if environ is None else environ)

    config_path = find_config(path, env)
    try:
        raw = tomllib.loads(config_path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise ConfigError(f"config file not found: {config_path}") from err
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{config_path}: not valid TOML: {err}") from err
    except OSError as err:
        raise ConfigError(f"{config_path}: cannot read: {err.strerror}") from err

    config_path = config_path.resolve()
    base = config_path.parent
    data_dir = Path(raw.pop("data_dir", "../var"))
    if not isinstance(data_dir, Path):  # pragma: no cover - defensive
        raise ConfigError("data_dir: must be a string")
    data_dir = data_dir if data_dir.is_absolute() else (base / data_dir).resolve()
    if env.get("DISTRIBUTOR_DATA_DIR"):
        data_dir = Path(env["DISTRIBUTOR_DATA_DIR"]).resolve()

    database_url = env.get("DISTRIBUTOR_DATABASE_URL") or raw.pop("database_url", None)
    raw.pop("database_url", None)
    if database_url is None:
        database_url = f"sqlite:///{data_dir / 'distributor.db'}"
    if not isinstance(database_url, str):
        raise ConfigError(f"database_url: must be a string (got {database_url!r})")
    auto_upgrade = raw.pop("database_auto_upgrade", True)
    if env.get("DISTRIBUTOR_DATABASE_AUTO_UPGRADE"):
        flag = env["DISTRIBUTOR_DATABASE_AUTO_UPGRADE"].strip().lower()
        if flag not in ("1", "true", "yes", "0", "false", "no"):
            raise ConfigError("DISTRIBUTOR_DATABASE_AUTO_UPGRADE: must be true or false")
        auto_upgrade = flag in ("1", "true", "yes")
    if not isinstance(auto_upgrade, bool):
        raise ConfigError(f"database_auto_upgrade: must be true or false (got {auto_upgrade!r})")

    templates = env.get("DISTRIBUTOR_TEMPLATES_DIR") or raw.pop("templates_dir", None)
    raw.pop("templates_dir", None)
    templates_dir = (
        (base / templates).resolve() if isinstance(templates, str) else _bundled_templates()
    )
    if templates is not None and not isinstance(templates, str):
        raise ConfigError(f"templates_dir: must be a string (got {templates!r})")

    apply_overrides(  # DISTRIBUTOR_WEB_BASE_URL and the like (naming rule: envconfig.py)
        raw,
        env,
        {
            "newsroom": NewsroomConfig,
            "web": WebConfig,
            "share": ShareConfig,
            "scheduler": SchedulerConfig,
        },
        {"lists": ListConfig},
    )
    _inject_secrets(raw, env)
    _inject_queue_urls(raw, env)
    secret_key = env.get("DISTRIBUTOR_SECRET_KEY") or _local_secret(data_dir)

    try:
        return Settings.model_validate(
            {
                **raw,
                "config_path": config_path,
                "data_dir": data_dir,
                "database_url": database_url,
                "database_auto_upgrade": auto_upgrade,
                "templates_dir": templates_dir,
                "secret_key": SecretStr(secret_key),
            },
            strict=False,
        )
    except ValidationError as err:
        raise ConfigError(f"{config_path.name}: {_describe(err, raw)}") from None


def _inject_secrets(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    for group in ("mail", "social", "sources"):
        sections = raw.get(group)
        if not isinstance(sections, dict):
            continue
        for name, section in sections.items():
            if not isinstance(section, dict):
                continue
            kind = str(section.get("provider", section.get("kind", "")))
            for field_name, required in _secret_fields(kind, section).items():
                var = f"{ENV_PREFIX}{group}_{name}_{field_name}".upper().replace("-", "_")
                if field_name in section:
                    raise ConfigError(
                        f"{group}.{name}.{field_name}: secrets do not belong in the config "
                        f"file; set {var} in the environment or .env"
                    )
                value = env.get(var)
                if value:
                    section[field_name] = value
                elif required and section.get("enabled", True):
                    raise ConfigError(
                        f"{group}.{name}.{field_name}: missing secret for enabled provider "
                        f"{kind!r}; set {var} in the environment or .env"
                    )


def _inject_queue_urls(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    """``DISTRIBUTOR_QUEUE_BROKER_URL`` / ``_RATE_LIMIT_URL`` win over ``[queue]`` (passwords)."""
    section = raw.get("queue")
    for field_name in ("broker_url", "rate_limit_url"):
        value = env.get(f"{ENV_PREFIX}QUEUE_{field_name.upper()}")
        if value and isinstance(section, dict):
            section[field_name] = value


def _local_secret(data_dir: Path) -> str:
    """A signing key for the embedded default, created once under the data directory."""
    path = data_dir / "secret.key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: use theirs
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key
