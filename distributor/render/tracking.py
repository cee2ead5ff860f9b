"""Click links (issue 17): signed ``/r/<token>`` redirects in place of a digest's links.

A token names an edition variant (the ledger's edition id), a story (its place in the
edition) and the kind of link (``story`` title or image, ``more`` "Read more", ``share``
with its network), never a URL: the web app looks the target up, so ``/r/`` cannot be
turned into an open redirect and the links stay short.  In the default ``aggregate``
mode the token says nothing about the reader, so every reader of a variant gets the
same bytes (the digest is still rendered once per variant).  ``per_reader`` (an opt-in
per list) adds ``?u=<signed reader id>``, the same for every link of one message and
filled in per reader; ``off`` leaves the links as they are.  Previews and test sends
(editions not in the ledger) carry preview tokens of the same shape, which name the
story and redirect the same way but are never counted.

Tokens are itsdangerous ``URLSafeTimedSerializer`` tokens (own salt) whose timestamp is
the edition's creation: every process that renders a variant writes the same token.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from itsdangerous import BadData, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from distributor.errors import LinkError
from distributor.models import Edition, ShareLink, Story
from distributor.share.links import edition_campaign

Kind = Literal["story", "more", "share", "open"]
KINDS: tuple[Kind, ...] = ("story", "more", "share", "open")
_CODES: dict[str, Kind] = {"t": "story", "m": "more", "s": "share", "o": "open"}
_BY_KIND = {v: k for k, v in _CODES.items()}
CLICK_SALT = "distributor.click"
READER_SALT = "distributor.click-reader"
#: stands for the reader's signed id in a ``per_reader`` variant; filled per message
READER_PLACEHOLDER = "DISTRIBUTORREADERX"


@dataclass(frozen=True, slots=True)
class ClickToken:
    """What a click link says: edition variant, story place, kind, network; when it was made."""

    edition_id: int
    index: int  # the story's place in the edition (0 = first); -1 for an open pixel
    kind: Kind
    network: str  # share links only, else ""
    issued_at: float  # POSIX seconds (the edition's creation)
    #: a preview's or test send's link (an edition not in the ledger): it names the story
    #: itself and the campaign of its share links, redirects the same way, never counts
    preview: bool = False
    story_id: str = ""
    campaign: str = ""


def _signer_at(timestamp: int) -> type[TimestampSigner]:
    class FixedTimeSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return timestamp

    return FixedTimeSigner


class ClickLinks:
    """Makes the redirect URLs of one edition variant (``for_edition``) and reads tokens."""

    def __init__(self, secret: str, base_url: str) -> None:
        self._secret = secret
        self.base_url = base_url.rstrip("/")
        self._reader = URLSafeTimedSerializer(secret, salt=READER_SALT)
        self._verify = URLSafeTimedSerializer(secret, salt=CLICK_SALT)
        #: tokens whose signature was checked: in ``aggregate`` mode every reader of a
        #: variant clicks the same few tokens, so each is verified once (the key is the
        #: exact token, so a changed byte is verified anew); bounded, cleared when full
        self._verified: dict[str, tuple[tuple[int, int, Kind, str] | _PreviewValue, float]] = {}

    def for_edition(
        self, edition: Edition, mode: str, *, opens: bool = False
    ) -> EditionLinks | None:
        """The link maker of a variant; None when its links stay untouched (``off``).

        An edition that is not in the ledger (id 0: a preview or a test send) gets
        *preview* links of the same shape: ``/r/<token>`` naming the story itself, which
        redirect as the real ones will and are never counted (no reader part either)."""
        if mode == "off":
            return None
        serializer = URLSafeTimedSerializer(
            self._secret,
            salt=CLICK_SALT,
            signer=_signer_at(int(edition.created_at.timestamp())),
        )
        preview = edition.id <= 0
        return EditionLinks(
            self,
            serializer,
            edition,
            per_reader=mode == "per_reader" and not preview,
            opens=opens,
            preview=preview,
        )

    def reader_token(self, subscriber_id: int) -> str:
        """The signed reader id a ``per_reader`` message carries in every link (``?u=``)."""
        return str(self._reader.dumps(subscriber_id))

    def read(self, token: str, now: datetime, max_age_seconds: int) -> ClickToken:
        """The token's content; :class:`LinkError` when forged, cut, malformed or too old."""
        known = self._verified.get(token)
        if known is None:
            try:
                data, stamp = self._verify.loads(token, return_timestamp=True)
            except SignatureExpired as err:  # not raised without max_age; kept for clarity
                raise LinkError("expired", "this link has expired") from err
            except BadData as err:
                raise LinkError("bad", "this link is not one of ours, or it was cut") from err
            known = (_parse(data), stamp.timestamp())
            if len(self._verified) >= 20_000:
                self._verified.clear()
            self._verified[token] = known
        token_value, issued = known
        if now.timestamp() - issued > max_age_seconds:
            raise LinkError("expired", "this link has expired")
        if isinstance(token_value, _PreviewValue):
            return ClickToken(
                0,
                -1,
                token_value.kind,
                token_value.network,
                issued_at=issued,
                preview=True,
                story_id=token_value.story_id,
                campaign=token_value.campaign,
            )
        return ClickToken(*token_value, issued_at=issued)

    def read_reader(self, value: str) -> int | None:
        """The reader id of ``?u=``; None when it is missing or not ours (then not kept)."""
        try:
            sid = self._reader.loads(value)
        except BadData:
            return None
        return sid if isinstance(sid, int) and not isinstance(sid, bool) else None


