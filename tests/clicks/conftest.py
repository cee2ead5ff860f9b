"""Click links end to end: a real run's ``.eml`` files, the real app served by waitress."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from waitress.server import create_server

from distributor.pipeline import run
from distributor.service import Context
from distributor.service import stats as stats_service
from distributor.service.stats import EditionStats
from distributor.web import create_app
from distributor.web.clicks import recorder
from tests.conftest import NOW, free_port, settings_for, write_config
from tests.web.conftest import MovableClock

CLICKS = (
    "[clicks]\nburst_links = 4\nburst_seconds = 2.0\nflush_seconds = 0.05\n"
    "scanner_window_seconds = 120\n"
)


def redirect_links(html: str, base: str) -> list[str]:
    """Every distinct ``/r/`` link of a digest's HTML, in order."""
    found = re.findall(r'href="(' + re.escape(base) + r'/r/[^"]+)"', html)
    return list(dict.fromkeys(found))


@dataclass
class Served:
    """A run's digests and the web app that follows their links, served by waitress."""

    tmp_path: Path
    base: str
    settings: Any
    ctx: Context
    clock: MovableClock
    app: Any

    def emls(self, language: str | None = None) -> list[Path]:
        root = self.tmp_path / "var" / "outbox" / "mail"
        return sorted(p for p in root.rglob("*.eml") if language in (None, p.parent.name))

    def stats(self) -> list[EditionStats]:
        with self.app.app_context():
            rec = recorder()
        return stats_service.editions(self.ctx, recorder=rec)


def serve(
    tmp_path: Path, make_context: Any, *, list_extra: str = "", clicks: str = CLICKS
) -> Iterator[Served]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = write_config(tmp_path, social="", extra=clicks, list_extra=list_extra)
    config.write_text(
        config.read_text().replace(
            'base_url = "https://news.example/newsletter"', f'base_url = "{base}"'
        )
    )
    settings = settings_for(config)
    ctx = make_context(settings)
    report = run(ctx)
    assert report.ok, report.errors
    clock = MovableClock(NOW)
    app = create_app(settings, ctx.store)
    app.config["DISTRIBUTOR_CLOCK"] = clock
    server = create_server(app, host="127.0.0.1", port=port, threads=4)
    stop = threading.Event()

    def run_until_stopped() -> None:
        # the loop's own thread closes the server: closing it from the test's thread while
        # the loop polls its sockets raised EBADF in the loop now and then
        while not stop.is_set():
            server.asyncore.loop(timeout=0.05, map=server._map, count=1)
        server.close()

    thread = threading.Thread(target=run_until_stopped, daemon=True)
    thread.start()
    try:
        yield Served(tmp_path, base, settings, ctx, clock, app)
    finally:
        stop.set()
        thread.join(timeout=5)
        rec = app.extensions["distributor"].get("clicks")
        if rec is not None:
            rec.close()


@pytest.fixture
def served(tmp_path: Path, make_context: Any) -> Iterator[Served]:
    yield from serve(tmp_path, make_context)
