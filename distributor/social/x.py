"""X: ``POST /2/tweets`` signed with OAuth 1.0a (requests-oauthlib).

The card is uploaded with ``POST /2/media/upload`` (``media_category =
tweet_image``) and its alt text set with ``POST /2/media/metadata``.  X has no
idempotency key; a "duplicate content" refusal means the same text was
already posted, and is recorded as sent.
"""

from __future__ import annotations

from typing import Any

import requests
from requests_oauthlib import OAuth1

from distributor.config import Settings, XConfig
from distributor.models import DeliveryResult, Post
from distributor.social.base import HttpChannel, card_file, read_card, secret


class XChannel(HttpChannel):
    provider = "x"
    network = "x"
    idempotent = False
    supports_alt_text = True
    max_image_bytes = 5_000_000

    def __init__(self, name: str, config: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(name, config, settings, **kwargs)
        assert isinstance(config, XConfig)
        self.cfg = config

    def _oauth(self) -> OAuth1:
        self.require("api_key", "api_secret", "access_token", "access_token_secret")
        return OAuth1(
            secret(self.cfg.api_key),
            secret(self.cfg.api_secret),
            secret(self.cfg.access_token),
            secret(self.cfg.access_token_secret),
        )

    def upload(self, post: Post, auth: OAuth1) -> str | None:
        data = read_card(post)
        if data is None or len(data) > (self.max_image_bytes or 0):
            return None
        resp = self.request(
            "POST",
            "/2/media/upload",
            idempotent=True,  # a repeat leaves an unused upload, never a second post
            auth=auth,
            files={"media": (*card_file(post)[:1], data, card_file(post)[1])},
            data={"media_category": "tweet_image"},
        )
        if resp.status_code not in (200, 201):
            raise self.fail(resp, "media upload")
        media_id = str(resp.json()["data"]["id"])
        if post.alt_text:
            resp = self.request(
                "POST",
                "/2/media/metadata",
                idempotent=True,
                auth=auth,
                json={"id": media_id, "metadata": {"alt_text": {"text": post.alt_text[:1000]}}},
            )
            if resp.status_code not in (200, 201):
                raise self.fail(resp, "media alt text")
        return media_id

    def publish(self, post: Post) -> DeliveryResult:
        auth = self._oauth()
        body: dict[str, Any] = {"text": post.text}
        media_id = self.upload(post, auth)
        if media_id:
            body["media"] = {"media_ids": [media_id]}
        resp = self.request("POST", "/2/tweets", auth=auth, json=body)
        if resp.status_code in (200, 201):
            return DeliveryResult.sent(post.key, provider_id=str(resp.json()["data"]["id"]))
        if resp.status_code == 403 and _is_duplicate(resp):
            return DeliveryResult.sent(post.key, provider_id="duplicate: already posted")
        raise self.fail(resp, "create post")


def _is_duplicate(resp: requests.Response) -> bool:
    try:
        body = resp.json()
    except ValueError:
        return False
    text = " ".join(str(body.get(k, "")) for k in ("detail", "title")).lower()
    return "duplicate" in text
