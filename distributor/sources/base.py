"""The source interface and polite, safe reading shared by every kind of source.

Reading goes through the one ``requests.Session`` of the run: a User-Agent
naming distributor, timeouts, a size cap counted on the decoded body (so a
gzip bomb stops at the cap too), at most :data:`MAX_REDIRECTS` redirects,
each checked to stay on http(s), and conditional GET (``If-None-Match`` /
``If-Modified-Since``) from the validators the caller kept from last time.
Only http(s) URLs and local paths are read.
"""

from __future__ import annotations

import abc
import re
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import requests

from distributor import __version__
from distributor.config import Settings, SourceConfig
from distributor.errors import SourceError
from distributor.models import Story
from distributor.sources.normalize import Defaults, plain_text, safe_html

__all__ = [
    "MAX_REDIRECTS",
    "USER_AGENT",
    "FetchResult",
    "Fetched",
    "Source",
    "Validators",
    "build_source",
    "plain_text",
    "safe_html",
]

USER_AGENT = f"distributor/{__version__} (+https://github.com/distributor-news/distributor)"
MAX_REDIRECTS = 5
_HTTP = re.compile(r"^https?://", re.I)


@dataclass(frozen=True, slots=True)
class Validators:
    """What a server said to identify a response, for the next conditional GET."""

    etag: str | None = None
    last_modified: str | None = None

    def __bool__(self) -> bool:
        return bool(self.etag or self.last_modified)


@dataclass(frozen=True, slots=True)
class Fetched:
    """One response (or file) read within the limits."""

    location: str  # the final URL after redirects, or the resolved path
    content: bytes
    content_type: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    validators: Validators = Validators()
    not_modified: bool = False


@dataclass(frozen=True, slots=True)
class FetchResult:
    """What one source gave: its stories and the problems found item by item.

    ``not_modified`` means the server answered 304: nothing was read and the
    stored stories stand.  ``validators`` are to be kept for the next fetch.
    """

    source: str
    stories: tuple[Story, ...]
    problems: tuple[str, ...] = field(default=())
    not_modified: bool = False
    validators: Validators = Validators()
    location: str = ""