@dataclass(frozen=True, slots=True)
class _PreviewValue:
    story_id: str
    kind: Kind
    network: str
    campaign: str


#: the first item of a preview token's payload (a real one starts with the edition id)
PREVIEW_MARK = "p"


def _parse(data: Any) -> tuple[int, int, Kind, str] | _PreviewValue:
    if isinstance(data, list) and len(data) == 5 and data[0] == PREVIEW_MARK:
        _mark, story_id, code, network, campaign = data
        if (
            not isinstance(story_id, str)
            or not story_id
            or code not in _CODES
            or not isinstance(network, str)
            or not isinstance(campaign, str)
            or (code == "s") != bool(network)
        ):
            raise LinkError("bad", "this link is not one of ours")
        return _PreviewValue(story_id, _CODES[code], network, campaign)
    if not isinstance(data, list) or len(data) not in (3, 4):
        raise LinkError("bad", "this link is not one of ours")
    eid, index, code = data[0], data[1], data[2]
    network = data[3] if len(data) == 4 else ""
    if (
        not isinstance(eid, int)
        or not isinstance(index, int)
        or isinstance(eid, bool)
        or isinstance(index, bool)
        or code not in _CODES
        or not isinstance(network, str)
        or (code == "s") != bool(network)
    ):
        raise LinkError("bad", "this link is not one of ours")
    return eid, index, _CODES[code], network


class EditionLinks:
    """The redirect URLs of one variant: made once per variant render, for every reader."""

    def __init__(
        self,
        links: ClickLinks,
        serializer: URLSafeTimedSerializer,
        edition: Edition,
        *,
        per_reader: bool,
        opens: bool,
        preview: bool = False,
    ) -> None:
        self._base = links.base_url
        self._serializer = serializer
        self.edition = edition
        self.per_reader = per_reader
        self.opens = opens
        self.preview = preview
        self._campaign = edition_campaign(edition.list_name, edition.key)
        self._places = {sid: i for i, sid in enumerate(edition.story_ids)}
        self._suffix = f"?u={READER_PLACEHOLDER}" if per_reader else ""

    def _url(self, payload: list[Any], path: str = "r") -> str:
        token = self._serializer.dumps(payload)
        return f"{self._base}/{path}/{token}{self._suffix}"

    def story(self, story: Story, kind: Kind = "story") -> str:
        """The redirect for a story's title (``story``) or "Read more" (``more``) link."""
        index = self._places.get(story.id)
        if index is None:  # not one of the edition's stories: untouched
            return story.url
        if self.preview:
            return self._url([PREVIEW_MARK, story.id, _BY_KIND[kind], "", self._campaign])
        return self._url([self.edition.id, index, _BY_KIND[kind]])

    def share(self, story: Story, link: ShareLink) -> ShareLink:
        """A share link through the redirect (``mailto:`` links stay as they are)."""
        index = self._places.get(story.id)
        if index is None or not link.url.lower().startswith(("https://", "http://")):
            return link
        if self.preview:
            payload = [PREVIEW_MARK, story.id, "s", link.network, self._campaign]
            return ShareLink(link.network, self._url(payload))
        return ShareLink(link.network, self._url([self.edition.id, index, "s", link.network]))

    def shares(
        self, stories: Sequence[Story], links: Mapping[str, Sequence[ShareLink]]
    ) -> dict[str, tuple[ShareLink, ...]]:
        by_id = {s.id: s for s in stories}
        return {
            sid: tuple(self.share(by_id[sid], link) for link in story_links)
            if sid in by_id
            else tuple(story_links)
            for sid, story_links in links.items()
        }

    def open_pixel(self) -> str:
        """The open pixel's URL, or "" when the list does not count opens."""
        if not self.opens:
            return ""
        if self.preview:  # a preview's pixel: the same image, never counted
            payload: list[Any] = [PREVIEW_MARK, "-", "o", "", self._campaign]
        else:
            payload = [self.edition.id, -1, "o"]
        token = self._serializer.dumps(payload)
        return f"{self._base}/o/{token}.gif{self._suffix}"
