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

import ipaddress
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
    Discriminator,
    Field,
    SecretStr,
    Tag,
    ValidationError,
    model_validator,
)

from distributor.cron import parse_cron
from distributor.envconfig import apply_overrides
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


def _network(value: str) -> str:
    try:
        ipaddress.ip_network(value)
    except ValueError as err:
        raise ValueError(
            f"{value!r} is not a network (like '10.0.0.0/8', 'fd00::/8' or '192.0.2.7')"
        ) from err
    return value


def _srgb(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    """WCAG 2.1 relative luminance of ``#rrggbb``."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _srgb(r) + 0.7152 * _srgb(g) + 0.0722 * _srgb(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


#: the colour of the header text and buttons drawn on ``brand_color`` (mail and web pages)
BRAND_TEXT_COLOR = "#fcfcfd"
#: WCAG 2.1 AA for normal text (1.4.3)
MIN_CONTRAST = 4.5


def _brand_color(value: str) -> str:
    value = _color(value)
    ratio = contrast_ratio(value, BRAND_TEXT_COLOR)
    if ratio < MIN_CONTRAST:
        raise ValueError(
            f"{value!r} gives a contrast of {ratio:.2f}:1 with the white header text; "
            f"WCAG 2.1 AA needs at least {MIN_CONTRAST}:1 (pick a darker colour, "
            f"e.g. {darker_until_readable(value)!r})"
        )
    return value


def darker_until_readable(color: str, against: str = BRAND_TEXT_COLOR) -> str:
    """``color`` darkened in steps until white text on it reaches :data:`MIN_CONTRAST`."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    for step in range(101):
        f = 1 - step / 100
        candidate = f"#{round(r * f):02x}{round(g * f):02x}{round(b * f):02x}"
        if contrast_ratio(candidate, against) >= MIN_CONTRAST:
            return candidate
    return "#000000"


def _sender(value: str) -> str:
    """A sender or reply-to any transport can send from (an IDN domain is fine: it goes
    in ASCII; a non-ASCII local part is not, see ``addresses.check_sender``)."""
    from distributor.addresses import check_sender

    check_sender(value)
    return value


TimeZone = Annotated[str, AfterValidator(_timezone)]
Sender = Annotated[str, AfterValidator(_sender)]
Network = Annotated[str, AfterValidator(_network)]
Language = Annotated[str, AfterValidator(_language)]
Color = Annotated[str, AfterValidator(_color)]
BrandColor = Annotated[str, AfterValidator(_brand_color)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class NewsroomConfig(_Section):
    name: str
    url: str
    default_language: Language = "en"
    postal_address: str = ""
    brand_color: BrandColor = "#0b3d91"  # white text on it must reach 4.5:1
    logo_url: str | None = None
    logo_width: int = Field(default=200, ge=1, le=600)
    logo_height: int = Field(default=48, ge=1, le=600)
    #: the newsroom's own images on disk (relative to this file): story images whose URL
    #: starts with ``images_url`` are read from here for the share cards, and
    #: ``distributor serve`` serves them under ``<base_url>/images/``
    images_dir: str | None = None
    #: the URL the stories' images start with; default ``<url>/images/``
    images_url: str | None = None
    #: readers see the newsroom's own images where ``distributor serve`` serves them:
    #: digests, previews and archive pages link ``<web.base_url>/images/<name>`` for a
    #: story image found in ``images_dir``, instead of its ``images_url`` address.  For a
    #: newsroom without a public image host (and the sample, whose ``news.example`` does
    #: not resolve); off by default, so images on the newsroom's site or CDN stay there.
    images_served: bool = False
    #: the desk's zone: the dashboard shows and takes edition times in it (unset: in each
    #: list's own zone)
    timezone: TimeZone | None = None

    @model_validator(mode="after")
    def _served_needs_a_folder(self) -> NewsroomConfig:
        if self.images_served and self.images_dir is None:
            raise ValueError("images_served = true needs images_dir (the folder to serve)")
        return self


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as err:
        raise ValueError(f"not a valid regular expression: {err}") from err
    return value


Regex = Annotated[str, AfterValidator(_regex)]


class _SourceBase(_Section):
    language: Language | None = None
    timezone: TimeZone = "UTC"
    enabled: bool = True
    timeout: float = Field(default=20.0, gt=0)
    # the whole fetch (connection, redirects, headers and body) must end within this;
    # by default three times ``timeout``
    deadline: float | None = Field(default=None, gt=0)
    max_bytes: int = Field(default=10_000_000, gt=0)
    # more items than this in one read are left out, with a problem reported
    max_items: int = Field(default=1000, ge=1, le=100_000)
    # a regular expression on the story URL whose first group (or group "key")
    # is shared by every translation of a story, e.g. "^https://x/[a-z-]+/(.+)$"
    translation_pattern: Regex | None = None


class FeedSourceConfig(_SourceBase):
    """RSS 0.9x/1.0/2.0 or Atom 1.0 from a URL or a local path."""

    kind: Literal["feed"] = "feed"
    url: str


class JsonFeedSourceConfig(_SourceBase):
    """A JSON Feed (1.0 or 1.1) from a URL or a local path."""

    kind: Literal["jsonfeed"]
    url: str


StatusName = Literal["published", "draft", "scheduled"]


class ApiFields(_Section):
    """Where each story field is found in an API item: JMESPath expressions (dotted paths)."""

    id: str | None = "id"
    title: str = "title"
    url: str = "url"
    summary: str | None = "summary"
    body: str | None = None
    image: str | None = None
    language: str | None = None
    published: str | None = "published"
    updated: str | None = None
    status: str | None = None
    translation_group: str | None = None
    author: str | None = None
    sections: str | None = None


class ApiSourceConfig(_SourceBase):
    """A CMS's HTTP JSON API, read with a field mapping and pagination."""

    kind: Literal["api"]
    url: str
    items: str = "items"
    fields: ApiFields = ApiFields()
    status_values: dict[str, StatusName] = {}
    pagination: Literal["none", "next_link", "page"] = "none"
    next_link: str | None = None
    page_param: str = "page"
    first_page: int = 1
    max_pages: int = Field(default=10, ge=1, le=1000)
    headers: dict[str, str] = {}
    token: SecretStr | None = None
    token_header: str = "Authorization"
    token_prefix: str = "Bearer "


class MarkdownSourceConfig(_SourceBase):
    """A folder of Markdown files with YAML front matter."""

    kind: Literal["markdown"]
    path: str
    base_url: str | None = None
    pattern: str = "**/*.md"


def _source_kind(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("kind", "feed"))
    return str(getattr(value, "kind", "feed"))


SourceConfig = Annotated[
    Annotated[FeedSourceConfig, Tag("feed")]
    | Annotated[JsonFeedSourceConfig, Tag("jsonfeed")]
    | Annotated[ApiSourceConfig, Tag("api")]
    | Annotated[MarkdownSourceConfig, Tag("markdown")],
    Discriminator(_source_kind),
]


def _schedule(value: str) -> str:
    if value.strip().lower() in ("", "off"):
        return "off"
    try:
        parse_cron(value, "UTC")
    except ValueError as err:
        raise ValueError(f"{value!r} is not a cron expression: {err}") from err
    return value.strip()


Schedule = Annotated[str, AfterValidator(_schedule)]


def in_language(values: Mapping[str, str], language: str, default: str) -> str:
    """The value for ``language`` from per-language ``values`` (``pt-BR`` -> ``pt``),
    else ``default``."""
    if not values:
        return default
    tag = language.replace("_", "-")
    wanted = [tag.lower()]
    parts = tag.split("-")
    wanted += ["-".join(parts[:i]).lower() for i in range(len(parts) - 1, 0, -1)]
    lowered = {k.lower(): v for k, v in values.items()}
    for w in wanted:
        if lowered.get(w):
            return lowered[w]
    return default


def _translatable(data: Any, field_name: str, default_language: str) -> None:
    """``title = { en = "...", ar = "..." }``: the default language's text (else the
    first) as ``title``, every language in ``title_i18n``."""
    value = data.get(field_name) if isinstance(data, dict) else None
    if isinstance(value, dict):
        texts = {str(k): v for k, v in value.items()}
        for k, v in texts.items():
            if not isinstance(v, str):
                raise ValueError(f"{field_name}.{k}: must be a string (got {v!r})")
            _language(k)
        data[f"{field_name}_i18n"] = texts
        data[field_name] = in_language(texts, default_language, next(iter(texts.values()), ""))


class ListConfig(_Section):
    #: ``title = "..."`` or one per language: ``title = { en = "...", ar = "..." }``
    title: str
    title_i18n: dict[str, str] = {}
    from_address: Sender
    reply_to: Sender | None = None
    mail: str = "outbox"
    timezone: TimeZone = "UTC"
    max_stories: int = Field(default=10, ge=1, le=100)
    max_age_hours: int = Field(default=48, ge=1)
    subscribers_file: str | None = None
    fallback_language: Language | None = None
    description: str = ""
    description_i18n: dict[str, str] = {}
    # --- every reader in their own language (issue 15) ---
    #: stories in other languages than the reader's: a separate "In other languages"
    #: part ("section"), after the reader's own in the same list ("fill"), or never ("none")
    fallback: Literal["section", "fill", "none"] = "section"
    #: a variant without any story in its language: send the fallbacks, or "skip" it
    empty_language: Literal["skip", "fallback"] = "fallback"
    # an edition variant with no new stories: "skip" it, or "send" it anyway
    empty_edition: Literal["skip", "send"] = "skip"
    # readers who chose the weekly digest get one edition on this day (the list's zone)
    weekly_day: Literal[
        "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"
    ] = "monday"
    # --- schedule (issue 8) ---
    schedule: Schedule = "0 7 * * *"
    local_time: bool = False
    grace_time: int = Field(default=3600, ge=0)
    # --- editions (issue 14) ---
    # "auto": a slot sends the draft it makes; "editor": the draft is made `draft_lead`
    # hours before the slot and only an approved edition is sent
    approval: Literal["auto", "editor"] = "auto"
    draft_lead: float = Field(default=2.0, gt=0, le=48)
    # the desk: where a test send goes when no address is given
    test_recipients: list[str] = Field(default_factory=list)
    test_send_limit: int = Field(default=20, ge=1)  # test messages per list and hour
    # --- reach and engagement (issue 17, docs/privacy.md) ---
    #: links through ``/r/<token>``: "aggregate" (the same links for every reader),
    #: "per_reader" (each reader's clicks are kept: an opt-in), "off" (links untouched)
    tracking: Literal["aggregate", "per_reader", "off"] = "aggregate"
    #: an open pixel (unreliable: mail clients prefetch images); off unless asked for
    opens: bool = False

    @model_validator(mode="before")
    @classmethod
    def _per_language(cls, data: Any) -> Any:
        if isinstance(data, dict):
            data = dict(data)
            default = str(data.pop("_default_language", "en"))
            for name in ("title", "description"):
                if f"{name}_i18n" in data and isinstance(data.get(name), dict):
                    raise ValueError(f"{name}_i18n: set {name} = {{ lang = ... }} instead")
                _translatable(data, name, default)
        return data

    @model_validator(mode="after")
    def _approval_needs_one_slot(self) -> ListConfig:
        # a local-time list has no one slot: each reader's copy is made and sent at the
        # reader's own hour, spread over a day; there is no moment at which an editor's
        # approval could be awaited for every reader (docs/editions.md)
        if self.local_time and self.approval == "editor":
            raise ValueError(
                'approval = "editor" cannot be used with local_time = true: a local-time '
                "list sends each reader at their own hour, so no one slot waits for the "
                "approval (send a one-off edition, or drop local_time)"
            )
        return self

    def title_in(self, language: str) -> str:
        """The list's title in ``language`` (``title = { ar = ... }``), else ``title``."""
        return in_language(self.title_i18n, language, self.title)

    def description_in(self, language: str) -> str:
        """The list's description in ``language``, else ``description``."""
        return in_language(self.description_i18n, language, self.description)


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
    # mail providers (issue 5): connection pool and DKIM
    pool_size: int = Field(default=1, ge=1, le=32)  # connections used in parallel, kept open
    max_messages_per_connection: int = Field(default=100, ge=1)
    dkim_selector: str | None = None
    dkim_domain: str | None = None  # default: the sender's domain
    dkim_private_key: SecretStr | None = None  # PEM, from DISTRIBUTOR_MAIL_<NAME>_DKIM_PRIVATE_KEY
    dkim_private_key_file: str | None = None
    soft_bounce_threshold: int = Field(default=3, ge=1)


# --- mail providers (issue 5) ---
class _HttpMailConfig(_Section):
    """What every HTTP provider takes."""

    enabled: bool = True
    base_url: str | None = None  # regions, proxies, tests; the provider's API root by default
    timeout: float = Field(default=30.0, gt=0)
    rate_limit: float | None = Field(default=None, gt=0)  # messages per second
    max_retries: int = Field(default=4, ge=0, le=20)
    max_retry_wait: float = Field(default=120.0, gt=0)  # longer Retry-After: stop this run
    batch_size: int | None = Field(default=None, ge=1)  # capped at the provider's limit
    soft_bounce_threshold: int = Field(default=3, ge=1)


class MailgunConfig(_HttpMailConfig):
    provider: Literal["mailgun"]
    domain: str
    region: Literal["us", "eu"] = "us"
    api_key: SecretStr | None = None
    webhook_signing_key: SecretStr | None = None


class SendGridConfig(_HttpMailConfig):
    provider: Literal["sendgrid"]
    api_key: SecretStr | None = None
    # the "Verification Key" of the signed event webhook (base64 DER or PEM)
    webhook_public_key: str | None = None


class PostmarkConfig(_HttpMailConfig):
    provider: Literal["postmark"]
    message_stream: str = "broadcast"
    server_token: SecretStr | None = None
    webhook_username: str | None = None
    webhook_password: SecretStr | None = None


class SesConfig(_HttpMailConfig):
    provider: Literal["ses"]
    region: str = "us-east-1"
    configuration_set: str | None = None
    access_key_id: SecretStr | None = None
    secret_access_key: SecretStr | None = None
    session_token: SecretStr | None = None
    # SNS topics whose notifications the webhook accepts (all when empty)
    sns_topic_arns: tuple[str, ...] = ()


class ResendConfig(_HttpMailConfig):
    provider: Literal["resend"]
    api_key: SecretStr | None = None
    webhook_secret: SecretStr | None = None


class BrevoConfig(_HttpMailConfig):
    provider: Literal["brevo"]
    api_key: SecretStr | None = None
    webhook_username: str | None = None
    webhook_password: SecretStr | None = None


HttpMailConfig = (
    MailgunConfig | SendGridConfig | PostmarkConfig | SesConfig | ResendConfig | BrevoConfig
)

MailConfig = Annotated[
    FileMailConfig
    | SmtpConfig
    | MailgunConfig
    | SendGridConfig
    | PostmarkConfig
    | SesConfig
    | ResendConfig
    | BrevoConfig,
    Field(discriminator="provider"),
]


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


class ShareConfig(_Section):
    """Share links: which networks, and how they are tagged (UTM)."""

    networks: tuple[str, ...] = (
        "x",
        "facebook",
        "linkedin",
        "whatsapp",
        "telegram",
        "reddit",
        "bluesky",
        "threads",
        "email",
    )
    utm: bool = True
    utm_source: dict[str, str] = {}
    utm_medium: dict[str, str] = {}
    utm_campaign: str | None = None
    # story images: addresses allowed besides public ones (e.g. an image server on 10.0.0.0/8)
    image_allow_networks: tuple[Network, ...] = ()
    image_max_bytes: int = Field(default=10_000_000, gt=0)
    image_timeout: float = Field(default=10.0, gt=0)
    image_deadline: float | None = Field(default=None, gt=0)  # whole fetch; 3 x image_timeout


class SchedulerConfig(_Section):
    """``[scheduler]``: the scheduler process (see ``distributor scheduler``)."""

    poll_minutes: float = Field(default=10, gt=0)
    lease_seconds: float = Field(default=60, ge=2)
    post_on_publish: tuple[str, ...] = ()


class WebConfig(_Section):
    base_url: str = "http://localhost:8000"
    unsubscribe_mailto: str | None = None
    #: languages offered on the sign-up form (default: those the digest speaks)
    languages: tuple[Language, ...] = ()
    #: topics offered on the sign-up form and preference center
    topics: tuple[str, ...] = ()
    #: a topic's name per language: ``topic_names = { climate = { ar = "المناخ" } }``
    topic_names: dict[str, dict[Language, str]] = {}
    confirm_max_age_hours: int = Field(default=48, ge=1)
    #: sign-ups allowed per hour for one address, and for one client address
    signup_limit_per_address: int = Field(default=3, ge=1)
    signup_limit_per_client: int = Field(default=20, ge=1)
    #: session cookies marked Secure; default: when base_url is https
    secure_cookies: bool | None = None
    #: how many reverse proxies in front set X-Forwarded-For/-Proto (werkzeug ProxyFix)
    trusted_proxies: int = Field(default=0, ge=0, le=5)
    #: where the web archive of editions (data_dir/archive) is served; default base_url + /archive
    archive_url: str | None = None

    def topic_name(self, topic: str, language: str) -> str:
        """A topic's name in ``language`` (``topic_names``), else the topic itself."""
        names = self.topic_names.get(topic)
        if names is None:  # a story section is compared without case or spacing
            key = " ".join(topic.casefold().split())
            names = next(
                (v for k, v in self.topic_names.items() if " ".join(k.casefold().split()) == key),
                {},
            )
        return in_language(names, language, topic)


# --- reach and engagement (issue 17) -------------------------------------------
class ClicksConfig(_Section):
    """``[clicks]``: how ``/r/<token>`` counts (see ``docs/privacy.md``)."""

    #: a link older than this shows the newsroom's page instead of redirecting
    token_max_age_days: int = Field(default=400, ge=1)
    #: counted clicks per minute from one client (address + browser); more redirect uncounted
    rate_limit_per_minute: int = Field(default=30, ge=1)
    #: a known scanner's request this soon after the edition was sent is a machine's
    scanner_window_seconds: int = Field(default=300, ge=0)
    #: this many different links of one message from one client within ``burst_seconds``
    #: is a scanner's sweep: those clicks move to the machine count
    burst_links: int = Field(default=4, ge=2)
    burst_seconds: float = Field(default=3.0, gt=0)
    #: counts are written at most this often (seconds; 0 = with every click)
    flush_seconds: float = Field(default=0.5, ge=0, le=60)


# --- workers (issue 9) -------------------------------------------------------
class QueueConfig(_Section):
    """``[queue]``: send editions through Dramatiq workers (``pip install distributor[scale]``).

    Without this section every run delivers in its own process, as before.
    The URLs may carry passwords: ``DISTRIBUTOR_QUEUE_BROKER_URL`` and
    ``DISTRIBUTOR_QUEUE_RATE_LIMIT_URL`` in the environment win over the file.
    """

    broker_url: SecretStr  # redis://host:6379/0 or amqp://user:pass@host:5672/vhost
    namespace: str = "distributor"  # Redis key prefix (broker, rate limits, cool-down)
    queue_name: str = "distributor-mail"
    #: recipients per batch task; default (0): the list's mail transport batch size
    batch_size: int = Field(default=0, ge=0)
    #: a ``sending`` row older than this is stale: its worker is presumed dead. Must exceed
    #: the longest a live worker holds a claim (timeout x tries + backoff + Retry-After).
    lease_seconds: float = Field(default=900.0, gt=0)
    #: task retries on a transient provider failure, with exponential backoff between
    max_retries: int = Field(default=5, ge=0, le=50)
    min_backoff: float = Field(default=15.0, gt=0)  # seconds
    max_backoff: float = Field(default=900.0, gt=0)  # seconds
    #: a worker silent this long is dead and its unfinished tasks are redelivered (Redis)
    heartbeat_timeout: float = Field(default=60.0, gt=0)
    #: how many broker commands per million also sweep dead workers' tasks (Redis)
    maintenance_chance: int = Field(default=1000, ge=0, le=1_000_000)
    dead_message_ttl: float = Field(default=7 * 86400.0, gt=0)  # seconds (Redis)
    #: the Redis server of the shared rate limits; default: broker_url when it is Redis
    rate_limit_url: SecretStr | None = None
    #: the sliding window of the shared rate limit, seconds; 0: fitted to the batch size
    rate_limit_window: int = Field(default=0, ge=0, le=3600)

    @model_validator(mode="after")
    def _urls(self) -> QueueConfig:
        scheme = self.broker_url.get_secret_value().split("://", 1)[0].lower()
        if scheme not in ("redis", "rediss", "amqp", "amqps"):
            raise ValueError("queue.broker_url: must start with redis://, rediss:// or amqp://")
        if self.rate_limit_url is not None:
            rl = self.rate_limit_url.get_secret_value().split("://", 1)[0].lower()
            if rl not in ("redis", "rediss"):
                raise ValueError("queue.rate_limit_url: must be a redis:// URL")
        return self

    @property
    def broker_kind(self) -> str:
        """``redis`` or ``rabbitmq``."""
        scheme = self.broker_url.get_secret_value().split("://", 1)[0].lower()
        return "redis" if scheme.startswith("redis") else "rabbitmq"

    def redis_url(self) -> str | None:
        """The Redis server of the shared rate limits and cool-down, if there is one."""
        if self.rate_limit_url is not None:
            return self.rate_limit_url.get_secret_value()
        if self.broker_kind == "redis":
            return self.broker_url.get_secret_value()
        return None


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


# Secrets a provider needs, by provider kind: field -> required when?
def _secret_fields(kind: str, section: Mapping[str, Any]) -> dict[str, bool]:
    if kind == "api":
        return {"token": False}
    if kind == "smtp":
        return {"password": bool(section.get("username")), "dkim_private_key": False}
    if kind in SOCIAL_SECRETS:
        return dict.fromkeys(SOCIAL_SECRETS[kind], True)
    return _MAIL_SECRETS.get(kind, {})


# mail providers (issue 5): secret field -> required when the provider is enabled
_MAIL_SECRETS: dict[str, dict[str, bool]] = {
    "mailgun": {"api_key": True, "webhook_signing_key": False},
    "sendgrid": {"api_key": True},
    "postmark": {"server_token": True, "webhook_password": False},
    "ses": {"access_key_id": True, "secret_access_key": True, "session_token": False},
    "resend": {"api_key": True, "webhook_secret": False},
    "brevo": {"api_key": True, "webhook_password": False},
}


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
