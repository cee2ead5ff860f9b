"""Following and counting click links (issue 17): ``GET /r/<token>`` and ``/o/<token>.gif``.

:class:`ClickRecorder` (one per web app) reads a token, finds where it goes and decides
whether the request counts: a ``HEAD``, a known link scanner soon after the edition was
sent, a bot, a client over its rate limit, and a sweep of many links of one message at
once are machine requests (counted apart, never as clicks).  Unique clicks are told by
salted digests of (client address, browser, link) whose salt changes every day and is
deleted with the day's digests; no address is ever written.  Clicks are held for
``burst_seconds`` (so a sweep can still be taken back) and then written in batches:
one upsert per key and hour (``distributor.store.clicks``).  See ``docs/privacy.md``.
"""

from __future__ import annotations

import hashlib
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Literal

from sqlalchemy.exc import NoResultFound, SQLAlchemyError

from distributor.clock import Clock
from distributor.config import Settings
from distributor.errors import LinkError, StoreError
from distributor.models import Edition, Story
from distributor.pipeline import make_links
from distributor.render.tracking import ClickLinks, ClickToken
from distributor.share.links import NETWORKS, edition_campaign, share_links
from distributor.store import Store
from distributor.store.clicks import ClickEvent, ClickStore

#: link scanners and mail security gateways: machine requests when they come soon after
#: the edition was sent (they fetch every link of a message as it arrives)
SCANNERS = (
    "barracuda",
    "mimecast",
    "proofpoint",
    "safelinks",
    "microsoft office",
    "ms-office",
    "forcepoint",
    "trendmicro",
    "symantec",
    "sophos",
    "fortinet",
    "cisco",
    "ironport",
    "checkpoint",
    "zscaler",
    "python-urllib",
    "go-http-client",
    "curl/",
    "wget/",
)
#: never a reader, whenever they come: crawlers, link previews, image proxies
BOTS = (
    "bot",
    "crawler",
    "spider",
    "preview",
    "facebookexternalhit",
    "googleimageproxy",
    "yahoomailproxy",
    "headless",
)
_BOTS = re.compile("|".join(map(re.escape, BOTS)))
_SCANNERS = re.compile("|".join(map(re.escape, SCANNERS)))
_GIF = (
    b"GIF89a\x01\x00\x01\x00\x80\x00\x00\x00\x00\x00\xff\xff\xff!\xf9\x04\x01\x00\x00\x00\x00"
    b",\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"
)


@dataclass(frozen=True, slots=True)
class ClickOutcome:
    """What the door answers: a redirect to ``location``, or a plain page (``problem``)."""

    action: Literal["redirect", "page", "pixel"]
    status: int
    location: str = ""
    problem: str = ""  # bad | expired | gone | target (the page's reason)
    counted: Literal["click", "machine", "no"] = "no"
    newsroom: str = ""
    newsroom_url: str = ""

    @property
    def body(self) -> bytes:
        return _GIF if self.action == "pixel" else b""


@dataclass(frozen=True, slots=True)
class _Target:
    edition: Edition
    url: str
    story_id: str


@dataclass
class _Held:
    due: float
    event: ClickEvent
    sweep_key: tuple[str, int]


