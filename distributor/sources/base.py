"""The source interface and polite, safe reading shared by every kind of source.

Reading goes through the one ``requests.Session`` of the run: a User-Agent
naming distributor, timeouts, a size cap counted on the decoded body (so a
gzip bomb stops at the cap too), at most :data:`MAX_REDIRECTS` redirects,
each checked to stay on http(s), and conditional GET (``If-None-Match`` /
``If-Modified-Since``) from the validators the caller kept from last time.
Only http(s) URLs and local paths are read.

Each fetch has an overall deadline (connection, redirects, headers and body
together), so a server that trickles bytes is given up on; credentials (the
API token) go only to the origin they were configured for.  What parsing one
source raises stays that source's (:func:`contained`).
"""

from __future__ import annotations

import abc
import contextlib
import logging
import re
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import urljoin, urlsplit
from zoneinfo import ZoneInfo

import requests

from distributor import __version__
from distributor.config import Settings, SourceConfig
from distributor.errors import DistributorError, HttpStatusError, SourceError
from distributor.models import Story
from distributor.sources.normalize import Defaults, plain_text, safe_html

__all__ = [
    "MAX_REDIRECTS",
    "USER_AGENT",
    "Credentials",
    "FetchResult",
    "Fetched",
    "Source",
    "Validators",
    "build_source",
    "contained",
    "plain_text",
    "safe_html",
]

USER_AGENT = f"distributor/{__version__} (+https://github.com/distributor-news/distributor)"
MAX_REDIRECTS = 5
_HTTP = re.compile(r"^https?://", re.I)
log = logging.getLogger(__name__)


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
            max_items=cfg.max_items,
        )

    def read(
        self,
        location: str,
        validators: Validators | None = None,
        headers: dict[str, str] | None = None,
        credentials: Credentials | None = None,
    ) -> Fetched:
        """An http(s) URL or a local path, within the limits of this source's config.

        ``credentials`` are sent only to their own origin: never on a redirect
        (or to a URL) elsewhere.
        """
        if _HTTP.match(location):
            return self._get(location, validators, headers or {}, credentials)
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

    @property
    def deadline(self) -> float:
        """Seconds the whole of one fetch may take: ``deadline``, else three times ``timeout``."""
        return self.config.deadline or self.config.timeout * 3

    def _get(
        self,
        url: str,
        validators: Validators | None,
        extra: dict[str, str],
        credentials: Credentials | None,
    ) -> Fetched:
        """One fetch in a worker thread, given up at the deadline whatever the server does.

        A server trickling bytes (or a name that takes long to resolve) cannot
        hold the run: per-read timeouts do not bound a whole transfer, this does.
        """
        transfer = _Transfer()
        done = threading.Event()

        def work() -> None:
            try:
                transfer.result = self._transfer(url, validators, extra, credentials, transfer)
            except Exception as err:  # handed to the caller's thread, raised there
                transfer.error = err
            finally:
                done.set()

        worker = threading.Thread(target=work, name=f"source-{self.name}", daemon=True)
        worker.start()
        if not done.wait(self.deadline):
            transfer.abort()
            raise SourceError(
                self.name, f"{url} did not arrive within {self.deadline:g}s (the deadline); gave up"
            )
        if transfer.error is not None:
            raise transfer.error
        assert transfer.result is not None
        return transfer.result

    def _transfer(
        self,
        url: str,
        validators: Validators | None,
        extra: dict[str, str],
        credentials: Credentials | None,
        transfer: _Transfer,
    ) -> Fetched:
        cfg = self.config
        headers = {"User-Agent": USER_AGENT, "Accept": self.accept, **extra}
        headers.setdefault("Accept-Encoding", "gzip, deflate")
        if validators and validators.etag:
            headers["If-None-Match"] = validators.etag
        if validators and validators.last_modified:
            headers["If-Modified-Since"] = validators.last_modified
        seen = [url]
        try:
            for _hop in range(MAX_REDIRECTS + 1):
                sent = headers
                if credentials is not None and credentials.may_go_to(url):
                    sent = {**headers, **credentials.headers}
                resp = self.session.get(
                    url, timeout=cfg.timeout, stream=True, allow_redirects=False, headers=sent
                )
                transfer.response = resp
                if transfer.aborted:
                    resp.close()
                    raise SourceError(self.name, f"{url}: given up at the deadline")
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
                    raise HttpStatusError(
                        self.name,
                        f"HTTP {resp.status_code} {resp.reason or ''} from {url}".strip(),
                        resp.status_code,
                    )
                declared = resp.headers.get("Content-Length", "")
                if declared.isdigit() and int(declared) > cfg.max_bytes:
                    raise SourceError(
                        self.name,
                        f"{url} is larger than the size cap ({declared} > {cfg.max_bytes} bytes)",
                    )
                chunks, size = [], 0
                for chunk in resp.iter_content(8192):
                    if transfer.aborted:
                        raise SourceError(self.name, f"{url}: given up at the deadline")
                    size += len(chunk)
                    if size > cfg.max_bytes:
                        raise SourceError(
                            self.name, f"{url} is larger than the size cap ({cfg.max_bytes} bytes)"
                        )
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
        except ValueError as err:  # e.g. a redirect to a URL with an out-of-range port
            raise SourceError(self.name, f"cannot fetch {url}: not a valid URL") from err


class _Transfer:
    """The state of one fetch, shared by the worker thread and the caller's."""

    def __init__(self) -> None:
        self.result: Fetched | None = None
        self.error: Exception | None = None
        self.response: requests.Response | None = None
        self.aborted = False

    def abort(self) -> None:
        """Stop the transfer: the worker stops at its next step; a blocked read is woken."""
        self.aborted = True
        resp = self.response
        connection = getattr(getattr(resp, "raw", None), "connection", None)
        sock = getattr(connection, "sock", None)
        if isinstance(sock, socket.socket):
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


@dataclass(frozen=True, slots=True)
class Credentials:
    """Request headers (a token) for one origin only: scheme, host and port."""

    origin: tuple[str, str, int]
    headers: dict[str, str]

    @classmethod
    def for_url(cls, url: str, headers: dict[str, str]) -> Credentials:
        """Credentials for the origin of ``url``."""
        return cls(origin_of(url), headers)

    def may_go_to(self, url: str) -> bool:
        """Whether ``url`` is on the origin these credentials were configured for."""
        try:
            return origin_of(url) == self.origin
        except ValueError:
            return False


def origin_of(url: str) -> tuple[str, str, int]:
    """The origin of a URL (RFC 6454): scheme, lowercased host, port (default filled in)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme, 0)
    return scheme, (parts.hostname or "").lower(), port


@contextlib.contextmanager
def contained(name: str) -> Iterator[None]:
    """One source's failure stays that source's: what reading it raises becomes a SourceError.

    Exhaustion (a JSON Feed nested thousands deep, a memory bomb) and errors
    nobody foresaw are reported in words for this source, and the run goes on.
    """
    try:
        yield
    except DistributorError:
        raise
    except RecursionError as err:
        raise SourceError(name, "nested too deeply to read; skipped") from err
    except MemoryError as err:
        raise SourceError(name, "too large to read in memory; skipped") from err
    except Exception as err:
        log.exception("source %s: unexpected error", name)
        raise SourceError(
            name, f"could not be read: unexpected {type(err).__name__} (a bug; please report it)"
        ) from err


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
        with contained(self.name):
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
