"""Clicks are coalesced in memory and written by one upsert per key: held for the sweep
window, then flushed; everything still held is written on shutdown; many threads
clicking at once add up exactly (a real run's links, real SQLite)."""

from __future__ import annotations

import threading
from typing import Any

from sqlalchemy import func, select

from distributor.service.clicks import ClickRecorder
from distributor.store.schema import click_counts
from tests.clicks.conftest import Served
from tests.clicks.test_redirects import links_of


class Ticks:
    """A monotonic clock the test moves."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _token(link: str) -> str:
    return link.split("/r/", 1)[1]


def _counted(served: Served) -> tuple[int, int]:
    """(clicks + machine over the story links, rows) in the database."""
    t = click_counts
    with served.ctx.store.engine.connect() as conn:
        total = conn.execute(
            select(func.coalesce(func.sum(t.c.clicks + t.c.machine), 0)).where(t.c.kind != "reader")
        ).scalar_one()
        rows = conn.execute(
            select(func.count()).select_from(t).where(t.c.kind != "reader")
        ).scalar_one()
    return int(total), int(rows)


def _click(rec: ClickRecorder, token: str, n: int) -> Any:
    return rec.follow(
        token,
        reader=None,
        method="GET",
        user_agent=f"Mozilla/5.0 (reader {n}) Firefox/133",
        client="192.0.2.7",
    )


def test_held_clicks_appear_after_the_window_as_one_row_per_key(served: Served) -> None:
    served.clock.advance(hours=1)
    ticks = Ticks()
    rec = ClickRecorder(
        served.settings, served.ctx.store, served.clock, monotonic=ticks, background=False
    )
    token = _token(links_of(served, "en")[0])
    for n in range(25):
        assert _click(rec, token, n).counted == "click"
    assert rec.flush() == 0  # still in the sweep window (burst_seconds = 2)
    assert _counted(served) == (0, 0)
    ticks.now += 2.5
    assert rec.flush() == 25
    assert _counted(served) == (25, 1)  # 25 clicks, one upsert: one row
    for n in range(25, 30):
        _click(rec, token, n)
    ticks.now += 2.5
    rec.flush()
    assert _counted(served) == (30, 1)  # added to the same row
    rec.close()


def test_what_is_still_held_is_written_on_shutdown(served: Served) -> None:
    served.clock.advance(hours=1)
    ticks = Ticks()
    rec = ClickRecorder(
        served.settings, served.ctx.store, served.clock, monotonic=ticks, background=False
    )
    links = links_of(served, "en")
    for n, link in enumerate(links[:3]):
        _click(rec, _token(link), n)
    assert _counted(served) == (0, 0)
    rec.close()  # distributor serve's finally (SIGTERM, SIGINT)
    assert _counted(served) == (3, 3)


def test_threads_clicking_at_once_add_up_with_the_background_writer(served: Served) -> None:
    served.clock.advance(hours=1)
    rec = ClickRecorder(served.settings, served.ctx.store, served.clock)  # flush_seconds 0.05
    links = [_token(link) for link in links_of(served, "en")[:5]]
    start = threading.Barrier(8)

    def clicker(k: int) -> None:
        start.wait()
        for n in range(60):
            _click(rec, links[n % len(links)], k * 1000 + n)

    pool = [threading.Thread(target=clicker, args=(k,)) for k in range(8)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    rec.close()
    total, rows = _counted(served)
    assert total == 8 * 60
    assert rows == len(links)  # the same hour: one row per link, however many flushes
