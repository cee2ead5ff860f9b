"""The click tables on SQLite and PostgreSQL: one upsert per key and hour, uniques from
today's digests, yesterday's salt and digests deleted, concurrent writers adding up."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from distributor.store import Store
from distributor.store import schema as s
from distributor.store.clicks import ClickEvent, ClickStore
from tests.conftest import NOW

DAY = NOW.strftime("%Y-%m-%d")
HOUR = NOW.replace(minute=0)


@pytest.fixture(params=["sqlite", "postgresql"])
def clicks(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ClickStore]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'clicks.db'}"
    else:
        url = request.getfixturevalue("pg_url")
    store = Store.open(url)
    try:
        yield ClickStore(store)
    finally:
        store.close()


def _event(link: str, who: str, *, index: int = 0, machine: bool = False) -> ClickEvent:
    return ClickEvent(
        edition_id=7,
        story_index=index,
        kind="story",
        network="",
        hour=HOUR,
        machine=machine,
        link_digest=f"{who}-{link}",
        variant_digest=who,
    )


def test_a_batch_is_one_row_per_key_and_hour_with_uniques(clicks: ClickStore) -> None:
    batch = [
        _event("a", "r1"),
        _event("a", "r1"),
        _event("a", "r2"),
        _event("a", "bot", machine=True),
    ]
    assert clicks.record(batch, DAY) == 2
    assert clicks.record([_event("a", "r1"), _event("b", "r1", index=1)], DAY) == 1
    rows = {(r.story_index, r.kind): r for r in clicks.counts([7])}
    assert (rows[(0, "story")].clicks, rows[(0, "story")].uniques, rows[(0, "story")].machine) == (
        4,
        2,
        1,
    )
    assert (rows[(1, "story")].clicks, rows[(1, "story")].uniques) == (1, 1)
    assert rows[(-1, "reader")].uniques == 2  # r1 and r2 clicked something in the variant
    assert clicks.row_count() == 3


def test_a_million_clicks_do_not_grow_past_keys_times_hours(clicks: ClickStore) -> None:
    for hour in range(3):
        at = HOUR + timedelta(hours=hour)
        batch = [
            ClickEvent(7, i % 5, "story", "", at, link_digest=f"{hour}-{i}") for i in range(2_000)
        ]
        clicks.record(batch, DAY)
    assert clicks.row_count() == 5 * 3
    assert sum(r.clicks for r in clicks.counts([7])) == 6_000


def test_salts_and_digests_of_another_day_are_deleted(clicks: ClickStore) -> None:
    first = clicks.salt_for(DAY)
    assert clicks.salt_for(DAY) == first and len(first) == 64
    clicks.record([_event("a", "r1")], DAY)
    tomorrow = (NOW + timedelta(days=1)).strftime("%Y-%m-%d")
    assert clicks.salt_for(tomorrow) != first
    with clicks.engine.connect() as conn:
        assert conn.execute(select(s.click_salts.c.day)).scalars().all() == [tomorrow]
        assert conn.execute(select(func.count()).select_from(s.click_seen)).scalar_one() == 0


def test_concurrent_writers_add_up(clicks: ClickStore) -> None:
    def write(n: int) -> None:
        for i in range(20):
            clicks.record([_event("a", f"w{n}-{i}")], DAY)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    [row] = [r for r in clicks.counts([7]) if r.kind == "story"]
    assert (row.clicks, row.uniques) == (80, 80)
