"""The social channel interface: ``publish(post) -> DeliveryResult``.

Limits are declared as class data so composing a post needs no network.
"""

from __future__ import annotations

import abc
from typing import Any, ClassVar

from distributor.config import Settings
from distributor.models import DeliveryResult, Post
from distributor.registry import social_channel_class


class SocialChannel(abc.ABC):
    provider: ClassVar[str]
    idempotent: ClassVar[bool] = False
    max_chars: int = 500

    def __init__(self, name: str, config: Any, settings: Settings) -> None:
        self.name = name
        self.config = config
        self.settings = settings
        self.languages: tuple[str, ...] = tuple(getattr(config, "languages", ()) or ())

    def wants(self, language: str) -> bool:
        """Whether this channel posts stories in ``language`` (all, if none configured)."""
        if not self.languages:
            return True
        base = language.split("-")[0].lower()
        return any(
            lang == language or lang.split("-")[0].lower() == base for lang in self.languages
        )

    @abc.abstractmethod
    def publish(self, post: Post) -> DeliveryResult: ...

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default holds none."""


def build_channel(name: str, settings: Settings) -> SocialChannel:
    config = settings.social[name]
    channel = social_channel_class(config.provider)(name, config, settings)
    assert isinstance(channel, SocialChannel)
    return channel
