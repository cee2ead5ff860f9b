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

The package, by section (import from ``distributor.config``; the modules are its rooms):

- ``base``: the strict frozen ``_Section``, validated string types, colour contrast,
  per-language values (``in_language``)
- ``sources``: ``[sources.NAME]``
- ``lists``: ``[newsroom]``, ``[lists.NAME]``
- ``mail``: ``[mail.NAME]``, the mail providers' models and secrets
- ``social``: ``[social.NAME]``, the channels' models, queues and secrets
- ``sections``: ``[share]``, ``[scheduler]``, ``[web]``, ``[clicks]``, ``[queue]``
- ``settings``: :class:`Settings`, the whole file with its cross-section checks
- ``loading``: :func:`load_settings` (file, ``.env``, environment, secrets)
"""

from __future__ import annotations

from distributor.config.base import (
    BRAND_TEXT_COLOR,
    MIN_CONTRAST,
    BrandColor,
    Color,
    Language,
    Network,
    Sender,
    TimeZone,
    contrast_ratio,
    darker_until_readable,
    in_language,
    relative_luminance,
)
from distributor.config.lists import ListConfig, NewsroomConfig, Schedule
from distributor.config.loading import DEFAULT_CONFIG, ENV_PREFIX, find_config, load_settings
from distributor.config.mail import (
    BrevoConfig,
    FileMailConfig,
    HttpMailConfig,
    MailConfig,
    MailgunConfig,
    PostmarkConfig,
    ResendConfig,
    SendGridConfig,
    SesConfig,
    SmtpConfig,
)
from distributor.config.sections import (
    ClicksConfig,
    QueueConfig,
    SchedulerConfig,
    ShareConfig,
    WebConfig,
)
from distributor.config.settings import Settings
from distributor.config.social import (
    SOCIAL_SECRETS,
    BlueskyConfig,
    DiscordConfig,
    FacebookConfig,
    FileSocialConfig,
    LinkedInConfig,
    MastodonConfig,
    NetworkConfig,
    SlackConfig,
    Slot,
    SocialConfig,
    TelegramConfig,
    ThreadsConfig,
    XConfig,
)
from distributor.config.sources import (
    ApiFields,
    ApiSourceConfig,
    FeedSourceConfig,
    JsonFeedSourceConfig,
    MarkdownSourceConfig,
    Regex,
    SourceConfig,
    StatusName,
)

__all__ = [
    "BRAND_TEXT_COLOR",
    "DEFAULT_CONFIG",
    "ENV_PREFIX",
    "MIN_CONTRAST",
    "SOCIAL_SECRETS",
    "ApiFields",
    "ApiSourceConfig",
    "BlueskyConfig",
    "BrandColor",
    "BrevoConfig",
    "ClicksConfig",
    "Color",
    "DiscordConfig",
    "FacebookConfig",
    "FeedSourceConfig",
    "FileMailConfig",
    "FileSocialConfig",
    "HttpMailConfig",
    "JsonFeedSourceConfig",
    "Language",
    "LinkedInConfig",
    "ListConfig",
    "MailConfig",
    "MailgunConfig",
    "MarkdownSourceConfig",
    "MastodonConfig",
    "Network",
    "NetworkConfig",
    "NewsroomConfig",
    "PostmarkConfig",
    "QueueConfig",
    "Regex",
    "ResendConfig",
    "Schedule",
    "SchedulerConfig",
    "SendGridConfig",
    "Sender",
    "SesConfig",
    "Settings",
    "ShareConfig",
    "SlackConfig",
    "Slot",
    "SmtpConfig",
    "SocialConfig",
    "SourceConfig",
    "StatusName",
    "TelegramConfig",
    "ThreadsConfig",
    "TimeZone",
    "WebConfig",
    "XConfig",
    "contrast_ratio",
    "darker_until_readable",
    "find_config",
    "in_language",
    "load_settings",
    "relative_luminance",
]
