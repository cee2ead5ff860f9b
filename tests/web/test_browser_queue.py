"""The social queue in a real browser (issue 18): an editor edits an Arabic post (Bluesky)
and a Japanese post (X), and the live count on the page agrees with the composer's
count; a text over the limit disables Save; the saved text is what the post holds.

Playwright drives Debian's Chromium (skipped with the reason when it is missing), every
request but the app's is blocked.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from distributor.service import Context, posts
from distributor.share.counting import rules_for
from distributor.store import Store
from distributor.store.web import WebStore
from distributor.web import create_app
from tests.conftest import NOW, free_port, settings_for, write_config
from tests.social.conftest import story
from tests.web.conftest import MovableClock
from tests.web.test_browser import app_only_page, sync_api
from tests.web.test_queue_pages import SECRETS, SOCIAL

ARABIC = "وزراء يتفقون على ميثاق مناخي جديد بعد ليلة مفاوضات 👩🏽‍🔬 #المناخ"
JAPANESE = "閣僚が新たな気候協定で合意🌏 詳しくは https://news.example/ja/climate"


class Desk:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = write_config(tmp_path, social=SOCIAL)
        config.write_text(
            config.read_text().replace(
                'base_url = "https://news.example/newsletter"', f'base_url = "{self.base}"'
            )
        )
        self.settings = settings_for(config, SECRETS)
        self.store = Store.open(self.settings.database_url)
        self.clock = MovableClock(NOW)
        app = create_app(self.settings, self.store)
        app.config["DISTRIBUTOR_CLOCK"] = self.clock
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        ja, ar = story("ja", id="ja-1"), story("ar", id="ar-1")
        with Context.open(self.settings, store=self.store, clock=self.clock) as ctx:
            ctx.store.upsert_stories([ja, ar], self.clock())
            made = posts.queue_stories(ctx, [ja, ar], ctx.enabled_channels())
        self.posts = {p.language: p for p in made}
        WebStore(self.store).add_editor(
            "editor@news.example", generate_password_hash("editor password 1"), "editor", NOW
        )

    def post(self, language: str) -> posts.QueuedPost:
        with Context.open(self.settings, store=self.store, clock=self.clock) as ctx:
            return posts.get(ctx, self.posts[language].id)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Desk]:
    d = Desk(tmp_path)
    d.thread.start()
    try:
        yield d
    finally:
        d.server.shutdown()
        d.thread.join(5)
        d.store.close()


@pytest.fixture
def page(desk: Desk) -> Iterator[Any]:
    with app_only_page(desk.base) as p:
        yield p


def _edit(page: Any, desk: Desk, language: str, network: str, text: str) -> None:
    expect = sync_api.expect
    page.goto(f"{desk.base}/editor/queue/{desk.posts[language].id}")
    form = page.locator("#edit-form")
    page.fill("textarea[name=text]", text)
    expected = rules_for(network).count(text)
    expect(form).to_have_attribute("data-counted", str(expected), timeout=10_000)
    expect(page.locator("#count-length")).to_have_text(str(expected))
    assert page.locator("button[type=submit]", has_text="Save").is_enabled()
    # over the limit: the count turns red and Save is refused in the page
    page.fill("textarea[name=text]", text * 12)
    expect(form).to_have_attribute(
        "data-counted", str(rules_for(network).count(text * 12)), timeout=10_000
    )
    expect(page.locator("#count-length")).to_have_class("over")
    expect(page.locator("#count-problems")).to_contain_text("over")
    assert page.locator("button[type=submit]", has_text="Save").is_disabled()
    page.fill("textarea[name=text]", text)
    expect(form).to_have_attribute("data-counted", str(expected), timeout=10_000)
    page.click("button:has-text('Save')")
    expect(page.locator("p.ok")).to_have_text("saved")
    expect(page.locator("#shown")).to_have_text(text)


def test_editing_arabic_and_japanese_posts_the_live_count_agrees(desk: Desk, page: Any) -> None:
    expect = sync_api.expect
    page.goto(f"{desk.base}/editor/")
    page.fill("#email", "editor@news.example")
    page.fill("#password", "editor password 1")
    page.click("button[type=submit]")
    page.goto(f"{desk.base}/editor/queue")
    expect(page.locator("h1")).to_have_text("Social queue")

    _edit(page, desk, "ar", "bluesky", ARABIC)
    _edit(page, desk, "ja", "x", JAPANESE)
    assert desk.post("ar").text == ARABIC and desk.post("ar").text_version == 2
    assert desk.post("ja").text == JAPANESE

    page.click("#approve")
    expect(page.locator("p.ok")).to_have_text("approved")
    expect(page.locator("#state")).to_have_text("approved")
