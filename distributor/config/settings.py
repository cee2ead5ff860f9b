"""The validated configuration as one :class:`Settings`, with its cross-section checks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import (
    SecretStr,
    model_validator,
)

from distributor.config.base import _Section
from distributor.config.lists import ListConfig, NewsroomConfig
from distributor.config.mail import MailConfig
from distributor.config.sections import (
    ClicksConfig,
    QueueConfig,
    SchedulerConfig,
    ShareConfig,
    WebConfig,
)
from distributor.config.social import SocialConfig
from distributor.config.sources import SourceConfig

_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]*$")


class Settings(_Section):
    """The validated configuration."""

    config_path: Path
    data_dir: Path
    database_url: str
    #: bring the database schema to the newest revision when a command opens it
    database_auto_upgrade: bool = True
    templates_dir: Path
    secret_key: SecretStr
    newsroom: NewsroomConfig
    web: WebConfig = WebConfig()
    sources: dict[str, SourceConfig]
    lists: dict[str, ListConfig]
    mail: dict[str, MailConfig]
    social: dict[str, SocialConfig] = {}
    share: ShareConfig = ShareConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    queue: QueueConfig | None = None  # workers (issue 9)
    clicks: ClicksConfig = ClicksConfig()  # reach and engagement (issue 17)

    @model_validator(mode="before")
    @classmethod
    def _list_languages(cls, data: Any) -> Any:
        """Tell each list the default language: its per-language title falls back to it."""
        if isinstance(data, dict) and isinstance(data.get("lists"), dict):
            newsroom = data.get("newsroom")
            default = newsroom.get("default_language", "en") if isinstance(newsroom, dict) else "en"
            data = dict(data)
            data["lists"] = {
                name: {**lst, "_default_language": default} if isinstance(lst, dict) else lst
                for name, lst in data["lists"].items()
            }
        return data

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
        for topic in self.web.topic_names:
            if topic not in self.web.topics:
                raise ValueError(f"web.topic_names.{topic}: not one of web.topics")
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

    def newsroom_images(self) -> tuple[str, Path] | None:
        """(URL prefix, folder) of the newsroom's own images, when ``images_dir`` is set."""
        if self.newsroom.images_dir is None:
            return None
        folder = Path(self.newsroom.images_dir)
        if not folder.is_absolute():
            folder = (self.config_path.parent / folder).resolve()
        prefix = self.newsroom.images_url or self.newsroom.url.rstrip("/") + "/images/"
        return (prefix if prefix.endswith("/") else prefix + "/"), folder
