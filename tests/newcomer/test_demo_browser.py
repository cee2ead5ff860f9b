"""``make demo`` in Chromium: the seeded editor logs in with the printed credentials,
and every image of the digest preview loads (the sample's images are served by the
demo itself, ``[newsroom] images_served``), and so does every image of the archive
pages written by "Send now".  Nothing but the demo is reachable from the browser.
``DISTRIBUTOR_SCREENSHOTS=DIR`` keeps the screenshots."""

from __future__ import annotations

from typing import Any

from tests.newcomer.conftest import Demo
from tests.web.test_browser import _shot, app_only_page, sync_api

IMAGES = """() => Array.from(document.images).map(i => ({
    src: i.currentSrc || i.src, complete: i.complete, width: i.naturalWidth}))"""


def _images(frame: Any) -> list[dict[str, Any]]:
    """Every <img> of ``frame``, once it has loaded."""
    frame.wait_for_load_state("load")
    shown: list[dict[str, Any]] = frame.evaluate(IMAGES)
    return shown


def _all_loaded(frame: Any, base: str) -> list[dict[str, Any]]:
    shown = _images(frame)
    assert shown, f"no image on {frame.url}"
    for image in shown:
        assert image["src"].startswith(base + "/"), image  # the demo's own, nothing else
        assert image["complete"] and image["width"] > 0, f"{image} did not load on {frame.url}"
    return shown


def test_every_image_of_the_demos_preview_and_archive_loads(demo: Demo) -> None:
    expect = sync_api.expect
    base = demo.base
    with app_only_page(base) as page:
        page.goto(f"{base}/editor/")
        page.fill("#email", demo.email)
        page.fill("#password", demo.password)
        page.click("button[type=submit]")
        expect(page.locator("h1")).to_have_text("Next editions")

        page.click("a[href='/editor/preview/daily/en']")
        expect(page.locator("#subject")).not_to_be_empty()
        preview = page.frame_locator("iframe.preview")
        expect(preview.locator("img").first).to_be_visible()
        digest = next(f for f in page.frames if f.url.endswith("/editor/preview/daily/en/html"))
        shown = _all_loaded(digest, base)
        assert [i["src"] for i in shown] == [f"{base}/images/marel-river-treaty.jpg"]
        assert _images(page.main_frame) == []  # the dashboard's page itself has none
        _shot(page, "demo-preview.png")

        page.click("text=Send now…")
        page.click("#confirm-send")
        expect(page.locator("#summary")).to_contain_text("24 sent, 0 failed, 0 unknown")

        pages = sorted((demo.data_dir / "archive" / "daily").glob("*/*.html"))
        assert {p.name for p in pages} >= {"en.html", "ar.html", "ja.html"}
        for path in pages:
            name = path.relative_to(demo.data_dir / "archive").as_posix()
            page.goto(f"{base}/archive/{name}")
            _all_loaded(page.main_frame, base)
            if path.name == "en.html":
                _shot(page, "demo-archive.png")
        # a story page shows its share card, served from the archive too
        stories = sorted((demo.data_dir / "archive" / "stories").glob("*.html"))
        assert stories
        page.goto(f"{base}/archive/stories/{stories[0].name}")
        _all_loaded(page.main_frame, base)
