"""LinkedIn: the Posts API (``POST /rest/posts``) with an article.

Every call sends ``Linkedin-Version`` (YYYYMM, configurable) and
``X-Restli-Protocol-Version: 2.0.0``.  The card is uploaded first through the
Images API (``POST /rest/images?action=initializeUpload``, then ``PUT`` of the
bytes to the returned ``uploadUrl``) and used as the article's thumbnail.  The
commentary is "little text": reserved characters are escaped with a
backslash.  The post's URN comes back in the ``x-restli-id`` header.
"""

from __future__ import annotations

from typing import Any

from distributor.config import LinkedInConfig, Settings
from distributor.models import DeliveryResult, Post
from distributor.share.counting import linkedin_escape
from distributor.social.base import HttpChannel, read_card, secret


class LinkedInChannel(HttpChannel):
    provider = "linkedin"
    network = "linkedin"
    idempotent = False

    def __init__(self, name: str, config: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(name, config, settings, **kwargs)
        assert isinstance(config, LinkedInConfig)
        self.cfg = config

    def _headers(self) -> dict[str, str]:
        return {
            "Authorization": f"Bearer {secret(self.cfg.access_token)}",
            "Linkedin-Version": self.cfg.version,
            "X-Restli-Protocol-Version": "2.0.0",
        }

    def upload(self, post: Post) -> str | None:
        data = read_card(post)
        if data is None:
            return None
        resp = self.request(
            "POST",
            "/rest/images?action=initializeUpload",
            idempotent=True,  # a repeat leaves an unused image, never a second post
            headers=self._headers(),
            json={"initializeUploadRequest": {"owner": self.cfg.author}},
        )
        if resp.status_code != 200:
            raise self.fail(resp, "image initializeUpload")
        value = resp.json()["value"]
        put = self.request(
            "PUT",
            value["uploadUrl"],
            idempotent=True,
            headers={"Authorization": self._headers()["Authorization"]},
            data=data,
        )
        if put.status_code not in (200, 201):
            raise self.fail(put, "image upload")
        return str(value["image"])

    def publish(self, post: Post) -> DeliveryResult:
        self.require("access_token")
        article: dict[str, Any] = {
            "source": post.url,
            "title": post.extra.get("title", "")[:400],
        }
        if post.extra.get("description"):
            article["description"] = post.extra["description"][:4086]
        image = self.upload(post)
        if image:
            article["thumbnail"] = image
        body = {
            "author": self.cfg.author,
            "commentary": linkedin_escape(post.text),
            "visibility": "PUBLIC",
            "distribution": {
                "feedDistribution": "MAIN_FEED",
                "targetEntities": [],
                "thirdPartyDistributionChannels": [],
            },
            "content": {"article": article},
            "lifecycleState": "PUBLISHED",
            "isReshareDisabledByAuthor": False,
        }
        resp = self.request("POST", "/rest/posts", headers=self._headers(), json=body)
        if resp.status_code == 201:
            return DeliveryResult.sent(post.key, provider_id=resp.headers.get("x-restli-id"))
        raise self.fail(resp, "create post")