class ClickRecorder:
    """Follows click links and counts them; one per web app process (thread-safe)."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Clock,
        *,
        monotonic: Callable[[], float] = time.monotonic,
        background: bool = True,
    ) -> None:
        self.settings = settings
        self.config = settings.clicks
        self.clock = clock
        self.store = store
        self.clicks = ClickStore(store)
        self.links = ClickLinks(settings.secret_key.get_secret_value(), settings.web.base_url)
        self._monotonic = monotonic
        self._lock = threading.Lock()
        self._held: list[_Held] = []
        self._variants: dict[int, tuple[float, tuple[Edition, dict[str, Story]] | None]] = {}
        self._shares: dict[tuple[int, int], dict[str, str]] = {}
        self._salt: tuple[str, bytes] | None = None
        self._rate: dict[str, tuple[int, int]] = {}
        self._recent: dict[tuple[str, int], list[tuple[float, tuple[int, str, str]]]] = {}
        self._sweeping: set[tuple[str, int]] = set()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        if background:
            self._thread = threading.Thread(target=self._loop, name="click-flush", daemon=True)
            self._thread.start()

    # ---------------------------------------------------------------- doors
    def follow(
        self,
        token: str,
        *,
        reader: str | None,
        method: str,
        user_agent: str,
        client: str,
    ) -> ClickOutcome:
        """A click on ``/r/<token>``: where to send the reader, and whether it counted."""
        try:
            tok = self.links.read(token, self.clock(), self._max_age)
            if tok.kind == "open":
                raise LinkError("bad", "not a click link")
            if tok.preview:  # a preview's or test send's link: redirected, never counted
                return ClickOutcome("redirect", 302, location=self._preview_target(tok))
            target = self._target(tok)
        except LinkError as err:
            return self._page(err.reason)
        counted = self._count(tok, target, reader, method, user_agent, client)
        return ClickOutcome("redirect", 302, location=target.url, counted=counted)

    def target(self, token: str) -> str:
        """Where a click link leads, without counting it; :class:`LinkError` when it leads
        nowhere."""
        tok = self.links.read(token, self.clock(), self._max_age)
        if tok.kind == "open":
            raise LinkError("bad", "not a click link")
        if tok.preview:
            return self._preview_target(tok)
        return self._target(tok).url

    def opened(
        self, token: str, *, reader: str | None, method: str, user_agent: str, client: str
    ) -> ClickOutcome:
        """An open pixel: always the same 1x1 GIF; counted (as unreliable) when it is ours."""
        try:
            tok = self.links.read(token, self.clock(), self._max_age)
            if tok.kind != "open":
                raise LinkError("bad", "not an open pixel")
            if tok.preview:
                return ClickOutcome("pixel", 200)
            edition = self._edition(tok.edition_id)
        except LinkError:
            return ClickOutcome("pixel", 200)
        target = _Target(edition, "", "")
        counted = self._count(tok, target, reader, method, user_agent, client)
        return ClickOutcome("pixel", 200, counted=counted)

    def _page(self, reason: str) -> ClickOutcome:
        status = {"bad": 404, "expired": 410, "gone": 410, "target": 404}.get(reason, 404)
        return ClickOutcome(
            "page",
            status,
            problem=reason,
            newsroom=self.settings.newsroom.name,
            newsroom_url=self.settings.newsroom.url,
        )

    @property
    def _max_age(self) -> int:
        return self.config.token_max_age_days * 86400

    # -------------------------------------------------------------- targets
    def _edition(self, edition_id: int) -> Edition:
        try:
            return self.store.edition(edition_id)
        except NoResultFound as err:
            raise LinkError("gone", "this edition no longer exists") from err

    def _target(self, tok: ClickToken) -> _Target:
        edition, stories = self._variant(tok.edition_id)
        if not 0 <= tok.index < len(edition.story_ids):
            raise LinkError("gone", "this story is no longer in the edition")
        story = stories.get(edition.story_ids[tok.index])
        if story is None:
            raise LinkError("gone", "this story no longer exists")
        url = story.url
        if tok.kind == "share":
            campaign = edition_campaign(edition.list_name, edition.key)
            url = self._share_url(story, campaign, tok.network, (tok.edition_id, tok.index))
        return _Target(edition, _web_page(url), story.id)

    def _share_url(
        self, story: Story, campaign: str, network: str, key: tuple[int, int] | None
    ) -> str:
        """The share page of ``story`` on ``network``, as the digest's link made it."""
        if network not in NETWORKS:
            raise LinkError("target", "no such network")
        with self._lock:
            shares = self._shares.get(key) if key is not None else None
        if shares is None:
            shares = {
                link.network: link.url
                for link in make_links([story], campaign, self.settings.share)[story.id]
            }
            if key is not None:
                with self._lock:
                    self._shares[key] = shares
        url = shares.get(network) or ""
        if not url:  # a network no longer configured: its link as it was made
            url = share_links(story, campaign=campaign, networks=(network,))[0].url
        return url

    def _preview_target(self, tok: ClickToken) -> str:
        """Where a preview's link leads: the story (or its share page) it names."""
        story = self.store.stories_by_id([tok.story_id]).get(tok.story_id)
        if story is None:
            raise LinkError("gone", "this story no longer exists")
        if tok.kind == "share":
            return _web_page(self._share_url(story, tok.campaign, tok.network, None))
        return _web_page(story.url)

    def _variant(self, edition_id: int) -> tuple[Edition, dict[str, Story]]:
        """An edition and its stories, read once a minute at most (a deleted one too)."""
        now = self._monotonic()
        with self._lock:
            cached = self._variants.get(edition_id)
        if cached is not None and now - cached[0] < 60:
            if cached[1] is None:
                raise LinkError("gone", "this edition no longer exists")
            return cached[1]
        try:
            edition = self._edition(edition_id)
        except LinkError:
            with self._lock:
                self._variants[edition_id] = (now, None)
            raise
        found = (edition, self.store.stories_by_id(list(edition.story_ids)))
        with self._lock:
            if len(self._variants) > 5_000:
                self._variants.clear()
                self._shares.clear()
            self._variants[edition_id] = (now, found)
        return found

    # ------------------------------------------------------------- counting
    def _count(
        self,
        tok: ClickToken,
        target: _Target,
        reader: str | None,
        method: str,
        user_agent: str,
        client: str,
    ) -> Literal["click", "machine"]:
        now = self.clock()
        stamp = now.timestamp()
        hour = datetime.fromtimestamp(stamp - stamp % 3600, UTC)
        salt = self._day_salt(hour.strftime("%Y-%m-%d"))
        who = hashlib.blake2b(
            f"{client}\0{user_agent}".encode(), key=salt, digest_size=16
        ).hexdigest()
        link = (tok.index, tok.kind, tok.network)
        sweep_key = (who, tok.edition_id)
        age = stamp - tok.issued_at
        machine = (
            method.upper() == "HEAD"
            or self._machine_agent(user_agent, age)
            # an image fetched as the mail arrives is a privacy proxy's (Apple Mail)
            or (tok.kind == "open" and age <= self.config.scanner_window_seconds)
            or self._over_limit(who, now)
        )
        edition = target.edition
        list_cfg = self.settings.lists.get(edition.list_name)
        subscriber_id = None
        if reader and list_cfg is not None and list_cfg.tracking == "per_reader":
            subscriber_id = self.links.read_reader(reader)
        event = ClickEvent(
            edition_id=tok.edition_id,
            story_index=tok.index,
            kind=tok.kind,
            network=tok.network,
            hour=hour,
            machine=machine,
            link_digest=_digest(who, tok.edition_id, *link),
            variant_digest=_digest(who, tok.edition_id) if tok.kind != "open" else "",
            subscriber_id=subscriber_id,
            at=now,
        )
        mono = self._monotonic()
        with self._lock:
            if not machine and tok.kind != "open":
                machine = self._sweep(sweep_key, link, mono)
                if machine:
                    event = replace(event, machine=True)
            self._held.append(_Held(mono + self.config.burst_seconds, event, sweep_key))
        if self.config.flush_seconds == 0:
            self.flush()
        return "machine" if machine else "click"

    def _machine_agent(self, user_agent: str, age: float) -> bool:
        agent = user_agent.lower()
        if not agent.strip() or _BOTS.search(agent):
            return True
        soon = age <= self.config.scanner_window_seconds
        return soon and _SCANNERS.search(agent) is not None

    def _over_limit(self, who: str, now: datetime) -> bool:
        minute = int(now.timestamp() // 60)
        with self._lock:
            seen_minute, count = self._rate.get(who, (minute, 0))
            if seen_minute != minute:
                if len(self._rate) > 100_000:
                    self._rate.clear()
                count = 0
            count += 1
            self._rate[who] = (minute, count)
        return count > self.config.rate_limit_per_minute

    def _sweep(self, key: tuple[str, int], link: tuple[int, str, str], mono: float) -> bool:
        """Whether this click makes (or continues) a sweep of the message's links; the
        sweep's held clicks become machine requests.  Called with the lock held."""
        if key in self._sweeping:
            return True
        window = self.config.burst_seconds
        recent = [(t, lk) for t, lk in self._recent.get(key, []) if mono - t <= window]
        recent.append((mono, link))
        self._recent[key] = recent
        if len({lk for _t, lk in recent}) < self.config.burst_links:
            return False
        self._sweeping.add(key)
        for held in self._held:
            if held.sweep_key == key and not held.event.machine:
                held.event = replace(held.event, machine=True, subscriber_id=None)
        return True

    def _day_salt(self, day: str) -> bytes:
        with self._lock:
            if self._salt is not None and self._salt[0] == day:
                return self._salt[1]
        salt = bytes.fromhex(self.clicks.salt_for(day))
        with self._lock:
            if self._salt is None or self._salt[0] != day:  # a new day: forget yesterday
                self._recent.clear()
                self._sweeping.clear()
                self._rate.clear()
            self._salt = (day, salt)
        return salt

    # -------------------------------------------------------------- writing
    def flush(self, *, force: bool = False) -> int:
        """Write the held clicks whose sweep window is over (all with ``force``)."""
        mono = self._monotonic()
        with self._lock:
            if self.config.flush_seconds == 0 or force:
                ready, self._held = self._held, []
            else:
                ready = [h for h in self._held if h.due <= mono]
                self._held = [h for h in self._held if h.due > mono]
            if len(self._recent) > 10_000:
                self._recent = {
                    k: v
                    for k, v in self._recent.items()
                    if v and mono - v[-1][0] <= self.config.burst_seconds
                }
        if not ready:
            return 0
        day = self.clock().astimezone(UTC).strftime("%Y-%m-%d")
        try:
            self.clicks.record([h.event for h in ready], day)
        except SQLAlchemyError as err:  # kept for the next flush, not lost
            with self._lock:
                self._held = ready + self._held
            raise StoreError(f"cannot write click counts: {err}") from err
        return len(ready)

    def _loop(self) -> None:
        interval = max(self.config.flush_seconds, 0.05)
        while not self._stop.wait(interval):
            try:
                self.flush()
            except StoreError:  # the clicks are held; the next tick tries again
                time.sleep(interval)

    def close(self) -> None:
        """Stop the writer and write everything still held."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.flush(force=True)


def _web_page(url: str) -> str:
    if not url.lower().startswith(("https://", "http://")):
        raise LinkError("target", "this link does not lead to a web page")
    return url


def _digest(who: str, edition_id: int, *link: object) -> str:
    text = "\0".join([who, str(edition_id), *map(str, link)])
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()
