"""Settings: ``config/distributor.toml`` + ``.env`` + ``DISTRIBUTOR_*`` variables.

The whole configuration is validated once, at start.  An unknown key, a value
of the wrong type or a missing secret for an enabled provider raises
:class:`~distributor.errors.ConfigError` with a message naming the key.

Secrets never live in the TOML file: they are read from the environment
(``.env`` is loaded into it by python-dotenv) under names derived from where
they are used, e.g. ``DISTRIBUTOR_MAIL_SMTP_PASSWORD`` for ``[mail.smtp]``.
They are held as :class:`pydantic.SecretStr`, so ``repr`` and logs show
``'**********'``.

Relative paths in the file are resolved against the directory holding it.
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    model_validator,
)

from distributor.cron import parse_cron
from distributor.errors import ConfigError

DEFAULT_CONFIG = Path("config/distributor.toml")
ENV_PREFIX = "DISTRIBUTOR_"
_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {value!r}") from err
    return value


def _language(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", value):
        raise ValueError(f"{value!r} is not a BCP 47 language tag")
    return value


def _color(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError(f"{value!r} is not a colour like '#0b3d91'")
    return value


TimeZone = Annotated[str, AfterValidator(_timezone)]
Language = Annotated[str, AfterValidator(_language)]
Color = Annotated[str, AfterValidator(_color)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NewsroomConfig(_Section):
    name: str
    url: str
    default_language: Language = "en"
    postal_address: str = ""
    brand_color: Color = "#0b3d91"
    logo_url: str | None = None


class SourceConfig(_Section):
    kind: Literal["feed"] = "feed"
    url: str
    language: Language | None = None
    timezone: TimeZone = "UTC"
    enabled: bool = True
    timeout: float = Field(default=20.0, gt=0)
    max_bytes: int = Field(default=10_000_000, gt=0)


def _schedule(value: str) -> str:
    if value.strip().lower() in ("", "off"):
        return "off"
    try:
        parse_cron(value, "UTC")
    except ValueError as err:
        raise ValueError(f"{value!r} is not a cron expression: {err}") from err
    return value.strip()


Schedule = Annotated[str, AfterValidator(_schedule)]


class ListConfig(_Section):
    title: str
    from_address: str
    reply_to: str | None = None
    mail: str = "outbox"
    timezone: TimeZone = "UTC"
    max_stories: int = Field(default=10, ge=1, le=100)
    max_age_hours: int = Field(default=48, ge=1)
    subscribers_file: str | None = None
    fallback_language: Language | None = None
    description: str = ""
    # --- schedule (issue 8) ---
    schedule: Schedule = "0 7 * * *"
    local_time: bool = False
    grace_time: int = Field(default=3600, ge=0)


class FileMailConfig(_Section):
    provider: Literal["file"]
    enabled: bool = True
    directory: str = "outbox/mail"


class SmtpConfig(_Section):
    provider: Literal["smtp"]
    enabled: bool = True
    host: str
    port: int = Field(default=587, gt=0, lt=65536)
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    timeout: float = Field(default=30.0, gt=0)
    batch_size: int = Field(default=100, ge=1)
    ca_file: str | None = None


MailConfig = Annotated[FileMailConfig | SmtpConfig, Field(discriminator="provider")]


class FileSocialConfig(_Section):
    provider: Literal["file"]
    enabled: bool = True
    directory: str | None = None
    languages: tuple[Language, ...] = ()
    max_chars: int = Field(default=500, ge=20)


SocialConfig = Annotated[FileSocialConfig, Field(discriminator="provider")]


class SchedulerConfig(_Section):
    """``[scheduler]``: the scheduler process (see ``distributor scheduler``)."""

    poll_minutes: float = Field(default=10, gt=0)
    lease_seconds: float = Field(default=60, ge=2)
    post_on_publish: tuple[str, ...] = ()


class WebConfig(_Section):
    base_url: str = "http://localhost:8000"
    unsubscribe_mailto: str | None = None


class Settings(_Section):
    """The validated configuration."""

    config_path: Path
    data_dir: Path
    database_url: str
    templates_dir: Path
    secret_key: SecretStr
    newsroom: NewsroomConfig
    web: WebConfig = WebConfig()
    sources: dict[str, SourceConfig]
    lists: dict[str, ListConfig]
    mail: dict[str, MailConfig]
    social: dict[str, SocialConfig] = {}
    scheduler: SchedulerConfig = SchedulerConfig()

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        for group in ("sources", "lists", "mail", "social"):
            for name in getattr(self, group):
                if not _NAME.match(name):
                    raise ValueError(
                        f"{group}.{name}: names use lowercase letters, digits, '-' and '_'"
                    )
        for name, lst in self.lists.items():
            if lst.mail not in self.mail:
                known = ", ".join(sorted(self.mail)) or "none"
                raise ValueError(
                    f"lists.{name}.mail: no mail transport named {lst.mail!r} (known: {known})"
                )
        for channel in self.scheduler.post_on_publish:
            if channel not in self.social:
                known = ", ".join(sorted(self.social)) or "none"
                raise ValueError(
                    f"scheduler.post_on_publish: no social channel named {channel!r} "
                    f"(known: {known})"
                )
        return self

    def resolve(self, path: str | Path) -> Path:
        """A path from the config file, resolved against the file's directory."""
        p = Path(path)
        return p if p.is_absolute() else (self.config_path.parent / p).resolve()

    def data_path(self, path: str | Path) -> Path:
        """A path under the data directory."""
        p = Path(path)
        return p if p.is_absolute() else self.data_dir / p


