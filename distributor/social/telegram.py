"""Telegram: ``sendPhoto`` with the post as its caption (``parse_mode=HTML``).

Captions hold 1,024 characters; with ``long_posts = true`` a longer text goes
as the photo followed by ``sendMessage`` (4,096).  Text is escaped exactly as
Telegram documents for HTML (``&lt; &gt; &amp;``).  A 429 carries
``parameters.retry_after``, which is honoured.
"""

from __future__ import annotations

from typing import Any

import requests

from distributor.config import Settings, TelegramConfig
from distributor.errors import AuthenticationError
from distributor.models import DeliveryResult, Post
from distributor.share.counting import Rules, rules_for, telegram_escape, utf16_units
from distributor.social.base import HttpChannel, card_file, read_card, secret

CAPTION_LIMIT = 1024
MESSAGE_LIMIT = 4096


class TelegramChannel(HttpChannel):
    provider = "telegram"
    network = "telegram"
    idempotent = False

    def __init__(self, name: str, config: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(name, config, settings, **kwargs)
        assert isinstance(config, TelegramConfig)
        self.cfg = config

    def rules(self) -> Rules:
        limit = self.cfg.max_chars or (MESSAGE_LIMIT if self.cfg.long_posts else CAPTION_LIMIT)
        return rules_for("telegram", limit=limit)

    def retry_after(self, resp: requests.Response) -> float | None:
        try:
            value = resp.json().get("parameters", {}).get("retry_after")
        except ValueError:
            return None
        return float(value) if value is not None else None

    def _call(self, method: str, **kwargs: Any) -> dict[str, Any]:
        token = secret(self.cfg.bot_token)
        resp = self.request("POST", f"/bot{token}/{method}", **kwargs)
        try:
            body = resp.json()
        except ValueError:
            body = {}
        if resp.status_code == 401:
            raise AuthenticationError(self.name, f"{method}: bot token refused")
        if not body.get("ok"):
            raise self.fail(resp, method)
        result = body.get("result", {})
        return result if isinstance(result, dict) else {}

    def publish(self, post: Post) -> DeliveryResult:
        self.require("bot_token")
        chat = self.cfg.chat_id
        text = telegram_escape(post.text)
        photo = read_card(post)
        if photo is None:
            msg = self._call(
                "sendMessage", data={"chat_id": chat, "text": text, "parse_mode": "HTML"}
            )
            return DeliveryResult.sent(post.key, provider_id=str(msg.get("message_id")))
        fits = utf16_units(post.text) <= CAPTION_LIMIT
        data = {"chat_id": chat}
        if fits:
            data |= {"caption": text, "parse_mode": "HTML"}
        name, mime = card_file(post)
        msg = self._call("sendPhoto", data=data, files={"photo": (name, photo, mime)})
        if not fits:
            msg = self._call(
                "sendMessage", data={"chat_id": chat, "text": text, "parse_mode": "HTML"}
            )
        return DeliveryResult.sent(post.key, provider_id=str(msg.get("message_id")))
