"""Editions (issue 14): a newsroom on the sample with a clock the test moves."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from distributor.models import PlannedEdition, Story
from distributor.service import Context, daily
from distributor.service import editions as service
from tests.conftest import NOW, settings_for, write_config


class MovableClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def move(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Desk:
    ctx: Context
    clock: MovableClock
    tmp_path: Path

    def outbox(self) -> list[Path]:
        return sorted((self.tmp_path / "var/outbox/mail").rglob("*.eml"))

    def posts(self) -> list[Path]:
        return sorted((self.tmp_path / "var/outbox/social").rglob("*.json"))

    def draft(self, by: str = "ed") -> PlannedEdition:
        """The list's next edition, drafted."""
        return service.draft(self.ctx, "daily", by=by)

    def stories(self) -> list[Story]:
        """Every story the morning fetch read, by id."""
        now = self.clock.now
        found = self.ctx.store.published_stories(now=now, since=now - timedelta(days=3650))
        return sorted(found, key=lambda s: s.id)


def open_desk(tmp_path: Path, list_extra: str = "", extra: str = "") -> Iterator[Desk]:
    clock = MovableClock(NOW)
    path = write_config(tmp_path, list_extra=list_extra, extra=extra)
    with Context.open(settings_for(path), clock=clock) as ctx:
        daily.fetch_now(ctx)  # the sample's stories and readers, as a morning fetch would
        yield Desk(ctx, clock, tmp_path)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    """A list with ``approval = "editor"``: the 07:00 slot sends only what was approved."""
    yield from open_desk(
        tmp_path,
        list_extra='approval = "editor"\nschedule = "0 7 * * *"\n'
        'test_recipients = ["desk@news.example"]\ntest_send_limit = 3',
    )


@pytest.fixture
def auto_desk(tmp_path: Path) -> Iterator[Desk]:
    """A list with the default ``approval = "auto"``."""
    yield from open_desk(tmp_path)
