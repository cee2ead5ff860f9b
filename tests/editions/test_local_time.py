"""Lists that send at each reader's local time (``local_time = true``) and editions.

Such a list has no one slot: its scheduler makes each reader's copy at the reader's own
hour.  Editor approval is refused for it (in the configuration, with the reason), its
regular editions are not drafted, and a one-off edition goes to every reader at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from distributor.errors import ConfigError, EditionError
from distributor.models import PlanState
from distributor.report import RunReport
from distributor.service import daily
from distributor.service import editions as service
from tests.conftest import settings_for, write_config
from tests.editions.conftest import Desk, open_desk


def test_editor_approval_is_refused_for_a_local_time_list(tmp_path: Path) -> None:
    path = write_config(tmp_path, list_extra='local_time = true\napproval = "editor"\n')
    with pytest.raises(ConfigError) as refused:
        settings_for(path)
    message = str(refused.value)
    assert 'approval = "editor" cannot be used with local_time = true' in message
    assert "each reader at their own hour" in message  # the reason, said


@pytest.fixture
def local_desk(tmp_path: Path) -> Iterator[Desk]:
    yield from open_desk(tmp_path, list_extra="local_time = true\n")


def test_a_local_time_list_drafts_nothing_but_sends_a_one_off_to_all(local_desk: Desk) -> None:
    ctx, clock = local_desk.ctx, local_desk.clock
    with pytest.raises(EditionError, match="each reader's local time"):
        local_desk.draft()
    assert service.draft_due(ctx) == []  # the scheduler's poll drafts nothing either

    story = local_desk.stories()[0]
    breaking = service.one_off(ctx, "daily", [story.id], by="ed")
    assert breaking.recipients == 24
    at = clock.now.replace(hour=14, minute=0)
    service.schedule(ctx, breaking.id, version=breaking.version, send_at=at, by="ed")
    clock.now = at
    report = RunReport(started_at=at.isoformat())
    assert daily.deliver_due(ctx, report) == 1
    assert report.emails.sent == 24 and len(local_desk.outbox()) == 24
    assert service.get(ctx, breaking.id).state == PlanState.SENT
