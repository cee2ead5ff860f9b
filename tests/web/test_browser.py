"""End to end in a real browser: Playwright driving Debian's Chromium against the app served
on 127.0.0.1.

A reader signs up, gets the confirmation mail (file outbox), confirms, receives a real
digest, changes preferences and unsubscribes through the digest's own links; an editor
logs in, fetches, previews, sends a test to herself and sends the edition.

Chromium comes from Debian (``make test`` installs it when apt is usable); without it
these tests skip and say why.  Every request to anything but the app is blocked: no
network.  ``DISTRIBUTOR_SCREENSHOTS=docs/images`` keeps the README's screenshots.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server

from distributor.store import Store
from distributor.store.web import WebStore
from distributor.web import create_app
from tests.conftest import NOW, browser_environment, free_port, settings_for, write_config
from tests.web.conftest import MovableClock, decoded, read_mail

CHROMIUM = Path(os.environ.get("DISTRIBUTOR_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed"
)
if not CHROMIUM.is_file():
    pytest.skip(
        f"{CHROMIUM} not found: install Debian's chromium (make test does it when apt-get is usable)",
        allow_module_level=True,
    )


class Served:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        config = write_config(tmp_path, social="")
        text = config.read_text().replace(
            'base_url = "https://news.example/newsletter"',
            f'base_url = "{self.base}"\ntopics = ["world", "science", "culture"]',
        )
        config.write_text(text)
        self.settings = settings_for(config)
        self.store = Store.open(self.settings.database_url)
        self.web = WebStore(self.store)
        self.clock = MovableClock(NOW)
        app = create_app(self.settings, self.store)
        app.config["DISTRIBUTOR_CLOCK"] = self.clock
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def mails(self, prefix: str) -> list[Path]:
        root = self.settings.data_path("outbox/mail")
        return sorted(root.glob(f"{prefix}**/*.eml"), key=lambda p: p.stat().st_mtime_ns)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    s = Served(tmp_path)
    s.thread.start()
    try:
        yield s
    finally:
        s.server.shutdown()
        s.thread.join(5)
        s.store.close()


@contextmanager
def app_only_page(base: str, **context_options: Any) -> Iterator[Any]:
    """A Chromium page (under its own environment: ``browser_environment``) that may reach
    only the app at ``base``; skips the test when Chromium does not start."""
    with sync_api.sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(
                executable_path=str(CHROMIUM), args=ARGS, env=browser_environment()
            )
        except sync_api.Error as err:
            pytest.skip(f"chromium at {CHROMIUM} does not start: {str(err).splitlines()[0]}")
        context = browser.new_context(viewport={"width": 1100, "height": 900}, **context_options)

        def only_the_app(route: Any) -> None:
            if route.request.url.startswith(base):
                route.continue_()
            else:
                route.abort()

        context.route("**/*", only_the_app)
        try:
            yield context.new_page()
        finally:
            context.close()
            browser.close()


@pytest.fixture
def page(served: Served) -> Iterator[Any]:
    with app_only_page(served.base) as p:
        yield p


def _shots() -> Path | None:
    value = os.environ.get("DISTRIBUTOR_SCREENSHOTS")
    return Path(value) if value else None


def _shot(page: Any, name: str, full: bool = False) -> None:
    target = _shots()
    if target is not None:
        target.mkdir(parents=True, exist_ok=True)
        path = target / name
        page.screenshot(path=str(path), full_page=full, type="png")
        from PIL import Image  # small files for the README: a 256-colour palette

        with Image.open(path) as shot:
            small = shot.convert("RGB").quantize(256)
        small.save(path, optimize=True)


def _membership(served: Served, email: str) -> str | None:
    sub = served.web.subscriber_by_email(email)
    return None if sub is None else served.web.membership(sub.id, "daily")


def test_reader_and_editor_in_a_real_browser(served: Served, page: Any) -> None:
    expect = sync_api.expect
    base = served.base

    # --- a reader signs up --------------------------------------------------------
    page.goto(f"{base}/subscribe")
    expect(page.locator("h1")).to_have_text("Subscribe to Meridian Daily")
    page.fill("#email", "reader@example.org")
    page.fill("#name", "Ada Reader")
    page.check("text=science")
    page.check("#freq-weekly")
    page.select_option("#timezone", "Europe/Paris")
    _shot(page, "signup.png")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Check your inbox")
    assert _membership(served, "reader@example.org") == "pending"

    confirmations = served.mails("confirm/")
    assert len(confirmations) == 1
    body = read_mail(confirmations[0]).get_body(("plain",))
    assert body is not None
    link = re.search(r"http://127\.0\.0\.1:\d+/confirm/\S+", body.get_content())
    assert link
    page.goto(link.group(0))
    expect(page.locator("h1")).to_have_text("Confirm your subscription")
    assert _membership(served, "reader@example.org") == "pending"  # the GET changed nothing
    page.click("text=Confirm my subscription")
    expect(page.locator("h1")).to_have_text("You are subscribed")
    assert _membership(served, "reader@example.org") == "subscribed"

    # --- an editor logs in, previews, tests and sends -------------------------------
    served.web.add_editor(
        "editor@news.example", generate_password_hash("editor password 1"), "editor", served.clock()
    )
    page.goto(f"{base}/editor/")
    expect(page.locator("h1")).to_have_text("Editor login")
    page.fill("#email", "editor@news.example")
    page.fill("#password", "editor password 1")
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Next editions")
    page.click("#fetch")
    expect(page.locator("p.ok")).to_contain_text("fetched 24 stories")
    _shot(page, "dashboard.png", full=True)
    page.click("a[href='/editor/preview/daily/en']")
    expect(page.locator("#subject")).not_to_be_empty()
    frame = page.frame_locator("iframe.preview")
    expect(frame.locator("text=Unsubscribe").first).to_be_visible()
    page.click("#test-send")
    expect(page.locator("#result")).to_have_text("test sent to editor@news.example")
    tests = served.mails("test/")
    assert len(tests) == 1 and read_mail(tests[0])["To"] == "editor@news.example"
    expect(frame.locator("text=Unsubscribe").first).to_be_visible()
    _shot(page, "preview.png")

    # the reader chose the weekly digest: it goes out on the list's weekly day (Monday),
    # together with the daily edition; NOW is a Saturday
    served.clock.advance(days=2)
    page.click("text=Send now…")
    recipients = page.locator("#recipients strong").inner_text()
    assert int(recipients) == len(served.store.recipients("daily")) == 25
    form = {
        name: page.locator(f"main input[name={name}]").input_value()
        for name in ("idempotency_key", "csrf_token")
    }
    page.dblclick("#confirm-send")  # an impatient double click
    expect(page.locator("#summary")).to_contain_text("25 sent", timeout=60_000)
    # a retry of the same form (same key, same session): the first result, nothing sent
    retry = page.request.post(f"{base}/editor/send/daily", form=form)
    assert retry.status == 200 and "nothing was sent again" in retry.text(), retry.text()[:3000]
    with served.store.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from runs").scalar_one() == 1
    digests = served.mails("daily/")
    assert len(digests) == 25
    page.goto(f"{base}/editor/history")
    expect(page.locator("svg.chart")).to_be_visible()
    _shot(page, "history.png")

    # --- the reader uses the links of the digest they received ----------------------
    sub = served.web.subscriber_by_email("reader@example.org")
    assert sub is not None
    mine = [p for p in digests if p.stem == str(sub.id)]
    assert len(mine) == 1
    digest = read_mail(mine[0])
    unsubscribe = re.search(r"<(http://[^>]+/u/[^>]+)>", digest["List-Unsubscribe"])
    assert unsubscribe and digest["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    prefs = re.search(r'href="(http://[^"]+/p/[^"]+)"', decoded(mine[0].read_bytes()))
    assert prefs

    page.goto(prefs.group(1))
    expect(page.locator("#status")).to_contain_text("subscribed")
    page.select_option("#language", "fr")
    page.check("#freq-daily")
    page.click("text=Save")
    expect(page.locator("p.ok")).to_be_visible()
    fresh = served.web.subscriber_by_email("reader@example.org")
    assert (
        fresh is not None and fresh.language == "fr" and served.web.frequency(fresh.id) == "daily"
    )
    _shot(page, "preferences.png")

    page.goto(unsubscribe.group(1))
    expect(page.locator("h1")).to_have_text("Se désabonner")  # the reader's language now
    assert _membership(served, "reader@example.org") == "subscribed"
    page.click("button[type=submit]")
    expect(page.locator("h1")).to_have_text("Vous êtes désabonné·e")
    assert _membership(served, "reader@example.org") == "unsubscribed"
    assert "reader@example.org" not in {r.email for r in served.store.recipients("daily")}


def test_editor_shapes_schedules_and_approves_an_edition(served: Served, page: Any) -> None:
    """Issue 14: an editor drafts, reorders (pins), writes an Arabic intro, schedules and
    approves; the file outbox then holds exactly that edition for the Arabic readers."""
    from distributor.scheduler import Runner
    from distributor.service import Context
    from distributor.service import editions as service

    expect = sync_api.expect
    base = served.base
    served.web.add_editor(
        "desk@news.example", generate_password_hash("desk password 1"), "editor", served.clock()
    )
    page.goto(f"{base}/editor/editions")
    page.fill("#email", "desk@news.example")
    page.fill("#password", "desk password 1")
    page.click("button[type=submit]")
    page.goto(f"{base}/editor/editions")
    page.click("#draft-daily")
    expect(page.locator("#result")).to_have_text("drafted")
    expect(page.locator("#state")).to_have_text("draft")
    eid = int(page.url.split("/editions/")[1].split("?")[0])

    arabic = page.locator("section.variant[lang=ar]").first
    expect(arabic).to_have_attribute("dir", "rtl")
    last = arabic.locator("li").last
    last_title = last.locator("span[dir=auto]").inner_text()
    last.locator("button[name=pin]").click()
    expect(page.locator("#result")).to_have_text("saved")
    first = page.locator("section.variant[lang=ar]").first.locator("li").first
    expect(first.locator("span[dir=auto]")).to_have_text(last_title)

    page.fill("textarea[name=intro_ar]", "**صباح الخير** من غرفة الأخبار")
    page.click("#save")
    expect(page.locator("#result")).to_have_text("saved")
    _shot(page, "edition-editor-ar.png", full=True)

    page.fill("#schedule-at", "2026-11-28T14:00")
    page.click("#schedule")
    expect(page.locator("#result")).to_have_text("scheduled")
    expect(page.locator("#state")).to_have_text("scheduled")

    with Context.open(served.settings, store=served.store, clock=served.clock) as ctx:
        edition = service.get(ctx, eid)
    assert (
        edition.send_at is not None and edition.send_at.isoformat() == "2026-11-28T14:00:00+00:00"
    )
    runner = Runner(served.settings, served.store, owner="test", clock=served.clock, lock=None)
    served.clock.now = edition.send_at
    runner.poll()
    page.reload()
    expect(page.locator("#state")).to_have_text("sent")
    mails = [read_mail(p) for p in served.mails("daily/") if p.parent.name == "ar"]
    ar_variant = [v for v in edition.variants if v.language == "ar"]
    assert len(mails) == sum(v.readers for v in ar_variant) > 0
    for msg in mails:
        html = decoded(msg.as_bytes())
        assert "<strong>صباح الخير</strong>" in html
    # every Arabic reader's digest carries exactly the edition's stories, the pinned first
    plain = [m for m in mails if last_title in decoded(m.as_bytes())]
    assert len(plain) == len(mails)
