"""Right-to-left and CJK layout in a real browser (issue 15): Playwright driving Debian's
Chromium.

The sign-up, preference and unsubscribe pages and the digest are rendered in Arabic,
Hebrew and Japanese, at a desktop and a phone width, and the test asserts what a
reader sees: the page is no wider than the viewport, the form is inside it, each
checkbox sits next to its own label, and an English story in an Arabic digest is
aligned left.  ``DISTRIBUTOR_SCREENSHOTS=docs/images`` keeps the screenshots.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from distributor.models import Subscriber
from distributor.render.digest import DigestRenderer
from distributor.store import Store
from distributor.web import create_app
from tests.conftest import NOW, browser_environment, free_port, settings_for, write_config
from tests.digests.conftest import edition_for, links_for
from tests.web.conftest import MovableClock

CHROMIUM = Path(os.environ.get("DISTRIBUTOR_CHROMIUM", "/usr/bin/chromium"))
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="the playwright package is not installed"
)
if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} not found: install Debian's chromium", allow_module_level=True)

LANGS = ("ar", "he", "ja")
WIDTHS = (1100, 390)
TOPICS = '["world", "climate", "science", "culture", "economy", "health", "sport"]'
TOPIC_NAMES = (
    'topic_names = { world = { ar = "العالم", ja = "世界" }, climate = { ar = "المناخ", ja = "気候" }, '
    'science = { ar = "العلوم", ja = "科学" } }'
)


class Served:
    def __init__(self, tmp_path: Path) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        # one server for the module's tests: its own SQLite file even in the PostgreSQL pass
        # (whose per-test databases are dropped after each test); these tests are about
        # layout, not the store
        config = write_config(
            tmp_path, social="", extra=f'database_url = "sqlite:///{tmp_path}/served.db"'
        )
        config.write_text(
            config.read_text().replace(
                'base_url = "https://news.example/newsletter"',
                f'base_url = "{self.base}"\nlanguages = ["en", "ar", "he", "ja"]\n'
                f"topics = {TOPICS}\n{TOPIC_NAMES}",
            )
        )
        self.settings = settings_for(config)
        self.store = Store.open(self.settings.database_url)
        self.store.add_subscribers(
            "daily",
            [
                Subscriber(0, f"reader-{lang}@example.org", name, lang, topics=("world", "science"))
                for lang, name in (("ar", "ليلى"), ("he", "Noa"), ("ja", "佐藤"))
            ],
            NOW,
        )
        app = create_app(self.settings, self.store)
        app.config["DISTRIBUTOR_CLOCK"] = MovableClock(NOW)
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def links(self, lang: str) -> tuple[str, str]:
        sub = next(s for s in self.store.recipients("daily") if s.language == lang)
        r = DigestRenderer(self.settings)
        return r.preferences_url(sub, "daily"), r.unsubscribe_url(sub, "daily")


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    s = Served(tmp_path_factory.mktemp("served"))
    s.thread.start()
    try:
        yield s
    finally:
        s.server.shutdown()
        s.thread.join(5)
        s.store.close()


@pytest.fixture(scope="module")
def browser(served: Served) -> Iterator[Any]:
    with sync_api.sync_playwright() as pw:
        try:
            b = pw.chromium.launch(
                executable_path=str(CHROMIUM), args=ARGS, env=browser_environment()
            )
        except sync_api.Error as err:
            pytest.skip(f"chromium at {CHROMIUM} does not start: {str(err).splitlines()[0]}")
        try:
            yield b
        finally:
            b.close()


def _page(browser: Any, served: Served, width: int) -> Any:
    context = browser.new_context(viewport={"width": width, "height": 900})

    def only_the_app(route: Any) -> None:
        url = route.request.url
        if url.startswith(served.base) or url.startswith("data:") or url == "about:blank":
            route.continue_()
        else:
            route.abort()

    context.route("**/*", only_the_app)
    return context.new_page()


def _shot(page: Any, name: str) -> None:
    target = os.environ.get("DISTRIBUTOR_SCREENSHOTS")
    if not target:
        return
    path = Path(target) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True, type="png")
    from PIL import Image

    with Image.open(path) as shot:
        small = shot.convert("RGB").quantize(256)
    small.save(path, optimize=True)


LAYOUT = """() => {
  const vw = document.documentElement.clientWidth;
  const box = (el) => { const r = el.getBoundingClientRect(); return {l: r.left, r: r.right, t: r.top, b: r.bottom}; };
  const form = document.querySelector('main form');
  const pairs = [...document.querySelectorAll('input[type=checkbox], input[type=radio]')].map((input) => {
    const label = document.querySelector(`label[for="${input.id}"]`);
    const walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
    const text = [];
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.textContent.trim()) continue;
      const range = document.createRange();
      range.selectNodeContents(node);
      text.push(...[...range.getClientRects()].filter((r) => r.width > 0));
    }
    const i = box(input);
    const gaps = text.map((r) => Math.max(r.left - i.r, i.l - r.right));
    return {id: input.id, gap: Math.min(...gaps), sameLine: text.some((r) => r.top < i.b && r.bottom > i.t),
            inside: label.contains(input)};
  });
  const hp = document.querySelector('.hp');
  return {
    vw, scroll: document.documentElement.scrollWidth, bodyScroll: document.body.scrollWidth,
    form: form ? box(form) : null, pairs,
    hp: hp ? box(hp) : null,
    visibleText: document.body.innerText.trim().length,
  };
}"""


def _assert_layout(m: dict[str, Any], where: str) -> None:
    assert m["scroll"] <= m["vw"] and m["bodyScroll"] <= m["vw"], (
        f"{where}: page wider than viewport {m}"
    )
    assert m["visibleText"] > 20, f"{where}: the page shows nothing"
    if m["form"] is not None:
        assert m["form"]["l"] >= 0 and m["form"]["r"] <= m["vw"], (
            f"{where}: form outside {m['form']}"
        )
    for pair in m["pairs"]:
        assert pair["sameLine"] and 0 <= pair["gap"] <= 12, (
            f"{where}: {pair['id']} away from its label {pair}"
        )
    if m["hp"] is not None:  # the anti-spam field: nothing to see, nowhere off screen
        hp = m["hp"]
        assert hp["r"] - hp["l"] <= 1 and 0 <= hp["l"] <= m["vw"], f"{where}: honeypot at {hp}"


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("lang", LANGS)
def test_reader_pages_hold_in_rtl_and_cjk(
    browser: Any, served: Served, lang: str, width: int
) -> None:
    page = _page(browser, served, width)
    prefs, unsub = served.links(lang)
    try:
        for name, url in (
            ("signup", f"{served.base}/subscribe?lang={lang}"),
            ("preferences", prefs),
            ("unsubscribe", unsub),
        ):
            page.goto(url)
            assert page.locator("html").get_attribute("lang") == lang
            assert page.locator("html").get_attribute("dir") == ("ltr" if lang == "ja" else "rtl")
            m = page.evaluate(LAYOUT)
            _assert_layout(m, f"{name} {lang} at {width}px")
            if name != "unsubscribe":
                assert len(m["pairs"]) == 7 + 2  # seven topics, two frequencies
            if width == 1100 and lang in ("ar", "ja"):
                _shot(page, f"{name}-{lang}.png")
        page.goto(f"{served.base}/subscribe?lang={lang}")
        english = {"Subscribe", "Email address", "Topics", "How often", "Time zone"}
        assert not english & set(page.locator("main").inner_text().splitlines())
        topic = page.locator("label[for=topic-1]").inner_text()
        assert topic == {"ar": "العالم", "ja": "世界", "he": "world"}[lang]  # no Hebrew name
    finally:
        page.context.close()


def _picture() -> str:
    """A stand-in for the lead image (the test browser reaches no network): a data: URL."""
    import base64
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (552, 290), (32, 78, 120))
    draw = ImageDraw.Draw(image)
    for i in range(0, 290, 6):
        draw.line(
            [(0, 290 - i), (552, 200 - i // 2)], fill=(40 + i // 4, 110 + i // 6, 150), width=3
        )
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=70)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode()


def _sample_digest(served: Served, lang: str) -> str:
    """The digest a reader in ``lang`` gets from the sample newsroom's feed, personalized."""
    import requests

    from distributor.selection import Window, plan_editions
    from distributor.sources.base import build_source

    settings = served.settings
    with requests.Session() as session:
        source = build_source("meridian", settings.sources["meridian"], settings, session)
        stories = source.fetch(NOW).stories
    picture = _picture()
    stories = tuple(replace(s, image_url=picture) if s.image_url else s for s in stories)
    reader = Subscriber(
        7, f"{lang}@example.org", {"ar": "ليلى حداد", "he": "נועה", "ja": "佐藤 花子"}[lang], lang
    )
    cfg = settings.lists["daily"]
    (plan,) = plan_editions(
        candidates=stories,
        recipients=[reader],
        sent={},
        max_stories=6,
        fallbacks=(None, "en"),
        window=Window(now=NOW, max_age=timedelta(days=3)),
        policy=cfg,
    )
    renderer = DigestRenderer(settings)
    edition = edition_for(lang, list(plan.stories))
    variant = renderer.render(edition, plan.stories, links_for(list(plan.stories)), cfg)
    return renderer.personalize(variant, reader, "k/1", cfg, NOW).html


