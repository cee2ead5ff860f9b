"""The file channel: one JSON file per post, under ``outbox/social/<channel>/``."""

from __future__ import annotations

import json
import os
from typing import Any

from distributor.config import FileSocialConfig, Settings
from distributor.errors import TransientProviderError
from distributor.models import DeliveryResult, Post
from distributor.social.base import SocialChannel


class FileChannel(SocialChannel):
    provider = "file"
    idempotent = True

    def __init__(self, name: str, config: Any, settings: Settings) -> None:
        super().__init__(name, config, settings)
        assert isinstance(config, FileSocialConfig)
        self.max_chars = config.max_chars
        self.directory = settings.data_path(config.directory or f"outbox/social/{name}")

    def publish(self, post: Post) -> DeliveryResult:
        path = self.directory / (post.key.replace("/", "_") + ".json")
        document = {
            "channel": post.channel,
            "story_id": post.story_id,
            "language": post.language,
            "text": post.text,
            "url": post.url,
            "card": post.card_path,
            "alt_text": post.alt_text,
            **{k: v for k, v in post.extra.items() if k not in ("title", "description")},
        }
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(path.name + ".tmp")
            tmp.write_text(
                json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
            )
            os.replace(tmp, path)
        except OSError as err:
            raise TransientProviderError(self.name, f"cannot write {path}: {err}") from err
        return DeliveryResult.sent(post.key, provider_id=str(path))
