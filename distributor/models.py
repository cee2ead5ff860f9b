"""Value types that flow through the pipeline.

Every stage takes and returns these plain, frozen values; none of them knows
about the database, the CLI or the network.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any


class StoryStatus(enum.StrEnum):
    PUBLISHED = "published"
    DRAFT = "draft"
    SCHEDULED = "scheduled"


class SubscriberStatus(enum.StrEnum):
    PENDING = "pending"
    SUBSCRIBED = "subscribed"
    UNSUBSCRIBED = "unsubscribed"


class DeliveryState(enum.StrEnum):
    """Ledger states: ``pending -> sending -> sent | failed | unknown``."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Story:
    """One story as a source published it, normalized."""

    id: str
    source: str
    url: str
    title: str
    language: str
    status: StoryStatus
    published_at: datetime | None
    updated_at: datetime | None = None
    summary_html: str = ""
    summary_text: str = ""
    body_html: str = ""
    image_url: str | None = None
    author: str | None = None
    sections: tuple[str, ...] = ()
    translation_group: str | None = None

    @property
    def group(self) -> str:
        """The key shared by every translation of this story."""
        return self.translation_group or self.id


@dataclass(frozen=True, slots=True)
class Subscriber:
    id: int
    email: str
    name: str
    language: str
    timezone: str | None = None
    topics: tuple[str, ...] = ()
    status: SubscriberStatus = SubscriberStatus.SUBSCRIBED


@dataclass(frozen=True, slots=True)
class Edition:
    """One list, one edition key (a date), one language (and reader segment) variant."""

    id: int
    list_name: str
    key: str
    language: str
    story_ids: tuple[str, ...]
    created_at: datetime
    segment: str = ""  # readers' topics this variant is for; "" = readers without topics
    # editions (issue 14): the editor's intro (sanitized HTML, and as text) and subject
    intro_html: str = ""
    intro_text: str = ""
    subject: str = ""


@dataclass(frozen=True, slots=True)
class ShareLink:
    network: str
    url: str


@dataclass(frozen=True, slots=True)
class ShareCard:
    story_id: str
    language: str
    path: str
    width: int
    height: int
    alt_text: str
    cached: bool


@dataclass(frozen=True, slots=True)
class Message:
    """One ready-to-send email.

    ``key`` is the ledger key (stable across retries); ``raw`` is the complete
    RFC 5322 message with CRLF line endings, for transports that take MIME
    (SMTP, files).  ``text``, ``html`` and ``headers`` (every header but the
    MIME ones, in order) carry the same message in parts, for HTTP APIs that
    take JSON.
    """

    key: str
    sender: str
    recipient: str
    subject: str
    message_id: str
    raw: bytes
    text: str = ""
    html: str = ""
    headers: tuple[tuple[str, str], ...] = ()


# A frozen dataclass's __init__ looks up object.__setattr__ once per field (about a
# microsecond for Message's nine): the per-reader hot path builds one Message for
# every reader, so it sets the slots through their descriptors instead.
_MESSAGE_SLOTS = tuple(
    getattr(Message, name).__set__
    for name in (
        "key",
        "sender",
        "recipient",
        "subject",
        "message_id",
        "raw",
        "text",
        "html",
        "headers",
    )
)


def make_message(
    key: str,
    sender: str,
    recipient: str,
    subject: str,
    message_id: str,
    raw: bytes,
    text: str,
    html: str,
    headers: tuple[tuple[str, str], ...],
    /,
) -> Message:
    """``Message(key, sender, ...)`` with every field given: the same frozen value, made
    in half the time (``tests/digests/test_fast_equals_naive.py`` compares them)."""
    message: Message = object.__new__(Message)
    k, s, r, j, m, w, t, h, e = _MESSAGE_SLOTS
    k(message, key)
    s(message, sender)
    r(message, recipient)
    j(message, subject)
    m(message, message_id)
    w(message, raw)
    t(message, text)
    h(message, html)
    e(message, headers)
    return message


