"""Size guard: a digest over 100 KB of HTML drops summaries, then its last stories,
keeps its footer, and the run report says so."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from distributor.config import Settings
from distributor.pipeline import run
from distributor.render.digest import MAX_HTML_BYTES, DigestRenderer
from tests.conftest import settings_for, write_config
from tests.digests.conftest import edition_for, links_for, make_stories, parse, subscriber


def test_big_summaries_are_dropped_first(
    renderer: DigestRenderer, settings: Settings, now: datetime
) -> None:
    stories = make_stories("en", 10, summary="Lorem ipsum dolor sit amet. " * 700)  # ~20 KB each
    cfg = settings.lists["daily"]
    variant = renderer.render(edition_for("en", stories), stories, links_for(stories), cfg)
    assert variant.shortening is not None
    assert variant.shortening.summaries_dropped and variant.shortening.stories_dropped == 0
    assert variant.shortening.original_bytes > MAX_HTML_BYTES
    assert len(variant.html.encode()) <= MAX_HTML_BYTES
    assert "Lorem ipsum" not in variant.html and "Lorem ipsum" not in variant.text
    assert len(variant.story_ids) == 10
    message = renderer.personalize(variant, subscriber(1, "r@example.com", "R"), "k/1", cfg, now)
    assert_footer_kept(message.raw, variant.view_url)
    assert len(message.html.encode()) <= MAX_HTML_BYTES


def test_then_the_last_stories_are_dropped(
    renderer: DigestRenderer, settings: Settings, now: datetime
) -> None:
    from dataclasses import replace

    stories = [replace(s, title=s.title + " headline" * 400) for s in make_stories("fr", 40)]
    cfg = settings.lists["daily"].model_copy(update={"max_stories": 40})
    variant = renderer.render(edition_for("fr", stories), stories, links_for(stories), cfg)
    shortening = variant.shortening
    assert shortening is not None and shortening.stories_dropped > 0
    kept = len(variant.story_ids)
    assert kept + shortening.stories_dropped == 40
    assert variant.story_ids == tuple(s.id for s in stories[:kept])  # the lead and the first ones
    assert len(variant.html.encode()) <= MAX_HTML_BYTES
    # as many as fit: one more story would not
    bigger = renderer._render_mail(
        edition_for("fr", stories),
        stories[: kept + 1],
        links_for(stories),
        cfg,
        renderer._placeholders,
        summaries=False,
        shortened=True,
    )[1]
    assert len(bigger.encode()) > MAX_HTML_BYTES - 1000
    assert "Cette édition a été raccourcie" in variant.html
    message = renderer.personalize(
        variant, subscriber(1, "r@example.com", "R", "fr"), "k/1", cfg, now
    )
    assert_footer_kept(message.raw, variant.view_url)
    assert "Se désabonner" in message.html and "Gérer mes préférences" in message.html
    assert "1 Example Square, Example City" in message.html


def assert_footer_kept(raw: bytes, view_url: str) -> None:
    msg = parse(raw)
    html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
    text = msg.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    unsubscribe = msg["List-Unsubscribe"].split(">")[0].lstrip("<")
    for body in (html, text):
        assert unsubscribe in body and "/p/" in body and view_url in body
        assert "1 Example Square, Example City" in body


def test_the_run_report_says_so(tmp_path: Path, make_context: Any) -> None:
    """End to end: a feed whose stories carry huge summaries."""
    now = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)
    entries = []
    for i in range(8):
        summary = escape(f"Story {i} summary. " + "A long and winding paragraph. " * 600)
        published = (now - timedelta(hours=i + 1)).strftime("%Y-%m-%dT%H:%M:%SZ")
        entries.append(
            f"""<entry><id>urn:big:{i}</id><title>Big story {i}</title>
<link href="https://news.example/en/big-{i}"/><updated>{published}</updated>
<published>{published}</published><summary>{summary}</summary></entry>"""
        )
    feed = tmp_path / "big.atom.xml"
    feed.write_text(
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en">'
        "<id>urn:big</id><title>Big</title><updated>2026-11-28T06:00:00Z</updated>"
        + "".join(entries)
        + "</feed>",
        encoding="utf-8",
    )
    subscribers = tmp_path / "subs.csv"
    subscribers.write_text(
        "email,name,language,timezone,topics\nr@example.com,R,en,,\n", encoding="utf-8"
    )
    ctx = make_context(
        settings_for(write_config(tmp_path, feed=feed, subscribers=subscribers, social=""))
    )
    report = run(ctx)
    assert report.ok, report.errors
    assert report.emails.sent == 1
    notes = [p for p in report.warnings if p.stage == "render"]
    assert len(notes) == 1 and notes[0].subject == "daily/2026-11-28/en"
    assert "summaries dropped" in notes[0].cause and "100 KB" in notes[0].cause
    assert "render" in str(report.to_dict()["warnings"])
    eml = next((tmp_path / "var/outbox/mail").rglob("*.eml"))
    assert len(parse(eml.read_bytes()).get_body(("html",)).get_content().encode()) <= MAX_HTML_BYTES  # type: ignore[union-attr]
    # the web archive keeps every summary
    page = (tmp_path / "var/archive/daily/2026-11-28/en.html").read_text(encoding="utf-8")
    assert "A long and winding paragraph." in page