# Secrets a provider needs, by provider kind: field -> required when?
def _secret_fields(kind: str, section: Mapping[str, Any]) -> dict[str, bool]:
    if kind == "smtp":
        return {"password": bool(section.get("username"))}
    return {}


def _describe(err: ValidationError) -> str:
    parts = []
    for e in err.errors():
        loc = ".".join(str(p) for p in e["loc"] if not str(p).startswith("function-"))
        # the discriminated-union tag shows up as a path element; drop it
        loc = (
            re.sub(r"\.(file|smtp)(?=\.|$)", "", loc, count=1)
            if e["type"] != "union_tag_invalid"
            else loc
        )
        if e["type"] == "extra_forbidden":
            parts.append(f"unknown key {loc!r}")
        elif e["type"] == "missing":
            parts.append(f"{loc}: required key is missing")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            got = e.get("input")
            shown = "" if isinstance(got, dict | list) else f" (got {got!r})"
            parts.append(f"{loc}: {msg}{shown}" if loc else msg)
    return "; ".join(parts)


def _bundled_templates() -> Path:
    return Path(__file__).resolve().parent.parent / "templates"


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

    templates = raw.pop("templates_dir", None)
    templates_dir = (
        (base / templates).resolve() if isinstance(templates, str) else _bundled_templates()
    )
    if templates is not None and not isinstance(templates, str):
        raise ConfigError(f"templates_dir: must be a string (got {templates!r})")

    _inject_secrets(raw, env)
    secret_key = env.get("DISTRIBUTOR_SECRET_KEY") or _local_secret(data_dir)

    try:
        return Settings.model_validate(
            {
                **raw,
                "config_path": config_path,
                "data_dir": data_dir,
                "database_url": database_url,
                "templates_dir": templates_dir,
                "secret_key": SecretStr(secret_key),
            },
            strict=False,
        )
    except ValidationError as err:
        raise ConfigError(f"{config_path.name}: {_describe(err)}") from None


def _inject_secrets(raw: dict[str, Any], env: Mapping[str, str]) -> None:
    for group in ("mail", "social"):
        sections = raw.get(group)
        if not isinstance(sections, dict):
            continue
        for name, section in sections.items():
            if not isinstance(section, dict):
                continue
            kind = str(section.get("provider", ""))
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


def _local_secret(data_dir: Path) -> str:
    """A signing key for the embedded default, created once under the data directory."""
    path = data_dir / "secret.key"
    try:
        return path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        pass
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(key + "\n")
    return key