class Source(abc.ABC):
    """A place stories come from. ``fetch`` raises :class:`SourceError` or returns stories."""

    accept = "*/*"

    def __init__(
        self, name: str, config: SourceConfig, settings: Settings, session: requests.Session
    ) -> None:
        self.name = name
        self.config = config
        self.settings = settings
        self.session = session

    @abc.abstractmethod
    def fetch(self, now: datetime, validators: Validators | None = None) -> FetchResult:
        """Read the source; with ``validators`` from last time, ask only for changes."""

    def defaults(self, base_url: str | None = None) -> Defaults:
        """The fallbacks and rules of this source for :func:`normalize`."""
        cfg = self.config
        return Defaults(
            source=self.name,
            language=cfg.language or self.settings.newsroom.default_language,
            zone=ZoneInfo(cfg.timezone),
            translation_pattern=cfg.translation_pattern,
            base_url=base_url,
            status_values=dict(getattr(cfg, "status_values", {})),
        )

    def read(
        self,
        location: str,
        validators: Validators | None = None,
        headers: dict[str, str] | None = None,
    ) -> Fetched:
        """An http(s) URL or a local path, within the limits of this source's config."""
        if _HTTP.match(location):
            return self._get(location, validators, headers or {})
        if "://" in location or location.lower().startswith(("file:", "data:")):
            raise SourceError(self.name, f"only http(s) URLs and local paths are read: {location}")
        path = self.settings.resolve(location)
        cap = self.config.max_bytes
        try:
            if path.stat().st_size > cap:
                raise SourceError(self.name, f"{path} is larger than the size cap ({cap} bytes)")
            return Fetched(str(path), Path(path).read_bytes())
        except OSError as err:
            raise SourceError(self.name, f"cannot read {path}: {err.strerror}") from err

    def _get(self, url: str, validators: Validators | None, extra: dict[str, str]) -> Fetched:
        cfg = self.config
        headers = {"User-Agent": USER_AGENT, "Accept": self.accept, **extra}
        headers.setdefault("Accept-Encoding", "gzip, deflate")
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        seen = [url]
        deadline = time.monotonic() + cfg.timeout * 3
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                resp = self.session.get(
                    url, timeout=cfg.timeout, stream=True, allow_redirects=False, headers=headers
                )
                if not resp.is_redirect:
                    break
                target = urljoin(url, resp.headers["location"])
                resp.close()
                if urlsplit(target).scheme.lower() not in ("http", "https"):
                    raise SourceError(self.name, f"{url} redirects to a non-http(s) URL {target}")
                if target in seen:
                    raise SourceError(self.name, f"redirect loop: {' -> '.join([*seen, target])}")
                seen.append(target)
                url = target
            else:
                resp.close()
                raise SourceError(self.name, f"more than {MAX_REDIRECTS} redirects from {seen[0]}")
            with resp:
                if resp.status_code == 304:
                    return Fetched(
                        url, b"", validators=validators or Validators(), not_modified=True
                    )
                if resp.status_code >= 400:
                    raise SourceError(
                        self.name, f"HTTP {resp.status_code} {resp.reason or ''} from {url}".strip()
                    )
                declared = resp.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > cfg.max_bytes:
                    raise SourceError(
                        self.name,
                        f"{url} is larger than the size cap ({declared} > {cfg.max_bytes} bytes)",
                    )
                chunks, size = [], 0
                for chunk in resp.iter_content(65536):
                    size += len(chunk)
                    if size > cfg.max_bytes:
                        raise SourceError(
                            self.name, f"{url} is larger than the size cap ({cfg.max_bytes} bytes)"
                        )
                    if time.monotonic() > deadline:
                        raise SourceError(self.name, f"{url} is too slow to read; gave up")
                    chunks.append(chunk)
                return Fetched(
                    url,
                    b"".join(chunks),
                    content_type=resp.headers.get("Content-Type", ""),
                    headers={k.lower(): v for k, v in resp.headers.items()},
                    validators=Validators(
                        resp.headers.get("ETag"), resp.headers.get("Last-Modified")
                    ),
                )
        except requests.Timeout as err:
            raise SourceError(self.name, f"{url} timed out after {cfg.timeout:g}s") from err
        except requests.ConnectionError as err:
            raise SourceError(self.name, f"cannot connect to {url}: {_reason(err)}") from err
        except requests.RequestException as err:
            raise SourceError(self.name, f"cannot fetch {url}: {err}") from err


class DocumentSource(Source):
    """A source that is one document at ``config.url`` (a feed): read it, then parse it.

    Conditional GET: with the validators of the last fetch, an unchanged document
    costs one 304 and nothing is parsed.
    """

    def fetch(self, now: datetime, validators: Validators | None = None) -> FetchResult:
        fetched = self.read(self.config.url, validators)  # type: ignore[union-attr]
        if fetched.not_modified:
            return FetchResult(
                self.name,
                (),
                not_modified=True,
                validators=fetched.validators,
                location=fetched.location,
            )
        stories, problems = self.parse(fetched, now)
        return FetchResult(
            self.name, stories, problems, validators=fetched.validators, location=fetched.location
        )

    @abc.abstractmethod
    def parse(self, fetched: Fetched, now: datetime) -> tuple[tuple[Story, ...], tuple[str, ...]]:
        """Stories and problems from the bytes of the document."""


def _reason(err: Exception) -> str:
    text = str(err)
    for known in ("Connection refused", "Name or service not known", "Connection reset"):
        if known in text:
            return known.lower()
    return text[:200]


SOURCE_KINDS: dict[str, str] = {
    "feed": "distributor.sources.feed:FeedSource",
    "jsonfeed": "distributor.sources.jsonfeed:JsonFeedSource",
    "api": "distributor.sources.api:ApiSource",
    "markdown": "distributor.sources.markdown:MarkdownSource",
}


def build_source(
    name: str, config: SourceConfig, settings: Settings, session: requests.Session
) -> Source:
    """The source object for one ``[sources.NAME]`` section."""
    import importlib

    target = SOURCE_KINDS.get(config.kind)
    if target is None:  # pragma: no cover - the config refuses unknown kinds
        raise SourceError(name, f"unknown source kind {config.kind!r}")
    module, _, attr = target.partition(":")
    cls = getattr(importlib.import_module(module), attr)
    source: Source = cls(name, config, settings, session)
    return source
