"""The social channel interface: ``publish(post) -> DeliveryResult``.

Limits are declared as class data so composing a post needs no network.
:class:`HttpChannel` is a :class:`distributor.http.HttpBase`, the same HTTP
base the mail providers use: one ``requests.Session``, a configurable
``base_url`` and timeout, one retry policy and one ``Retry-After`` parser
(``Retry-After``, ``X-RateLimit-*``, ``RateLimit-*``, ``x-rate-limit-*``): a
short wait is waited out, a long one ends the call with a retryable error
carrying ``retry_after``.

The rule that keeps a post from going out twice: a request that may have
reached the network (a read timeout, a connection lost after sending) is
retried only by a channel that is ``idempotent`` (Mastodon's
``Idempotency-Key``, Bluesky's deterministic record key).  On the others (X,
Facebook, LinkedIn, Threads, Telegram, Discord, Slack) the call raises
:class:`~distributor.errors.OutcomeUnknown` and the post is recorded
``unknown``: it is never posted again without an editor's decision.  Uploads
(media, images, containers) are idempotent enough: a repeat leaves an unused
upload, never a second post.

Refused credentials (401, or the network's own signal) raise
:class:`~distributor.errors.AuthenticationError`; a missing endpoint (404,
405, 410) raises :class:`~distributor.errors.ProviderConfigError`.  Both stop
the channel, and the dispatcher gives the unsent posts back (``pending``).
"""

from __future__ import annotations

import abc
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import requests

from distributor.config import Settings
from distributor.errors import AuthenticationError, ProviderConfigError, ProviderError
from distributor.http import HttpBase, describe_reply
from distributor.http import retry_after_seconds as retry_after_seconds
from distributor.models import DeliveryResult, Post
from distributor.redact import Redactor, secret_values
from distributor.registry import social_channel_class
from distributor.share.counting import Rules, rules_for
from distributor.social.facts import NetworkFacts

#: statuses that say the endpoint is not there: the configuration is wrong
CONFIG_STATUSES = frozenset({404, 405, 410})


@dataclass(frozen=True, slots=True)
class Counts:
    """What a network tells of one post (issue 18); ``None``: it does not say."""

    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None


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

    #: whether :meth:`read_counts` asks the network (Mastodon, Bluesky)
    supports_counts: ClassVar[bool] = False

    def read_counts(self, provider_ids: Sequence[str]) -> dict[str, Counts]:
        """The counts of posts that went out, by their ``provider_id`` (those the network
        no longer has are left out); the default network exposes none."""
        return {}

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default holds none."""


def secret(value: Any) -> str:
    """The plain value of a ``SecretStr`` (empty when unset)."""
    return value.get_secret_value() if value is not None else ""


class HttpChannel(HttpBase, SocialChannel):
    """A channel that talks HTTP to its network; see the module docstring."""

    default_base_url: ClassVar[str] = ""
    #: tries of one call (429s waited out, 5xx of idempotent calls, lost replies of reads)
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
        jitter: Callable[[], float] = random.random,
        facts: NetworkFacts | None = None,
    ) -> None:
        SocialChannel.__init__(self, name, config, settings)
        #: what the network said about itself, shared across use cases by a long-lived door
        self.facts = facts if facts is not None else NetworkFacts()
        HttpBase.__init__(
            self,
            name,
            base_url=str(getattr(config, "base_url", "") or self.default_base_url),
            timeout=float(getattr(config, "timeout", 20.0)),
            max_retries=self.max_attempts - 1,
            max_retry_wait=float(getattr(config, "max_retry_wait", 60.0)),
            session=session,
            sleep=sleep,
            wall_clock=now,
            jitter=jitter,
            redactor=Redactor(secret_values(config)),
        )
        self._sleep = sleep
        self._now = now
        self._not_before = 0.0

    def require(self, *fields: str) -> None:
        """Raise :class:`AuthenticationError` when a needed secret is missing."""
        for f in fields:
            if not secret(getattr(self.config, f, None)):
                raise AuthenticationError(self.name, f"no {f} configured")

    # ------------------------------------------------------------ pacing
    def before_attempt(self) -> None:
        pause = self._not_before - self._now()
        if pause > 0:
            self._sleep(pause)

    def after_reply(self, response: requests.Response, wait: float | None) -> None:
        if wait is not None and wait > 0:  # quota used up: wait before the next call
            self._not_before = self._now() + min(wait, self.max_retry_wait)

    def retry_after(self, resp: requests.Response) -> float | None:
        """A wait given in the body (Telegram's ``retry_after``) when headers give none."""
        return None

    def body_retry_after(self, response: requests.Response) -> float | None:
        return self.retry_after(response)

    # ------------------------------------------------------------ one call
    def request(
        self,
        method: str,
        path: str,
        *,
        idempotent: bool | None = None,
        keep: Callable[[requests.Response], bool] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """One call with the shared policy; returns the reply unless it is transient,
        refused credentials or a missing endpoint (each raised as its typed error).

        ``idempotent`` defaults to True for reads and to the channel's
        :attr:`idempotent` for the rest: a post on a channel without idempotency
        whose reply is lost raises :class:`~distributor.errors.OutcomeUnknown`.
        """
        if idempotent is None:
            idempotent = method.upper() in ("GET", "HEAD") or self.idempotent
        resp = self.send(method, path, idempotent=idempotent, keep=keep, **kwargs)
        if keep is not None and keep(resp):
            return resp
        where = self.redact(f"{method} {self.url(path).split('?')[0]}")
        if resp.status_code in (401, 403) and self.is_auth_failure(resp):
            raise AuthenticationError(self.name, self.redact(f"{where}: {describe_reply(resp)}"))
        if resp.status_code in CONFIG_STATUSES and self.is_config_failure(resp):
            raise ProviderConfigError(
                self.name,
                self.redact(f"{where} answered {describe_reply(resp)}: check base_url and the ids"),
                status=resp.status_code,
            )
        return resp

    def is_auth_failure(self, resp: requests.Response) -> bool:
        return resp.status_code == 401

    def is_config_failure(self, resp: requests.Response) -> bool:
        """A reply that says the endpoint is not there (networks refine this)."""
        return True

    def fail(self, resp: requests.Response, what: str) -> ProviderError:
        """The error for an unexpected 4xx reply: permanent for this post."""
        return ProviderError(self.name, self.redact(f"{what}: {describe_reply(resp)}"))

    def close(self) -> None:
        HttpBase.close(self)


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


def build_channel(
    name: str, settings: Settings, facts: NetworkFacts | None = None
) -> SocialChannel:
    """The channel configured under ``[social.NAME]``; an HTTP channel remembers what its
    network says about itself in ``facts`` (a fresh memory when None)."""
    config = settings.social[name]
    cls = social_channel_class(config.provider)
    if facts is not None and issubclass(cls, HttpChannel):
        channel = cls(name, config, settings, facts=facts)
    else:
        channel = cls(name, config, settings)
    assert isinstance(channel, SocialChannel)
    return channel
