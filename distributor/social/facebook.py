"""Facebook: a link post on a Page's feed (``POST /{version}/{page_id}/feed``).

Facebook builds the link preview from the story page's ``og:*`` tags, so the
card is not uploaded.  Graph API errors come as ``{"error": {"code": ...}}``:
code 190 is an expired or revoked token; 4, 17, 32 and 613 are rate limits.
"""

from __future__ import annotations

from typing import Any

import requests

from distributor.config import FacebookConfig, Settings
from distributor.errors import AuthenticationError
from distributor.models import DeliveryResult, Post
from distributor.social.base import HttpChannel, secret

RATE_LIMIT_CODES = {4, 17, 32, 613}


def _graph_error(resp: requests.Response) -> dict[str, Any]:
    try:
        err = resp.json().get("error", {})
    except ValueError:
        return {}
    return err if isinstance(err, dict) else {}


class FacebookChannel(HttpChannel):
    provider = "facebook"
    network = "facebook"
    idempotent = False

    def __init__(self, name: str, config: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(name, config, settings, **kwargs)
        assert isinstance(config, FacebookConfig)
        self.cfg = config

    def is_rate_limited(self, resp: requests.Response) -> bool:
        return resp.status_code >= 400 and _graph_error(resp).get("code") in RATE_LIMIT_CODES

    def publish(self, post: Post) -> DeliveryResult:
        self.require("page_access_token")
        resp = self.request(
            "POST",
            f"/{self.cfg.api_version}/{self.cfg.page_id}/feed",
            data={
                "message": post.text,
                "link": post.url,
                "access_token": secret(self.cfg.page_access_token),
            },
        )
        if resp.status_code == 200:
            return DeliveryResult.sent(post.key, provider_id=str(resp.json()["id"]))
        if _graph_error(resp).get("code") == 190:
            raise AuthenticationError(self.name, "page access token refused (code 190)")
        raise self.fail(resp, "page feed")
