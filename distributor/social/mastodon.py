"""Mastodon: ``POST /api/v1/statuses`` with an ``Idempotency-Key``.

The card goes through ``POST /api/v2/media`` with its alt text; a ``202``
means the server is still processing it, so ``GET /api/v1/media/:id`` is
polled until it answers ``200``.  The text limit and the length every URL
counts (``characters_reserved_per_url``) come from ``GET /api/v2/instance``
(default 500 and 23), asked once an hour per instance and remembered across use
cases (:mod:`distributor.social.facts`).

The idempotency key is derived from the ledger key, so a retry of the same
post (after a timeout or a crash) is recognised by the server as the same
status -- Mastodon keeps keys for one hour.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from typing import Any, ClassVar, NamedTuple, cast

from distributor.config import MastodonConfig, Settings
from distributor.errors import ProviderError, TransientProviderError
from distributor.models import DeliveryResult, Post
from distributor.share.counting import Rules, mastodon_length, rules_for
from distributor.social.base import Counts, HttpChannel, card_file, read_card, secret


class InstanceLimits(NamedTuple):
    """What an instance says of posts: ``configuration.statuses`` of ``/api/v2/instance``."""

    max_characters: int
    characters_reserved_per_url: int


DEFAULT_LIMITS = InstanceLimits(500, 23)


class MastodonChannel(HttpChannel):
    provider = "mastodon"
    network = "mastodon"
    idempotent = True
    supports_counts = True
    supports_alt_text = True
    media_poll_attempts: ClassVar[int] = 20
    media_poll_interval: ClassVar[float] = 1.0

    def __init__(self, name: str, config: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(name, config, settings, **kwargs)
        assert isinstance(config, MastodonConfig)
        self.cfg = config

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {secret(self.cfg.access_token)}"}

    def instance_limits(self) -> InstanceLimits:
        """What the instance says of posts (``configuration.statuses``), asked once an
        hour per instance (:class:`~distributor.social.facts.NetworkFacts`); the
        defaults (500 characters, 23 per link) while it does not say."""
        return cast(
            InstanceLimits,
            self.facts.get(("mastodon", self.base_url), self._ask_instance, DEFAULT_LIMITS),
        )

    def instance_limit(self) -> int:
        """``configuration.statuses.max_characters`` of the instance (500 if it does not say)."""
        return self.instance_limits().max_characters

    def _ask_instance(self) -> InstanceLimits | None:
        try:
            resp = self.request("GET", "/api/v2/instance")
            if not resp.ok:
                return None
            statuses = resp.json().get("configuration", {}).get("statuses", {})
            return InstanceLimits(
                int(statuses.get("max_characters", 500)),
                int(statuses.get("characters_reserved_per_url", 23)),
            )
        except (ProviderError, ValueError, AttributeError):
            return None  # the defaults; posting will tell if the instance is down

    def rules(self) -> Rules:
        if self.cfg.max_chars:
            return rules_for("mastodon", limit=self.cfg.max_chars)
        if not self.cfg.enabled:  # dry run of a channel without credentials: no network
            return rules_for("mastodon")
        limits = self.instance_limits()
        url_length = limits.characters_reserved_per_url
        return replace(
            rules_for("mastodon", limit=limits.max_characters),
            count=lambda text: mastodon_length(text, url_length),
        )

    def upload(self, post: Post) -> str | None:
        data = read_card(post)
        if data is None:
            return None
        resp = self.request(
            "POST",
            "/api/v2/media",
            idempotent=True,  # a repeat leaves an unused attachment
            headers=self._auth(),
            files={"file": (*card_file(post)[:1], data, card_file(post)[1])},
            data={"description": post.alt_text[:1500]},
        )
        if resp.status_code not in (200, 202):
            raise self.fail(resp, "media upload")
        media = resp.json()
        media_id = str(media["id"])
        attempts = 0
        while resp.status_code == 202 or (resp.status_code == 206) or media.get("url") is None:
            attempts += 1
            if attempts > self.media_poll_attempts:
                raise TransientProviderError(self.name, f"media {media_id} still processing")
            self._sleep(self.media_poll_interval)
            resp = self.request("GET", f"/api/v1/media/{media_id}", headers=self._auth())
            if resp.status_code not in (200, 206):
                raise self.fail(resp, "media status")
            media = resp.json() if resp.status_code == 200 else {"url": None}
        return media_id

    def publish(self, post: Post) -> DeliveryResult:
        self.require("access_token")
        media_id = self.upload(post)
        body: dict[str, Any] = {
            "status": post.text,
            "language": post.language.split("-")[0],
            "visibility": self.cfg.visibility,
        }
        if media_id:
            body["media_ids"] = [media_id]
        key = hashlib.sha256(f"distributor:{post.key}".encode()).hexdigest()
        resp = self.request(
            "POST",
            "/api/v1/statuses",
            headers={**self._auth(), "Idempotency-Key": key},
            json=body,
        )
        if resp.status_code != 200:
            raise self.fail(resp, "status")
        status = resp.json()
        return DeliveryResult.sent(post.key, provider_id=str(status.get("url") or status["id"]))

    def read_counts(self, provider_ids: Sequence[str]) -> dict[str, Counts]:
        """``GET /api/v1/statuses/:id`` per post: ``favourites_count``, ``reblogs_count``,
        ``replies_count`` (a status that is gone, 404, is left out)."""
        out: dict[str, Counts] = {}
        headers = self._auth() if secret(self.cfg.access_token) else {}
        for pid in provider_ids:
            status_id = status_id_of(pid)
            resp = self.request(
                "GET",
                f"/api/v1/statuses/{status_id}",
                headers=headers,
                keep=lambda r: r.status_code == 404,
            )
            if resp.status_code == 404:
                continue
            if resp.status_code != 200:
                raise self.fail(resp, "status counts")
            body = resp.json()
            out[pid] = Counts(
                likes=_int(body.get("favourites_count")),
                reposts=_int(body.get("reblogs_count")),
                replies=_int(body.get("replies_count")),
            )
        return out


def status_id_of(provider_id: str) -> str:
    """The status id in what ``publish`` kept: the status URL (``.../@user/ID``) or the id."""
    return provider_id.rstrip("/").rsplit("/", 1)[-1]


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) else None
