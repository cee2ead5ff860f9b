"""The values the web app's queries take and return, and the hashes they store."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Frequency = Literal["daily", "weekly"]
FREQUENCIES: tuple[str, ...] = ("daily", "weekly")
Role = Literal["editor", "admin"]
ROLES: tuple[str, ...] = ("editor", "admin")
FORGOTTEN_PREFIX = "sha256:"
#: the status shown for an address on the suppression list, whatever its membership
SUPPRESSED = "suppressed"


def email_hash(email: str) -> str:
    """The hashed form kept on the suppression list for a forgotten address."""
    return FORGOTTEN_PREFIX + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class SubscriberEntry:
    """One subscriber on one list, as the dashboard, the API and the CLI show it."""

    id: int
    email: str
    name: str
    language: str
    timezone: str | None
    topics: tuple[str, ...]
    frequency: str
    list_name: str
    status: str
    created_at: datetime
    updated_at: datetime

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "email": self.email,
            "name": self.name,
            "language": self.language,
            "timezone": self.timezone,
            "topics": list(self.topics),
            "frequency": self.frequency,
            "list": self.list_name,
            "status": self.status,
            "created_at": self.created_at.isoformat(),
            "updated_at": self.updated_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Preferences:
    language: str
    timezone: str | None
    topics: tuple[str, ...]
    frequency: str
    name: str = ""


@dataclass
class ImportResult:
    added: int = 0
    kept: int = 0
    refused: list[tuple[str, str]] = field(default_factory=list)  # (email, reason)


@dataclass(frozen=True, slots=True)
class Editor:
    id: int
    email: str
    role: str
    password_hash: str


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    key: str
    request_hash: str
    status: str  # "started" | "done"
    response: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class EditionFigures:
    id: int
    list_name: str
    key: str
    language: str
    created_at: datetime
    stories: int
    recipients: int
    pending: int
    sent: int
    failed: int
    unknown: int
    bounced: int
    complained: int
    unsubscribed: int

    def to_dict(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in self.__slots__}
        out["list"] = out.pop("list_name")
        out["created_at"] = self.created_at.isoformat()
        return out


@dataclass(frozen=True, slots=True)
class StoryRow:
    id: str
    title: str
    url: str
    language: str
    published_at: datetime | None
    sections: tuple[str, ...]
    pinned: bool
    excluded: bool


def preferences_from(data: dict[str, Any], fallback: Preferences) -> Preferences:
    """Preferences from a confirmation token's payload (validated when it was made)."""
    topics = data.get("topics", fallback.topics)
    return Preferences(
        language=str(data.get("language", fallback.language)),
        timezone=data.get("timezone", fallback.timezone) or None,
        topics=tuple(str(t) for t in topics) if isinstance(topics, Sequence) else fallback.topics,
        frequency=str(data.get("frequency", fallback.frequency)),
        name=str(data.get("name", fallback.name)),
    )
