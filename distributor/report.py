"""The run report: what a run did, what failed and why. Plain data, JSON-ready."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class SourceReport:
    name: str
    kind: str = "feed"
    not_modified: bool = False  # the server answered 304: nothing read, stored stories stand
    fetched: int = 0
    new: int = 0
    updated: int = 0
    error: str | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class EditionReport:
    list: str
    key: str
    language: str
    stories: int
    recipients: int
    resumed: bool = False
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    pending: int = 0
    segment: str = ""  # the readers' topics of this variant; "" = readers without topics
    edition_id: int | None = None  # workers (issue 9): the ledger's edition
    tasks: int = 0  # workers (issue 9): batch tasks enqueued for this edition


@dataclass
class Counts:
    sent: int = 0
    failed: int = 0
    unknown: int = 0
    skipped: int = 0


@dataclass
class Problem:
    stage: str
    subject: str
    cause: str


@dataclass
class RunReport:
    started_at: str
    dry_run: bool = False
    finished_at: str | None = None
    sources: list[SourceReport] = field(default_factory=list)
    stories_fetched: int = 0
    stories_selected: int = 0
    editions: list[EditionReport] = field(default_factory=list)
    emails: Counts = field(default_factory=Counts)
    posts: Counts = field(default_factory=Counts)
    cards_made: int = 0
    cards_cached: int = 0
    story_pages_written: int = 0
    story_pages_unchanged: int = 0
    subscribers_added: int = 0
    tasks_enqueued: int = 0  # workers (issue 9): batch tasks sent to the queue
    # editions (issue 14): the stored editions this run sent, and those held for approval
    sent_editions: list[int] = field(default_factory=list)
    held: list[int] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    errors: list[Problem] = field(default_factory=list)

    def error(self, stage: str, subject: str, cause: str) -> None:
        """Something failed: a source, a delivery, a post. Makes the run not ``ok``."""
        self.errors.append(Problem(stage, subject, cause))

    def warn(self, stage: str, subject: str, cause: str) -> None:
        """Input was skipped (a bad CSV row, a feed item without a link); the run went on."""
        self.warnings.append(Problem(stage, subject, cause))

    def redact(self, redact: Callable[[str], str]) -> None:
        """Mask secrets in every line the report prints (a second line of defence: the
        HTTP base already redacts what it reports)."""
        for problem in (*self.warnings, *self.errors):
            problem.subject, problem.cause = redact(problem.subject), redact(problem.cause)
        self.notes = [redact(n) for n in self.notes]

    @property
    def ok(self) -> bool:
        """True when nothing failed and nothing is left uncertain."""
        return not self.errors

    @property
    def delivered_anything(self) -> bool:
        return bool(self.emails.sent or self.posts.sent or self.tasks_enqueued)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["ok"] = self.ok
        return data
