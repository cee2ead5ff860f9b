"""Threads: a media container, then ``threads_publish``.

``POST /{version}/{user_id}/threads`` with ``media_type=TEXT``, the text and
``link_attachment`` (the link preview) returns a container id;
``POST /{version}/{user_id}/threads_publish`` with ``creation_id`` publishes
it.  Threads allows 500 characters.
"""

from __future__ import annotations

from typing import Any

from distributor.config import Settings, ThreadsConfig
from distributor.models import DeliveryResult, Post
from distributor.social.base import HttpChannel, secret


class ThreadsChannel(HttpChannel):
    provider = "threads"
    network = "threads"
    idempotent = False

    def __init__(self, name: str, config: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(name, config, settings, **kwargs)
        assert isinstance(config, ThreadsConfig)
        self.cfg = config

    def publish(self, post: Post) -> DeliveryResult:
        self.require("access_token")
        token = secret(self.cfg.access_token)
        base = f"/{self.cfg.api_version}/{self.cfg.user_id}"
        resp = self.request(
            "POST",
            f"{base}/threads",
            idempotent=True,  # a container is not a post until it is published
            data={
                "media_type": "TEXT",
                "text": post.text,
                "link_attachment": post.url,
                "access_token": token,
            },
        )
        if resp.status_code != 200:
            raise self.fail(resp, "create container")
        creation_id = str(resp.json()["id"])
        resp = self.request(
            "POST",
            f"{base}/threads_publish",
            data={"creation_id": creation_id, "access_token": token},
        )
        if resp.status_code != 200:
            raise self.fail(resp, "publish container")
        return DeliveryResult.sent(post.key, provider_id=str(resp.json()["id"]))
