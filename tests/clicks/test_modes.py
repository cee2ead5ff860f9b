"""``tracking = "off" | "per_reader"`` and ``opens = true`` on a real run's digests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select

from distributor.store.schema import reader_clicks, stories
from distributor.store.web import WebStore
from tests.clicks.conftest import redirect_links, serve
from tests.clicks.test_redirects import BROWSER, click
from tests.conftest import NOW
from tests.web.conftest import html_of, read_mail, text_of


def test_tracking_off_leaves_the_links_untouched(tmp_path: Path, make_context: Any) -> None:
    for served in serve(tmp_path, make_context, list_extra='tracking = "off"'):
        with served.ctx.store.engine.connect() as conn:
            urls = {r.url for r in conn.execute(select(stories.c.url))}
        for path in served.emls():
            html = html_of(read_mail(path))
            assert f"{served.base}/r/" not in html and f"{served.base}/o/" not in html
            assert any(f'href="{u}"' in html for u in urls)
            assert f"{served.base}/r/" not in text_of(read_mail(path))


def test_per_reader_links_carry_the_signed_reader_and_keep_who_clicked(
    tmp_path: Path, make_context: Any
) -> None:
    for served in serve(tmp_path, make_context, list_extra='tracking = "per_reader"'):
        served.clock.advance(hours=1)
        emls = served.emls("en")[:2]
        first = redirect_links(html_of(read_mail(emls[0])), served.base)
        second = redirect_links(html_of(read_mail(emls[1])), served.base)
        assert first and all("?u=" in link for link in first)
        assert first != second  # each message carries its reader
        assert "DISTRIBUTORREADERX" not in read_mail(emls[0]).as_string()
        assert "?u=" in text_of(read_mail(emls[0]))
        reader_id = int(emls[0].stem)
        assert click(first[0]).status_code == 302
        tampered = first[1].rsplit("?u=", 1)[0] + "?u=forged"
        assert click(tampered, agent=BROWSER + " other").status_code == 302  # counted, no reader
        [edition] = served.stats()
        assert edition.tracking == "per_reader" and edition.clicks == 2
        with served.ctx.store.engine.connect() as conn:
            rows = conn.execute(select(reader_clicks)).all()
        assert [(r.subscriber_id, r.clicks) for r in rows] == [(reader_id, 1)]
        # forgetting the reader deletes what per_reader kept; the aggregates stay
        email = str(read_mail(emls[0])["To"].addresses[0].addr_spec)
        assert WebStore(served.ctx.store).forget(email, NOW)
        with served.ctx.store.engine.connect() as conn:
            assert conn.execute(select(reader_clicks)).first() is None
        assert served.stats()[0].clicks == 2


def test_opens_are_off_by_default_and_labelled_unreliable_when_on(
    tmp_path: Path, make_context: Any
) -> None:
    for served in serve(tmp_path, make_context, list_extra="opens = true"):
        html = html_of(read_mail(served.emls("en")[0]))
        [pixel] = [p for p in html.split('"') if p.startswith(f"{served.base}/o/")]
        # an image proxy as the mail arrives, then a reader later
        proxy = click(pixel, agent="Mozilla/5.0 (via ggpht.com GoogleImageProxy)")
        assert proxy.status_code == 200 and proxy.headers["Content-Type"] == "image/gif"
        served.clock.advance(hours=1)
        assert click(pixel).content.startswith(b"GIF89a")
        assert click(pixel.replace("/o/", "/o/x")).status_code == 200  # never an error
        assert click(pixel.replace("/o/", "/r/").removesuffix(".gif")).status_code == 404
        [edition] = served.stats()
        variant = next(v for v in edition.variants if v.opens)
        assert variant.opens == 1 and variant.machine_opens == 1
        assert "unreliable" in str(edition.to_dict()["variants"])
        assert edition.clicks == 0  # opens are not clicks
    (tmp_path / "default").mkdir()
    for served in serve(tmp_path / "default", make_context):
        html = html_of(read_mail(served.emls("en")[0]))
        assert f"{served.base}/o/" not in html
        assert all(v.opens is None for v in served.stats()[0].variants)
