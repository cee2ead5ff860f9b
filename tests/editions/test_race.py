"""Two schedulers reach the same due edition at once: exactly one claims and sends it.

Each scheduler has its own context (its own store, engine and connections) on the one
database; the claim is a single conditional ``UPDATE``.  Runs on SQLite, and on
PostgreSQL under ``DISTRIBUTOR_TEST_DATABASE=postgresql``.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from distributor.models import PlanState
from distributor.report import RunReport
from distributor.service import Context, daily
from distributor.service import editions as service
from distributor.store.schema import deliveries
from tests.editions.conftest import Desk


def test_two_schedulers_racing_for_a_due_edition_send_it_once(desk: Desk) -> None:
    story = desk.stories()[0]
    breaking = service.one_off(desk.ctx, "daily", [story.id], by="ed")
    at = desk.clock.now.replace(hour=14, minute=0)
    service.schedule(desk.ctx, breaking.id, version=breaking.version, send_at=at, by="ed")
    desk.clock.now = at
    start = threading.Barrier(2)

    def scheduler(name: str) -> tuple[int, RunReport]:
        report = RunReport(started_at=at.isoformat())
        with Context.open(desk.ctx.settings, clock=desk.clock) as ctx:
            assert [e.id for e in service.listing(ctx, states=[PlanState.SCHEDULED])] == [
                breaking.id
            ]
            start.wait(timeout=30)  # both have seen it due; now both try to claim it
            return daily.deliver_due(ctx, report), report

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(scheduler, ["one", "two"]))

    assert sorted(n for n, _ in outcomes) == [0, 1]  # one sent it, the other found it taken
    assert sum(r.emails.sent for _, r in outcomes) == 24
    assert all(not r.errors for _, r in outcomes)
    assert len(desk.outbox()) == 24  # every reader once
    with desk.ctx.store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(deliveries)).scalar_one() == 24
    done = service.get(desk.ctx, breaking.id)
    assert done.state == PlanState.SENT
    assert [c.action for c in service.changes(desk.ctx, breaking.id)].count("send") == 1
