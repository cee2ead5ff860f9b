"""Bluesky (AT Protocol): one session, ``uploadBlob``, ``createRecord``.

The session is created once per channel (``com.atproto.server.createSession``
with the handle and an app password) and refreshed with
``com.atproto.server.refreshSession`` when the server says the access token
expired.  The thumbnail (a JPEG of at most 1,000,000 bytes) is uploaded with
``com.atproto.repo.uploadBlob`` and used in an ``app.bsky.embed.external``
link card.  Link and hashtag facets are at UTF-8 byte offsets.

The record key is a TID derived from the story (its publish time), channel and
language, so a retry (after a timeout or a crash) writes the same record key:
the server refuses a second record under it -- the reference PDS answers 500
("already a value at key"), others 400 -- and whatever the refusal, the channel
reads the record under its own key back (``getRecord``) and reports the post
as sent when it is there.  Only when it is not does the refusal count: a 5xx
is transient (retried on a later run, safely: same key), a 4xx fails the post.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ClassVar

from distributor.config import BlueskyConfig, Settings
from distributor.errors import AuthenticationError, ProviderError, TransientProviderError
from distributor.http import describe_reply
from distributor.models import DeliveryResult, Post
from distributor.share.counting import bluesky_facets
from distributor.social.base import Counts, HttpChannel, read_card, secret

COLLECTION = "app.bsky.feed.post"
_B32 = "234567abcdefghijklmnopqrstuvwxyz"
THUMB_MAX_BYTES = 1_000_000


def deterministic_tid(
    story_id: str, channel: str, language: str, published: datetime | None = None
) -> str:
    """A valid TID (13 base32-sortable characters) from (story, channel, language).

    The timestamp part is the story's publish time (microseconds) when known,
    so keys sort like the stories; the 10-bit clock id, and the timestamp when
    unknown, come from a hash of the three.  The same post always gets the
    same key; two posts practically never do.
    """
    digest = hashlib.sha256(f"{story_id}\0{channel}\0{language}".encode()).digest()
    clock_id = int.from_bytes(digest[:2], "big") & 1023
    if published is not None:
        micros = int(published.timestamp()) * 1_000_000
        micros += int.from_bytes(digest[2:5], "big") % 1_000_000  # spread within the second
    else:
        micros = int.from_bytes(digest[2:9], "big") & ((1 << 53) - 1)
    value = (micros << 10) | clock_id  # 64 bits with the top bit 0
    out = []
    for _ in range(13):
        out.append(_B32[value & 31])
        value >>= 5
    return "".join(reversed(out))


class BlueskyChannel(HttpChannel):
    provider = "bluesky"
    network = "bluesky"
    idempotent = True
    supports_alt_text = True
    max_image_bytes = THUMB_MAX_BYTES
    supports_counts = True
    #: ``app.bsky.feed.getPosts`` takes at most 25 URIs
    counts_batch: ClassVar[int] = 25

    def __init__(
        self,
        name: str,
        config: Any,
        settings: Settings,
        *,
        utcnow: Callable[[], datetime] = lambda: datetime.now(UTC),
        **kwargs: Any,
    ) -> None:
        super().__init__(name, config, settings, **kwargs)
        assert isinstance(config, BlueskyConfig)
        self.cfg = config
        self._utcnow = utcnow
        self._session: dict[str, str] | None = None

    # ------------------------------------------------------------------ session
    def session_info(self) -> dict[str, str]:
        """The current session, created on first use."""
        if self._session is None:
            self.require("app_password")
            resp = self.request(
                "POST",
                "/xrpc/com.atproto.server.createSession",
                idempotent=True,  # a second session is harmless
                json={"identifier": self.cfg.handle, "password": secret(self.cfg.app_password)},
            )
            if resp.status_code != 200:
                raise AuthenticationError(self.name, f"createSession: HTTP {resp.status_code}")
            self._session = resp.json()
        return self._session

    def _refresh(self) -> None:
        session = self.session_info()
        resp = self.request(
            "POST",
            "/xrpc/com.atproto.server.refreshSession",
            idempotent=True,
            keep=lambda r: r.status_code in (400, 401),  # refresh token gone: log in again
            headers={"Authorization": f"Bearer {session['refreshJwt']}"},
        )
        if resp.status_code != 200:  # refresh token gone too: log in again
            self._session = None
            self.session_info()
            return
        self._session = {**session, **resp.json()}

    def xrpc(
        self,
        method: str,
        nsid: str,
        *,
        keep: Callable[[Any], bool] | None = None,
        **kwargs: Any,
    ) -> Any:
        """One authenticated XRPC call, refreshing the session once if it expired.

        Every XRPC call of this channel is idempotent (reads, blobs, and
        records under a deterministic key), so a lost reply is retried.
        """

        def kept(r: Any) -> bool:
            expired = r.status_code in (400, 401) and _error(r) == "ExpiredToken"
            return expired or (keep is not None and keep(r))

        for attempt in (1, 2):
            headers = {
                **kwargs.pop("headers", {}),
                "Authorization": f"Bearer {self.session_info()['accessJwt']}",
            }
            resp = self.request(
                method, f"/xrpc/{nsid}", idempotent=True, keep=kept, headers=headers, **kwargs
            )
            kwargs["headers"] = {k: v for k, v in headers.items() if k != "Authorization"}
            if resp.status_code in (400, 401) and _error(resp) == "ExpiredToken" and attempt == 1:
                self._refresh()
                continue
            return resp
        return resp

    # ------------------------------------------------------------------ counts
    def read_counts(self, provider_ids: Sequence[str]) -> dict[str, Counts]:
        """``app.bsky.feed.getPosts`` (up to 25 ``uris`` a call): ``likeCount``,
        ``repostCount``, ``replyCount``, ``quoteCount``; a post that is gone is left out."""
        out: dict[str, Counts] = {}
        uris = [p for p in provider_ids if p.startswith("at://")]
        for start in range(0, len(uris), self.counts_batch):
            chunk = uris[start : start + self.counts_batch]
            resp = self.xrpc("GET", "app.bsky.feed.getPosts", params={"uris": chunk})
            if resp.status_code != 200:
                raise self.fail(resp, "getPosts")
            for view in resp.json().get("posts", []):
                out[str(view.get("uri"))] = Counts(
                    likes=_count(view.get("likeCount")),
                    reposts=_count(view.get("repostCount")),
                    replies=_count(view.get("replyCount")),
                    quotes=_count(view.get("quoteCount")),
                )
        return out

    # ------------------------------------------------------------------ posting
    def publish(self, post: Post) -> DeliveryResult:
        session = self.session_info()
        published = post.extra.get("published_at")
        rkey = deterministic_tid(
            post.story_id,
            post.channel,
            post.language,
            datetime.fromisoformat(published) if published else None,
        )
        record: dict[str, Any] = {
            "$type": COLLECTION,
            "text": post.text,
            "createdAt": self._utcnow().isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "langs": [post.language],
        }
        facets = [f.to_record() for f in bluesky_facets(post.text)]
        if facets:
            record["facets"] = facets
        external: dict[str, Any] = {
            "uri": post.url,
            "title": post.extra.get("title", ""),
            "description": post.extra.get("description", ""),
        }
        thumb = read_card(post, "thumb")
        if thumb is not None and len(thumb) <= THUMB_MAX_BYTES:
            resp = self.xrpc(
                "POST",
                "com.atproto.repo.uploadBlob",
                data=thumb,
                headers={"Content-Type": "image/jpeg"},
            )
            if resp.status_code != 200:
                raise self.fail(resp, "uploadBlob")
            external["thumb"] = resp.json()["blob"]
        record["embed"] = {"$type": "app.bsky.embed.external", "external": external}
        resp = self.xrpc(
            "POST",
            "com.atproto.repo.createRecord",
            # any refusal is read here: "already a value at key" may come as a 500
            keep=lambda r: r.status_code >= 400 and r.status_code not in (401, 429),
            json={
                "repo": session["did"],
                "collection": COLLECTION,
                "rkey": rkey,
                "record": record,
            },
        )
        if resp.status_code == 200:
            return DeliveryResult.sent(post.key, provider_id=resp.json()["uri"])
        existing = self._existing(session["did"], rkey)
        if existing:  # an earlier attempt already wrote this record: it is ours
            return DeliveryResult.sent(post.key, provider_id=existing)
        if resp.status_code >= 500:
            raise TransientProviderError(
                self.name, self.redact(f"createRecord: {describe_reply(resp)}")
            )
        raise self.fail(resp, "createRecord")

    def _existing(self, did: str, rkey: str) -> str | None:
        try:
            resp = self.xrpc(
                "GET",
                "com.atproto.repo.getRecord",
                params={"repo": did, "collection": COLLECTION, "rkey": rkey},
            )
        except ProviderError:
            return None
        if resp.status_code == 200:
            return str(resp.json().get("uri"))
        return None


def _error(resp: Any) -> str:
    try:
        return str(resp.json().get("error", ""))
    except ValueError:
        return ""


def _count(value: Any) -> int | None:
    return int(value) if isinstance(value, int) else None
