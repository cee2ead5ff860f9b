"""The source interface and the helpers every kind of source shares."""

from __future__ import annotations

import abc
import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import nh3
import requests

from distributor import __version__
from distributor.config import Settings, SourceConfig
from distributor.errors import SourceError
from distributor.models import Story

USER_AGENT = f"distributor/{__version__} (+https://github.com/distributor-news/distributor)"
_TAGS = re.compile(r"<[^>]*>")
_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one source gave: its stories and the problems found item by item."""

    source: str
    stories: tuple[Story, ...]
    problems: tuple[str, ...] = field(default=())


class Source(abc.ABC):
    """A place stories come from. ``fetch`` raises :class:`SourceError` or returns stories."""

    def __init__(
        self, name: str, config: SourceConfig, settings: Settings, session: requests.Session
    ) -> None:
        self.name = name
        self.config = config
        self.settings = settings
        self.session = session

    @abc.abstractmethod
    def fetch(self, now: datetime) -> FetchResult: ...

    def read(self, location: str) -> bytes:
        """Bytes of an http(s) URL or a local path, within the size cap."""
        cap = self.config.max_bytes
        if re.match(r"^https?://", location, re.I):
            try:
                with self.session.get(
                    location,
                    timeout=self.config.timeout,
                    stream=True,
                    headers={"User-Agent": USER_AGENT},
                ) as resp:
                    if resp.status_code >= 400:
                        raise SourceError(self.name, f"HTTP {resp.status_code} from {location}")
                    chunks, size = [], 0
                    for chunk in resp.iter_content(65536):
                        size += len(chunk)
                        if size > cap:
                            raise SourceError(self.name, f"{location} is larger than {cap} bytes")
                        chunks.append(chunk)
                    return b"".join(chunks)
            except requests.RequestException as err:
                raise SourceError(self.name, f"cannot fetch {location}: {err}") from err
        if "://" in location:
            raise SourceError(self.name, f"only http(s) URLs and local paths are read: {location}")
        path = self.settings.resolve(location)
        try:
            if path.stat().st_size > cap:
                raise SourceError(self.name, f"{path} is larger than {cap} bytes")
            return Path(path).read_bytes()
        except OSError as err:
            raise SourceError(self.name, f"cannot read {path}: {err.strerror}") from err


def plain_text(value: str) -> str:
    """Markup to plain text: tags stripped, entities decoded, whitespace collapsed."""
    text = nh3.clean(value, tags=set())
    return _SPACE.sub(" ", html.unescape(_TAGS.sub(" ", text))).strip()


def safe_html(value: str) -> str:
    """Untrusted HTML sanitized to a safe subset (no scripts, no event handlers)."""
    return nh3.clean(value, link_rel="noopener noreferrer").strip()


def build_source(
    name: str, config: SourceConfig, settings: Settings, session: requests.Session
) -> Source:
    """The source object for one ``[sources.NAME]`` section."""
    if config.kind == "feed":
        from distributor.sources.feed import FeedSource

        return FeedSource(name, config, settings, session)
    raise SourceError(name, f"unknown source kind {config.kind!r}")  # pragma: no cover
