"""Discord: an incoming webhook (the URL is the secret).

``POST {webhook_url}?wait=true`` as ``multipart/form-data``: ``payload_json``
with the content (2,000 characters) and an embed showing the attached card
(``attachment://card.jpg``), and the card as ``files[0]``.  Mentions are never
parsed (``allowed_mentions``), so a headline cannot ping anyone.  A 429 carries
``Retry-After`` and ``X-RateLimit-Reset-After``.
"""

from __future__ import annotations

import json
from typing import Any

from distributor.config import DiscordConfig, Settings
from distributor.models import DeliveryResult, Post
from distributor.social.base import HttpChannel, card_file, read_card, secret


class DiscordChannel(HttpChannel):
    provider = "discord"
    network = "discord"
    idempotent = False

    def __init__(self, name: str, config: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(name, config, settings, **kwargs)
        assert isinstance(config, DiscordConfig)
        self.cfg = config

    def publish(self, post: Post) -> DeliveryResult:
        self.require("webhook_url")
        url = secret(self.cfg.webhook_url)
        payload: dict[str, Any] = {"content": post.text, "allowed_mentions": {"parse": []}}
        if self.cfg.username:
            payload["username"] = self.cfg.username
        card = read_card(post)
        files: dict[str, Any] = {}
        if card is not None:
            filename, mime = card_file(post)
            payload["embeds"] = [
                {
                    "title": post.extra.get("title", "")[:256],
                    "url": post.url,
                    "image": {"url": f"attachment://{filename}"},
                }
            ]
            payload["attachments"] = [
                {"id": 0, "filename": filename, "description": post.alt_text[:1024]}
            ]
            files["files[0]"] = (filename, card, mime)
        files["payload_json"] = (None, json.dumps(payload), "application/json")
        resp = self.request("POST", url, params={"wait": "true"}, files=files)
        if resp.status_code == 200:
            return DeliveryResult.sent(post.key, provider_id=str(resp.json().get("id")))
        raise self.fail(resp, "webhook")
