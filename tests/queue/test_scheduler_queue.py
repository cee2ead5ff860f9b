"""The scheduler with a broker configured: its slot enqueues batch tasks, a worker sends."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from distributor.scheduler import Runner
from distributor.store import Store
from tests.conftest import settings_for
from tests.queue.conftest import API_KEY, Workers, mailgun_toml, queue_config
from tests.queue.test_chaos import ledger_rows


def test_a_scheduled_slot_enqueues_and_a_worker_delivers(
    tmp_path: Path, pg_url: str, redis_ns: tuple[str, str], mailgun: Any, workers: list[Workers]
) -> None:
    redis_url, ns = redis_ns
    server, fake = mailgun
    config = queue_config(
        tmp_path,
        db_url=pg_url,
        broker_url=redis_url,
        namespace=ns,
        mail=mailgun_toml(server, extra="batch_size = 5\n"),
    )
    settings = settings_for(config, env={"DISTRIBUTOR_MAIL_MAIN_API_KEY": API_KEY})
    store = Store.open(settings.database_url)
    now = datetime.now(UTC)
    try:
        slot = Runner(settings, store, owner="test", clock=lambda: now, lock=None).edition_slot(
            "daily", now
        )
        # the slot made its editions and enqueued them; nothing was sent in this process
        assert slot is not None and slot.state == "done" and slot.summary is not None
        assert slot.summary["tasks_enqueued"] >= 2 and fake.counts() == {}
        rows = ledger_rows(pg_url)
        assert rows and all(r.state == "pending" for r in rows)

        pool = Workers(config, threads=2)
        workers.append(pool)
        pool.start(1)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            rows = ledger_rows(pg_url)
            if all(r.state not in ("pending", "sending") for r in rows):
                break
            time.sleep(0.3)
        assert pool.stop() == [0], pool.stderr()
    finally:
        store.close()
    assert {r.state for r in rows} == {"sent"}, [r for r in rows if r.state != "sent"][:3]
    received = fake.counts()
    assert sorted(received) == sorted(r.email for r in rows)
    assert set(received.values()) == {1}
