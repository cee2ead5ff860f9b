"""Value types that flow through the pipeline.

Every stage takes and returns these plain, frozen values; none of them knows
about the database, the CLI or the network.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


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
    def failed(cls, key: str, error: str, *, retryable: bool) -> DeliveryResult:
        return cls(key, DeliveryState.FAILED, error=error, retryable=retryable)

    @classmethod
    def unknown(cls, key: str, error: str) -> DeliveryResult:
        return cls(key, DeliveryState.UNKNOWN, error=error)