@pytest.mark.parametrize("width", (700, 390))
@pytest.mark.parametrize("lang", LANGS)
def test_digest_holds_in_rtl_and_cjk(browser: Any, served: Served, lang: str, width: int) -> None:
    markup = _sample_digest(served, lang)
    page = _page(browser, served, width)
    try:
        page.set_content(markup, wait_until="load")
        measured = page.evaluate(
            """() => {
              const vw = document.documentElement.clientWidth;
              const blocks = [...document.querySelectorAll('td[lang] > h2')].map((h) => {
                const td = h.parentElement, r = td.getBoundingClientRect();
                const range = document.createRange(); range.selectNodeContents(h);
                const t = [...range.getClientRects()];
                return {lang: td.lang, dir: getComputedStyle(h).direction,
                        align: getComputedStyle(h).textAlign,
                        startGap: Math.min(...t.map((x) => x.left)) - r.left,
                        endGap: r.right - Math.max(...t.map((x) => x.right))};
              });
              return {vw, scroll: document.documentElement.scrollWidth, blocks};
            }"""
        )
        assert measured["scroll"] <= max(measured["vw"], 600 + 16)
        blocks = measured["blocks"]
        langs = [b["lang"] for b in blocks]
        if lang == "he":  # nothing in Hebrew in the sample: the English fallbacks, left to right
            assert set(langs) == {"en"}
        else:  # the reader's language leads and fills first, the fallbacks after
            own = [x for x in langs if x == lang]
            assert own and langs[: len(own)] == own and set(langs[len(own) :]) <= {"en"}
            assert len(langs) > len(own)
        for b in blocks:
            rtl = b["lang"] in ("ar", "he")
            assert b["dir"] == ("rtl" if rtl else "ltr")
            assert b["align"] == ("right" if rtl else "left")
            # the text hugs its own starting side (padding 24px; 16px on phones)
            assert (b["endGap"] if rtl else b["startGap"]) <= 30, b
        if width == 700 and lang in ("ar", "ja"):
            _shot(page, f"digest-{lang}.png")
    finally:
        page.context.close()
