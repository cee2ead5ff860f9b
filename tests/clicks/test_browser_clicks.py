"""A reader clicks a real digest's links in Chromium (Playwright, Debian's binary); an editor
then sees the clicks on the dashboard per language and story."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.security import generate_password_hash

from distributor.store.web import WebStore
from tests.clicks.conftest import Served, html_of, read_eml, serve
from tests.conftest import NOW, browser_environment

CHROMIUM = Path(os.environ.get("DISTRIBUTOR_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
#: a reader's browser says what it is; "HeadlessChrome" is a machine's name
READER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed"
)
if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} not found: install Debian's chromium", allow_module_level=True)


@pytest.fixture
def browser_served(tmp_path: Path, make_context: Any) -> Iterator[Served]:
    yield from serve(tmp_path, make_context)


@pytest.fixture
def page(browser_served: Served) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), args=ARGS, env=browser_environment()
            )
        except sync_api.Error as err:
            pytest.skip(f"chromium at {CHROMIUM} does not start: {str(err).splitlines()[0]}")
        context = browser.new_context(
            viewport={"width": 1100, "height": 900}, user_agent=READER_AGENT
        )

        def only_the_app(route: Any) -> None:
            url = route.request.url
            if url.startswith(browser_served.base):
                route.continue_()
            else:
                route.abort()

        context.route("**/*", only_the_app)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


def test_clicks_in_chromium_show_on_the_dashboard(browser_served: Served, page: Any) -> None:
    served = browser_served
    expect = sync_api.expect
    served.clock.advance(hours=1)
    # open the Arabic and the Japanese digests as a mail client shows them, click a title:
    # the browser asks /r/ and is sent on to the story (the newsroom's site is not reached
    # from the test machine: Playwright does not route the redirected request)
    targets = {}

    def follow(link: Any) -> str:
        with page.expect_response(lambda r: "/r/" in r.url) as info:
            link.click()
        reply = info.value
        assert reply.status == 302
        return str(reply.headers["location"])

    for language in ("ar", "ja"):
        page.set_content(html_of(read_eml(served.emls(language)[0])))
        targets[language] = follow(page.locator("a.title-link").first)
        assert targets[language].startswith("https://news.example/")
    # and "Read more" in the Japanese one
    page.set_content(html_of(read_eml(served.emls("ja")[0])))
    more = page.locator("p:not(.share) > a[aria-label]").first
    assert follow(more).startswith("https://news.example/")
    WebStore(served.ctx.store).add_editor(
        "desk@news.example", generate_password_hash("desk password 1"), "editor", NOW
    )
    [edition] = served.stats()
    page.goto(f"{served.base}/editor/stats/daily/{edition.key}")
    page.fill("#email", "desk@news.example")
    page.fill("#password", "desk password 1")
    page.click("button[type=submit]")
    page.goto(f"{served.base}/editor/stats/daily/{edition.key}")
    expect(page.locator("h1")).to_contain_text("Reach of daily")
    ar = page.locator('#stats-languages tr[data-language="ar"] [data-field="clicks"]')
    ja = page.locator('#stats-languages tr[data-language="ja"] [data-field="clicks"]')
    en = page.locator('#stats-languages tr[data-language="en"] [data-field="clicks"]')
    expect(ar).to_have_text("1")
    expect(ja).to_have_text("2")
    expect(en).to_have_text("0")
    stories = page.locator("#stats-stories")
    expect(stories).to_contain_text(edition.top_stories()[0]["title"])
    assert edition.top_stories()[0]["url"] in targets.values()