@dataclass(frozen=True, slots=True)
class Post:
    """One social post: a story, on one channel, in one language."""

    key: str
    story_id: str
    channel: str
    language: str
    text: str
    url: str
    card_path: str | None = None
    alt_text: str = ""
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What happened to one message or post; never a bare boolean."""

    key: str
    state: DeliveryState
    provider_id: str | None = None
    error: str | None = None
    retryable: bool = False

    @classmethod
    def sent(cls, key: str, provider_id: str | None = None) -> DeliveryResult:
        return cls(key, DeliveryState.SENT, provider_id=provider_id)

    @classmethod
    def all_sent(cls, keys: Iterable[str], provider_id: str | None = None) -> list[DeliveryResult]:
        """:meth:`sent` for each key (a batch call's 1,000: a third cheaper than a loop)."""
        return list(map(partial(cls, state=DeliveryState.SENT, provider_id=provider_id), keys))

    @classmethod
    def failed(cls, key: str, error: str, *, retryable: bool) -> DeliveryResult:
        return cls(key, DeliveryState.FAILED, error=error, retryable=retryable)

    @classmethod
    def unknown(cls, key: str, error: str) -> DeliveryResult:
        return cls(key, DeliveryState.UNKNOWN, error=error)


# ---------------------------------------------------------------- editions (issue 14)
class PlanState(enum.StrEnum):
    """The life cycle of an edition an editor shapes:
    ``draft -> approved | scheduled -> sending -> sent``, or ``cancelled``."""

    DRAFT = "draft"
    APPROVED = "approved"  # approved for its slot (``send_at``)
    SCHEDULED = "scheduled"  # approved for a time an editor chose
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"


#: states in which an edition can still be shaped, approved, scheduled or cancelled
OPEN_PLAN_STATES = (PlanState.DRAFT, PlanState.APPROVED, PlanState.SCHEDULED)


@dataclass(frozen=True, slots=True)
class PlannedVariant:
    """One variant of a planned edition: a reader language and segment, its stories."""

    language: str
    segment: str
    story_ids: tuple[str, ...]
    readers: int = 0


@dataclass(frozen=True, slots=True)
class PlannedEdition:
    """An edition of one list and key with its variants, before and after it is sent."""

    id: int
    list_name: str
    key: str
    kind: str  # "regular" (a slot of the list's schedule) | "one_off"
    state: PlanState
    send_at: datetime | None
    variants: tuple[PlannedVariant, ...]
    intros: Mapping[str, str]  # language -> Markdown
    subjects: Mapping[str, str]  # language -> subject
    intro_fallback: bool
    social: bool
    version: int
    created_by: str
    approved_by: str | None
    approved_at: datetime | None
    reason: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def recipients(self) -> int:
        return sum(v.readers for v in self.variants)

    def variant(self, language: str, segment: str = "") -> PlannedVariant | None:
        return next(
            (v for v in self.variants if (v.language, v.segment) == (language, segment)), None
        )


@dataclass(frozen=True, slots=True)
class EditionChange:
    """One recorded change to a planned edition."""

    at: datetime
    who: str
    action: str
    detail: Mapping[str, Any] | None


# ------------------------------------------------------------ social queue (issue 18)
class PostState(enum.StrEnum):
    """The life cycle of a queued social post (one story, channel and language)::

    draft -> approved (at: a slot of the queue) | scheduled (at: a time an editor
    pinned) -> posting -> posted | failed | unknown, or cancelled (before posting)."""

    DRAFT = "draft"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    POSTING = "posting"
    POSTED = "posted"
    FAILED = "failed"
    UNKNOWN = "unknown"
    CANCELLED = "cancelled"


#: states in which a post can still be edited, moved, approved or cancelled
OPEN_POST_STATES = (PostState.DRAFT, PostState.APPROVED, PostState.SCHEDULED)
#: states of a post that holds its slot (or has gone out at it)
SLOT_POST_STATES = (
    PostState.APPROVED,
    PostState.SCHEDULED,
    PostState.POSTING,
    PostState.POSTED,
)


@dataclass(frozen=True, slots=True)
class QueuedPost:
    """A social post an editor can see, edit and schedule before it goes."""

    id: int
    story_id: str
    channel: str
    language: str
    state: PostState
    text: str
    text_version: int  # goes up by one with every edit of the text
    version: int  # goes up with every change (optimistic checks: ``--if-version``)
    at: datetime | None  # its slot (approved), its pinned time (scheduled), or when it went
    reason: str | None  # why it was cancelled, or why it waits (refused credentials)
    created_by: str
    approved_by: str | None
    approved_at: datetime | None
    posted_version: int | None  # the text version that went out (only one ever does)
    provider_id: str | None
    error: str | None
    created_at: datetime
    updated_at: datetime

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_POST_STATES


@dataclass(frozen=True, slots=True)
class PostChange:
    """One change to a queued post: who, when, what (``text`` for a new text version)."""

    at: datetime
    who: str
    action: str
    text_version: int
    text: str | None
    detail: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class PostMetrics:
    """The counts a network exposes for one post, as last read (``None``: not exposed)."""

    post_id: int
    fetched_at: datetime
    likes: int | None = None
    reposts: int | None = None
    replies: int | None = None
    quotes: int | None = None
