"""``[social.NAME]``: the social channels, their posting queues (issue 18) and secrets.

A channel (``distributor/social/<network>.py``) imports its model from here; the
``SocialConfig`` union below is the explicit list the loader validates against.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
)

from distributor.config.base import Language, TimeZone, _Section


def _slot(value: str) -> str:
    if not re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", value):
        raise ValueError(f'{value!r} is not a time of day as HH:MM (e.g. "08:00")')
    return value


Slot = Annotated[str, AfterValidator(_slot)]


class _QueueConfig(_Section):
    """A channel's posting queue (issue 18): who approves its posts, and when they go.

    ``slots`` are times of day in ``timezone``; a story's posts fill the next free
    slot of their language (``language_slots`` overrides the list per language).
    No slots: an approved post goes at once.  ``min_gap_minutes`` keeps two posts of
    one story (its translations) on this channel that far apart."""

    approval: Literal["auto", "editor"] = "auto"
    slots: tuple[Slot, ...] = ()
    language_slots: dict[Language, tuple[Slot, ...]] = {}
    timezone: TimeZone = "UTC"
    min_gap_minutes: int = Field(default=0, ge=0)
    #: the counts of a post (likes, reposts, replies) are read again at most this often,
    #: for posts younger than ``metrics_days`` (0 minutes: never read)
    metrics_minutes: int = Field(default=60, ge=0)
    metrics_days: int = Field(default=7, ge=1)


class FileSocialConfig(_QueueConfig):
    provider: Literal["file"]
    enabled: bool = True
    directory: str | None = None
    languages: tuple[Language, ...] = ()
    max_chars: int = Field(default=500, ge=20)


# --- social channels (issue 6) ---------------------------------------------
class _NetworkConfig(_QueueConfig):
    """What every network channel has: a base URL (for regions and tests), limits."""

    enabled: bool = True
    languages: tuple[Language, ...] = ()
    timeout: float = Field(default=20.0, gt=0)
    max_retry_wait: float = Field(default=60.0, ge=0)
    max_chars: int | None = Field(default=None, ge=20)


class MastodonConfig(_NetworkConfig):
    provider: Literal["mastodon"]
    base_url: str  # the instance, e.g. https://mastodon.social
    visibility: Literal["public", "unlisted", "private", "direct"] = "public"
    access_token: SecretStr | None = None


class BlueskyConfig(_NetworkConfig):
    provider: Literal["bluesky"]
    base_url: str = "https://bsky.social"
    handle: str
    app_password: SecretStr | None = None


class XConfig(_NetworkConfig):
    provider: Literal["x"]
    base_url: str = "https://api.x.com"
    api_key: SecretStr | None = None
    api_secret: SecretStr | None = None
    access_token: SecretStr | None = None
    access_token_secret: SecretStr | None = None


class TelegramConfig(_NetworkConfig):
    provider: Literal["telegram"]
    base_url: str = "https://api.telegram.org"
    chat_id: str
    # false: text fits the photo caption (1,024); true: photo, then the text as a
    # message of up to 4,096 when it does not fit the caption
    long_posts: bool = False
    bot_token: SecretStr | None = None


class FacebookConfig(_NetworkConfig):
    provider: Literal["facebook"]
    base_url: str = "https://graph.facebook.com"
    api_version: str = "v21.0"
    page_id: str
    page_access_token: SecretStr | None = None


class LinkedInConfig(_NetworkConfig):
    provider: Literal["linkedin"]
    base_url: str = "https://api.linkedin.com"
    version: str = "202411"  # the Linkedin-Version header, YYYYMM
    author: str  # urn:li:organization:123 or urn:li:person:abc
    access_token: SecretStr | None = None


class ThreadsConfig(_NetworkConfig):
    provider: Literal["threads"]
    base_url: str = "https://graph.threads.net"
    api_version: str = "v1.0"
    user_id: str
    access_token: SecretStr | None = None


class DiscordConfig(_NetworkConfig):
    provider: Literal["discord"]
    username: str | None = None
    webhook_url: SecretStr | None = None


class SlackConfig(_NetworkConfig):
    provider: Literal["slack"]
    webhook_url: SecretStr | None = None


NetworkConfig = (
    MastodonConfig
    | BlueskyConfig
    | XConfig
    | TelegramConfig
    | FacebookConfig
    | LinkedInConfig
    | ThreadsConfig
    | DiscordConfig
    | SlackConfig
)
SocialConfig = Annotated[FileSocialConfig | NetworkConfig, Field(discriminator="provider")]

SOCIAL_SECRETS: dict[str, tuple[str, ...]] = {
    "mastodon": ("access_token",),
    "bluesky": ("app_password",),
    "x": ("api_key", "api_secret", "access_token", "access_token_secret"),
    "telegram": ("bot_token",),
    "facebook": ("page_access_token",),
    "linkedin": ("access_token",),
    "threads": ("access_token",),
    "discord": ("webhook_url",),
    "slack": ("webhook_url",),
}
