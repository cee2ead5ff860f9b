"""A reader clicks a real digest's links in Chromium (Playwright, Debian's binary); an editor
then sees the clicks on the dashboard per language and story."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.security import generate_password_hash

from distributor.models import PostMetrics, PostState
from distributor.store.posts import NewPost, PostStore
from distributor.store.web import WebStore
from tests.clicks.conftest import Served, serve
from tests.conftest import NOW
from tests.web.conftest import html_of, read_mail

# Chromium, its arguments and the app-only page are the other browser tests' (which skip
# the module, saying why, when Playwright or Chromium is missing)
from tests.web.test_browser import app_only_page, sync_api

#: a reader's browser says what it is; "HeadlessChrome" is a machine's name
READER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36"


@pytest.fixture
def browser_served(tmp_path: Path, make_context: Any) -> Iterator[Served]:
    yield from serve(tmp_path, make_context)


@pytest.fixture
def page(browser_served: Served) -> Iterator[Any]:
    with app_only_page(browser_served.base, user_agent=READER_AGENT) as p:
        yield p


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
        page.set_content(html_of(read_mail(served.emls(language)[0])))
        targets[language] = follow(page.locator("a.title-link").first)
        assert targets[language].startswith("https://news.example/")
    # and "Read more" in the Japanese one
    page.set_content(html_of(read_mail(served.emls("ja")[0])))
    more = page.locator("p:not(.share) > a[aria-label]").first
    assert follow(more).startswith("https://news.example/")
    # a social post of the top story went out and its counts were read (issue 18)
    posts = PostStore(served.ctx.store)
    top_story = served.stats()[0].top_stories()[0]
    post = posts.create(
        NewPost(top_story["story_id"], "mastodon", "ja", PostState.POSTED, "text", NOW), NOW
    )
    assert post is not None
    posts.record_metrics(PostMetrics(post.id, NOW, likes=12, reposts=4, replies=2))
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
    social = page.locator('#stats-social-posts tr[data-channel="mastodon"]')
    expect(social.locator('[data-field="likes"]')).to_have_text("12")
    expect(social.locator('[data-field="reposts"]')).to_have_text("4")
    page.screenshot(path=str(served.tmp_path / "reach.png"), full_page=True)
    stories = page.locator("#stats-stories")
    expect(stories).to_contain_text(edition.top_stories()[0]["title"])
    assert edition.top_stories()[0]["url"] in targets.values()
