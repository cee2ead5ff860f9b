"""The social channel interface: ``publish(post) -> DeliveryResult``.

Limits are declared as class data so composing a post needs no network.
:class:`HttpChannel` adds what every network channel shares: one
``requests.Session``, a configurable ``base_url`` and timeout, and the
handling of 429 and rate-limit headers (``Retry-After``, ``X-RateLimit-*``,
``RateLimit-*``, ``x-rate-limit-*``): a short wait is waited out, a long one
ends the call with a retryable error carrying ``retry_after``.
"""

from __future__ import annotations

import abc
import email.utils
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

import requests

from distributor.config import Settings
from distributor.errors import AuthenticationError, ProviderError, TransientProviderError
from distributor.models import DeliveryResult, Post
from distributor.registry import social_channel_class
from distributor.share.counting import Rules, rules_for

USER_AGENT = "distributor/0.1 (+https://github.com/distributor)"


class SocialChannel(abc.ABC):
    """One configured account on one network."""

    provider: ClassVar[str]
    network: ClassVar[str] = "file"
    idempotent: ClassVar[bool] = False
    supports_alt_text: ClassVar[bool] = False
    max_image_bytes: ClassVar[int | None] = None
    max_chars: int = 500

    def __init__(self, name: str, config: Any, settings: Settings) -> None:
        self.name = name
        self.config = config
        self.settings = settings
        self.languages: tuple[str, ...] = tuple(getattr(config, "languages", ()) or ())
        configured = getattr(config, "max_chars", None)
        if configured:
            self.max_chars = configured

    def wants(self, language: str) -> bool:
        """Whether this channel posts stories in ``language`` (all, if none configured)."""
        if not self.languages:
            return True
        base = language.split("-")[0].lower()
        return any(
            lang == language or lang.split("-")[0].lower() == base for lang in self.languages
        )

    def rules(self) -> Rules:
        """How this channel's network counts a post (no network call)."""
        configured = getattr(self.config, "max_chars", None)
        return rules_for(self.network, limit=configured)

    @abc.abstractmethod
    def publish(self, post: Post) -> DeliveryResult: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default holds none."""


def secret(value: Any) -> str:
    """The plain value of a ``SecretStr`` (empty when unset)."""
    return value.get_secret_value() if value is not None else ""


def _seconds_until(value: str, now: float) -> float | None:
    """A rate-limit reset given as seconds, an epoch time, an HTTP date or ISO time."""
    value = value.strip()
    try:
        number = float(value)
    except ValueError:
        pass
    else:
        return max(0.0, number - now) if number > 1_000_000_000 else max(0.0, number)
    try:
        parsed = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return max(0.0, parsed.timestamp() - now)


def rate_limit_wait(resp: requests.Response, now: float) -> float | None:
    """How long the server asks us to wait, from its headers; None if it does not say."""
    h = resp.headers
    if "Retry-After" in h:
        return _seconds_until(h["Retry-After"], now)
    if "X-RateLimit-Reset-After" in h:  # Discord: seconds
        return _seconds_until(h["X-RateLimit-Reset-After"], now)
    for remaining, reset in (
        ("X-RateLimit-Remaining", "X-RateLimit-Reset"),  # Mastodon (ISO time)
        ("x-rate-limit-remaining", "x-rate-limit-reset"),  # X (epoch)
        ("RateLimit-Remaining", "RateLimit-Reset"),  # Bluesky (epoch)
    ):
        if reset in h and (resp.status_code == 429 or h.get(remaining, "1").strip() == "0"):
            return _seconds_until(h[reset], now)
    return None


class HttpChannel(SocialChannel):
    """A channel that talks HTTP to its network: session, base URL, 429s, rate limits."""

    default_base_url: ClassVar[str] = ""
    max_attempts: ClassVar[int] = 3

    def __init__(
        self,
        name: str,
        config: Any,
        settings: Settings,
        *,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(name, config, settings)
        self.base_url = str(getattr(config, "base_url", "") or self.default_base_url).rstrip("/")
        self.timeout = float(getattr(config, "timeout", 20.0))
        self.max_wait = float(getattr(config, "max_retry_wait", 60.0))
        self.session = session or requests.Session()
        self.session.headers.setdefault("User-Agent", USER_AGENT)
        self._own_session = session is None
        self._sleep = sleep
        self._now = now
        self._not_before = 0.0

    def require(self, *fields: str) -> None:
        """Raise :class:`AuthenticationError` when a needed secret is missing."""
        for f in fields:
            if not secret(getattr(self.config, f, None)):
                raise AuthenticationError(self.name, f"no {f} configured")

    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.base_url + path

    def request(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        """Send one request; wait out short rate limits, raise typed errors for the rest."""
        kwargs.setdefault("timeout", self.timeout)
        for attempt in range(1, self.max_attempts + 1):
            pause = self._not_before - self._now()
            if pause > 0:
                self._sleep(pause)
            try:
                resp = self.session.request(method, self.url(path), **kwargs)
            except requests.Timeout as err:
                raise TransientProviderError(self.name, f"{method} {path}: timed out") from err
            except requests.RequestException as err:
                raise TransientProviderError(
                    self.name, f"{method} {path}: {type(err).__name__}: {err}"
                ) from err
            wait = rate_limit_wait(resp, self._now())
            if resp.status_code == 429 or self.is_rate_limited(resp):
                wait = self.retry_after(resp) if wait is None else wait
                if wait is not None and wait <= self.max_wait and attempt < self.max_attempts:
                    self._sleep(wait)
                    continue
                raise TransientProviderError(
                    self.name,
                    f"{method} {path}: rate limited (HTTP {resp.status_code})",
                    retry_after=wait,
                )
            if wait is not None and wait > 0:  # quota used up: wait before the next call
                self._not_before = self._now() + min(wait, self.max_wait)
            if resp.status_code in (401, 403) and self.is_auth_failure(resp):
                raise AuthenticationError(
                    self.name, f"{method} {path}: HTTP {resp.status_code} {_brief(resp)}"
                )
            if resp.status_code >= 500:
                raise TransientProviderError(
                    self.name, f"{method} {path}: HTTP {resp.status_code} {_brief(resp)}"
                )
            return resp
        raise TransientProviderError(self.name, f"{method} {path}: gave up")  # pragma: no cover

    def is_rate_limited(self, resp: requests.Response) -> bool:
        """Networks that signal rate limits without a 429 override this."""
        return False

    def retry_after(self, resp: requests.Response) -> float | None:
        """A wait given in the body (Telegram's ``retry_after``) when headers give none."""
        return None

    def is_auth_failure(self, resp: requests.Response) -> bool:
        return resp.status_code == 401

    def fail(self, resp: requests.Response, what: str) -> ProviderError:
        """The error for an unexpected 4xx reply: permanent for this post."""
        return ProviderError(self.name, f"{what}: HTTP {resp.status_code} {_brief(resp)}")

    def close(self) -> None:
        if self._own_session:
            self.session.close()


def _brief(resp: requests.Response) -> str:
    text = resp.text.strip().replace("\n", " ")
    return text[:300]


def read_card(post: Post, key: str = "card") -> bytes | None:
    """The bytes of the post's card (``card``) or Bluesky thumbnail (``thumb``)."""
    path = post.card_path if key == "card" else post.extra.get("thumb_path")
    if not path:
        return None
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def card_file(post: Post) -> tuple[str, str]:
    """A file name and MIME type for the post's card (JPEG or PNG, by its suffix)."""
    if (post.card_path or "").lower().endswith(".png"):
        return "card.png", "image/png"
    return "card.jpg", "image/jpeg"


def build_channel(name: str, settings: Settings) -> SocialChannel:
    """The channel configured under ``[social.NAME]``."""
    config = settings.social[name]
    channel = social_channel_class(config.provider)(name, config, settings)
    assert isinstance(channel, SocialChannel)
    return channel
