"""The values the editions' use cases take and give (issue 14)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from distributor.models import (
    DeliveryResult,
    Message,
    PlannedEdition,
    PlannedVariant,
    Story,
    Subscriber,
)
from distributor.render.digest import Variant
from distributor.report import RunReport


# ------------------------------------------------------------------- values
@dataclass(frozen=True, slots=True)
class Changes:
    """What an editor changes in one save; ``None`` / empty = unchanged."""

    order: Sequence[str] | None = None  # story ids (any translation) in the wanted order
    add: Sequence[str] = ()  # story ids: added to every variant in its language
    remove: Sequence[str] = ()  # story ids: removed with every translation
    pin: Sequence[str] = ()  # story ids: to the top of every variant (added if missing)
    intros: Mapping[str, str] | None = None  # language -> Markdown ("" removes it)
    subjects: Mapping[str, str] | None = None  # language -> subject ("" removes it)
    intro_fallback: bool | None = None

    def describe(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in ("order", "add", "remove", "pin"):
            value = getattr(self, name)
            if value:
                out[name] = list(value)
        if self.intros is not None:
            out["intros"] = sorted(self.intros)
        if self.subjects is not None:
            out["subjects"] = dict(self.subjects)
        if self.intro_fallback is not None:
            out["intro_fallback"] = self.intro_fallback
        return out


@dataclass(frozen=True)
class Preview:
    """One variant of an edition rendered for one reader (or a sample reader)."""

    edition: PlannedEdition
    variant: PlannedVariant
    stories: list[Story]
    rendered: Variant
    message: Message
    recipient: Subscriber


@dataclass
class SendOutcome:
    """What a send did: the edition after it, and the run report of the delivery."""

    edition: PlannedEdition
    report: RunReport


@dataclass(frozen=True)
class TestSendOutcome:
    edition: PlannedEdition
    language: str
    addresses: list[str] = field(default_factory=list)
    results: list[DeliveryResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.state == "sent" for r in self.results)


@dataclass(frozen=True)
class Upcoming:
    """One variant of what a list's next run would send (not stored)."""

    list_name: str
    key: str
    language: str
    segment: str
    stories: tuple[Story, ...]
    readers: int

    @property
    def recipients(self) -> int:
        return self.readers
