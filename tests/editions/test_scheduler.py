"""The scheduler and editions: the draft is made ``draft_lead`` hours before the slot, an
unapproved edition is held at its slot, an approved one goes, a scheduled one-off goes
at its time from the scheduler's poll; all with a clock the test moves."""

from __future__ import annotations

from datetime import timedelta

from distributor.models import PlanState
from distributor.scheduler import Runner
from distributor.service import editions as service
from tests.editions.conftest import Desk


def test_draft_at_lead_time_held_then_approved_and_sent(desk: Desk) -> None:
    ctx, clock = desk.ctx, desk.clock
    runner = Runner(ctx.settings, ctx.store, owner="test", clock=clock, lock=None)
    clock.now = clock.now.replace(hour=4, minute=30)  # 2.5 h before 07:00: too early
    runner.poll()
    assert service.listing(ctx) == []
    clock.now = clock.now.replace(hour=5, minute=0)  # draft_lead = 2 h
    runner.poll()
    [draft] = service.listing(ctx)
    assert draft.state == PlanState.DRAFT and draft.created_by == "schedule"
    assert draft.send_at == clock.now.replace(hour=7)
    runner.poll()
    assert len(service.listing(ctx)) == 1  # once per slot

    clock.now = clock.now.replace(hour=7, minute=0)
    summary = runner.edition_slot("daily", clock.now)
    assert summary is not None and summary.summary is not None
    assert summary.summary["held"] == [draft.id] and summary.summary["sent"] == 0
    assert desk.outbox() == []

    approved = service.approve(ctx, draft.id, version=draft.version, by="chief")
    clock.move(minutes=5)
    runner.poll()  # an approved edition whose time has passed goes at the next poll
    assert service.get(ctx, draft.id).state == PlanState.SENT
    assert len(desk.outbox()) == approved.recipients == 24


def test_a_scheduled_one_off_goes_from_the_scheduler_poll(desk: Desk) -> None:
    ctx, clock = desk.ctx, desk.clock
    runner = Runner(ctx.settings, ctx.store, owner="test", clock=clock, lock=None)
    story = ctx.store.published_stories(now=clock.now, since=clock.now - timedelta(days=3650))[0]
    made = service.one_off(ctx, "daily", [story.id], by="ed")
    at = clock.now.replace(hour=14, minute=0)
    service.schedule(ctx, made.id, version=made.version, send_at=at, by="ed")
    clock.now = at - timedelta(minutes=10)
    runner.poll()
    assert desk.outbox() == []
    clock.now = at + timedelta(minutes=1)
    runner.poll()
    assert service.get(ctx, made.id).state == PlanState.SENT
    assert len(desk.outbox()) == 24
