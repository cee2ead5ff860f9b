"""The batch task's ledger logic, without a broker: recover, claim, fence, release, record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update

from distributor.errors import TransientProviderError
from distributor.mail.base import MailBackend
from distributor.models import DeliveryResult, Edition, Message
from distributor.pipeline import fetch_sources, select, sync_subscribers
from distributor.queue.tasks import BatchSender, RetryLater
from distributor.report import RunReport
from distributor.store import Store, ledger
from distributor.store import schema as s
from tests.conftest import NOW, settings_for, write_config

LEASE = timedelta(seconds=60)


class Recording(MailBackend):
    """A transport that records what it is given and fails when told to."""

    provider = "test"
    idempotent = False

    def __init__(self, settings: Any, *, idempotent: bool = False) -> None:
        super().__init__("main", None, settings)
        self.idempotent = idempotent  # type: ignore[misc]
        self.sent: list[str] = []
        self.fail: TransientProviderError | None = None
        self.batch_size = 3
        self.before_send: Any = None

    def send_batch(self, messages: Sequence[Message]) -> list[DeliveryResult]:
        if self.before_send:
            self.before_send()
        if self.fail is not None:
            raise self.fail
        self.sent += [m.recipient for m in messages]
        return [DeliveryResult.sent(m.key) for m in messages]


@pytest.fixture
def setup(tmp_path: Path, make_context: Any) -> tuple[BatchSender, Recording, Edition, Store]:
    csv = tmp_path / "readers.csv"
    csv.write_text(
        "email,name,language\n" + "".join(f"r{i}@example.org,R {i},en\n" for i in range(8)),
        encoding="utf-8",
    )
    path = write_config(
        tmp_path, subscribers=csv, extra='[queue]\nbroker_url = "redis://127.0.0.1:1/0"\n'
    )
    ctx = make_context(settings_for(path))
    report = RunReport(started_at=NOW.isoformat(), dry_run=False)
    fetch_sources(ctx, report)
    cfg = ctx.settings.lists["daily"]
    sync_subscribers(ctx, "daily", cfg, report)
    plan = max(select(ctx, "daily", cfg), key=lambda p: len(p.recipients))
    assert len(plan.recipients) >= 6
    edition = ctx.store.create_edition(
        list_name="daily",
        key="2026-11-28",
        language=plan.language,
        stories=plan.stories,
        recipients=plan.recipients,
        now=NOW,
    )
    sender = BatchSender(settings=ctx.settings, store=ctx.store, clock=lambda: NOW, lease=LEASE)
    backend = Recording(ctx.settings)
    sender._local.backends = {"main": backend}
    return sender, backend, edition, ctx.store


def ids_of(store: Store, edition: Edition) -> list[int]:
    return [r["id"] for r in store.deliveries(edition.id)]


def states(store: Store, edition: Edition) -> dict[int, tuple[str, str | None]]:
    return {r["id"]: (r["state"], r["error"]) for r in store.deliveries(edition.id)}


def test_a_range_is_sent_once_and_only_its_rows(setup: Any) -> None:
    sender, backend, edition, store = setup
    ids = ids_of(store, edition)
    out = sender.send_range(edition.id, ids[1], ids[4])
    assert out.sent == 4 and out.come_back is None and len(backend.sent) == 4
    st = states(store, edition)
    assert [st[i][0] for i in ids[1:5]] == ["sent"] * 4
    assert st[ids[0]][0] == "pending" and st[ids[5]][0] == "pending"
    again = sender.send_range(edition.id, ids[1], ids[4])  # a duplicate task
    assert again.sent == 0 and len(backend.sent) == 4


def test_stale_claims_become_unknown_fresh_ones_make_the_task_come_back(setup: Any) -> None:
    sender, backend, edition, store = setup
    ids = ids_of(store, edition)
    d = s.deliveries
    with store.engine.begin() as conn:  # a dead worker's claim, and a live one's
        conn.execute(
            update(d)
            .where(d.c.id.in_(ids[0:2]))
            .values(state="sending", updated_at=NOW - 2 * LEASE)
        )
        conn.execute(
            update(d).where(d.c.id == ids[2]).values(state="sending", updated_at=NOW - LEASE / 2)
        )
    out = sender.send_range(edition.id, ids[0], ids[3])
    st = states(store, edition)
    assert out.recovered == 2
    assert st[ids[0]][0] == st[ids[1]][0] == "unknown"
    assert "lease expired" in (st[ids[0]][1] or "")
    assert st[ids[2]][0] == "sending"  # a live worker's: not touched, not resent
    assert st[ids[3]][0] == "sent" and backend.sent == [store.deliveries(edition.id)[3]["email"]]
    # the task looks again when the live claim's lease has run out (30 s from now, +1)
    assert out.come_back == pytest.approx(31.0)


def test_idempotent_transport_resends_stale_claims(setup: Any) -> None:
    sender, backend, edition, store = setup
    backend.idempotent = True
    ids = ids_of(store, edition)
    d = s.deliveries
    with store.engine.begin() as conn:
        conn.execute(
            update(d).where(d.c.id == ids[0]).values(state="sending", updated_at=NOW - 2 * LEASE)
        )
    out = sender.send_range(edition.id, ids[0], ids[0])
    assert out.recovered == 1 and out.sent == 1


def test_transient_failure_gives_rows_back_then_fails_them_on_the_last_try(setup: Any) -> None:
    sender, backend, edition, store = setup
    ids = ids_of(store, edition)
    backend.fail = TransientProviderError("main", "HTTP 429: slow down", retry_after=7)
    with pytest.raises(RetryLater) as info:
        sender.send_range(edition.id, ids[0], ids[2])
    assert info.value.delay == 7
    st = states(store, edition)
    assert [st[i][0] for i in ids[0:3]] == ["pending"] * 3
    assert [r["attempts"] for r in store.deliveries(edition.id)[0:3]] == [0, 0, 0]
    out = sender.send_range(edition.id, ids[0], ids[2], last_try=True)
    st = states(store, edition)
    assert out.failed == 3 and out.come_back is None
    assert all(st[i][0] == "failed" and "HTTP 429" in (st[i][1] or "") for i in ids[0:3])
    retryable = [r["retryable"] for r in store.deliveries(edition.id)[0:3]]
    assert retryable == [True, True, True]  # the next run puts them back


def test_a_claim_recovered_by_another_worker_is_not_sent(setup: Any) -> None:
    """Our lease ran out before the call (a long wait): someone recovered the rows."""
    sender, backend, edition, store = setup
    ids = ids_of(store, edition)

    class SlowLimiter:
        def wait(self, messages: int) -> None:
            pass

        def pause(self, seconds: float) -> None:
            pass

        def prepay(self, messages: int) -> None:
            # meanwhile another worker finds our claim stale and recovers it
            store.recover_deliveries(
                edition.id, idempotent=False, now=NOW, stale_before=NOW + LEASE
            )

        def settle(self) -> None:
            pass

    backend.limiter = SlowLimiter()
    sender.limiter_for = lambda b: None
    out = sender.send_range(edition.id, ids[0], ids[2])
    assert backend.sent == [] and out.sent == 0
    assert [states(store, edition)[i][0] for i in ids[0:3]] == ["unknown"] * 3


def test_id_ranges_cover_the_open_rows_in_batches(setup: Any) -> None:
    sender, _backend, edition, store = setup
    ids = ids_of(store, edition)
    sender.send_range(edition.id, ids[0], ids[1])  # two rows done: not in any range
    ranges = list(ledger.id_ranges(store, edition.id, 2, page=3))
    covered = [i for a, b in ranges for i in ids if a <= i <= b]
    assert covered == ids[2:]
    assert all(len([i for i in ids if a <= i <= b]) <= 2 for a, b in ranges)
