"""Slack: an incoming webhook (the URL is the secret).

``POST {webhook_url}`` with JSON ``{"text": ...}``; ``&``, ``<`` and ``>`` are
escaped as Slack's ``mrkdwn`` requires and the link unfurls into a preview.
Slack answers ``ok`` or an error word (``invalid_payload``, ``no_service``,
``channel_is_archived``, ...).
"""

from __future__ import annotations

from typing import Any

import requests

from distributor.config import Settings, SlackConfig
from distributor.errors import AuthenticationError
from distributor.models import DeliveryResult, Post
from distributor.share.counting import slack_escape
from distributor.social.base import HttpChannel, secret

#: Slack's words for a webhook URL (the credential) that no longer works
REFUSED = ("no_service", "action_prohibited", "invalid_token")


class SlackChannel(HttpChannel):
    provider = "slack"
    network = "slack"
    idempotent = False

    def __init__(self, name: str, config: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(name, config, settings, **kwargs)
        assert isinstance(config, SlackConfig)
        self.cfg = config

    def is_config_failure(self, resp: requests.Response) -> bool:
        return resp.text.strip() not in REFUSED  # those are refused credentials, below

    def publish(self, post: Post) -> DeliveryResult:
        self.require("webhook_url")
        resp = self.request(
            "POST",
            secret(self.cfg.webhook_url),
            json={"text": slack_escape(post.text), "unfurl_links": True},
        )
        if resp.status_code == 200:
            return DeliveryResult.sent(post.key)
        if resp.status_code in (403, 404, 410) and resp.text.strip() in REFUSED:
            raise AuthenticationError(self.name, f"webhook refused: {resp.text.strip()}")
        raise self.fail(resp, "webhook")
