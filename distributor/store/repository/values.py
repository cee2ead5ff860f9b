"""The values the store takes and returns, and the ledger's keys."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

from distributor.models import Story, Subscriber


class ClaimedDelivery(NamedTuple):
    """One claimed ledger row: what a batch needs of it and nothing more.

    A tuple made straight from the claim's result rows (no object per field):
    the claim of a thousand rows costs microseconds of Python, not milliseconds.
    """

    id: int
    edition_id: int
    subscriber_id: int
    email: str
    name: str
    language: str
    key: str
    #: why the address is suppressed (a bounce, a complaint), read by the claim; None: it
    #: is not, and the row is sent
    suppressed: str | None = None

    @property
    def subscriber(self) -> Subscriber:
        """The reader as personalization reads them (id, address, name, language)."""
        return Subscriber(self.subscriber_id, self.email, self.name, self.language)


@dataclass(frozen=True, slots=True)
class ReaderProfile:
    """What edition making needs to know about a reader (their variant and local time
    depend on nothing else): many readers share one profile."""

    language: str
    topics: tuple[str, ...]
    weekly: bool
    timezone: str | None = None


@dataclass(frozen=True, slots=True)
class NewVariant:
    """One edition variant to make: its language, segment and stories."""

    language: str
    segment: str
    stories: Sequence[Story]
    # editions (issue 14): what the editor wrote for this variant
    intro_html: str = ""
    intro_text: str = ""
    subject: str = ""


#: (language, segment) of a profile's variant, or None when the reader gets no edition
VariantOf = Callable[[ReaderProfile], tuple[str, str] | None]
#: when a profile's rows may be sent (local-time delivery), or None for at once
NotBefore = Callable[[ReaderProfile], datetime | None]
#: a claim for the ledger's batch protocol: the rows whose id is in [first, last]
IdRange = tuple[int, int]


@dataclass(frozen=True, slots=True)
class ClaimedPost:
    id: int
    story_id: str
    channel: str
    language: str
    key: str


@dataclass(frozen=True, slots=True)
class LedgerCounts:
    pending: int = 0
    sending: int = 0
    sent: int = 0
    failed: int = 0
    unknown: int = 0


@dataclass(frozen=True, slots=True)
class UpsertCounts:
    new: int
    updated: int
    unchanged: int


def delivery_key(list_name: str, edition_key: str, language: str, subscriber_id: int) -> str:
    """The stable ledger key of one email: also its file name in the file outbox."""
    return f"{list_name}/{edition_key}/{language}/{subscriber_id}"


def post_key(story_id: str, channel: str, language: str) -> str:
    digest = hashlib.sha256(f"{story_id}\0{channel}\0{language}".encode()).hexdigest()[:16]
    return f"{channel}/{language}/{digest}"
