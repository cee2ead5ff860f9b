"""The other top-level sections: ``[share]``, ``[scheduler]``, ``[web]``, ``[clicks]``,
``[queue]``.
"""

from __future__ import annotations

from pydantic import (
    Field,
    SecretStr,
    model_validator,
)

from distributor.config.base import Language, Network, _Section, in_language


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
