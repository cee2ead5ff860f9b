"""Readers who chose the weekly digest: one edition a week, with the week's stories."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from distributor.models import Subscriber
from distributor.pipeline import Context, run
from distributor.store import Store
from distributor.store.web import WebStore
from tests.conftest import settings_for, write_config

MONDAY = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)


def entry(slug: str, published: datetime) -> str:
    stamp = published.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        f'<entry xml:lang="en"><id>urn:t:{slug}</id><title>Story {slug}</title>'
        f'<link rel="alternate" href="https://news.example/en/{slug}"/>'
        f"<published>{stamp}</published><updated>{stamp}</updated>"
        f'<summary type="html">About {slug}.</summary></entry>'
    )


def write_feed(path: Path, stories: dict[str, datetime]) -> None:
    path.write_text(
        '<?xml version="1.0" encoding="utf-8"?>'
        '<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en"><title>t</title>'
        "<id>urn:t</id><updated>2026-11-30T00:00:00Z</updated>"
        + "".join(entry(k, v) for k, v in stories.items())
        + "</feed>",
        encoding="utf-8",
    )


def test_weekly_readers_get_one_edition_a_week(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    subs = tmp_path / "subs.csv"
    subs.write_text("email,name,language,timezone,topics\ndaily@example.com,D,en,,\n")
    stories = {
        "tue": MONDAY - timedelta(days=6),  # Tuesday of the week before
        "thu": MONDAY - timedelta(days=4, hours=1),  # just outside the 48-hour window
        "sat": MONDAY - timedelta(days=2, hours=1),
        "sun": MONDAY - timedelta(days=1, hours=1),
    }
    write_feed(feed, stories)
    path = write_config(
        tmp_path, feed=feed, subscribers=subs, social="", list_extra='weekly_day = "monday"'
    )
    path.write_text(path.read_text().replace("max_age_hours = 876000", "max_age_hours = 48"))
    settings = settings_for(path)
    store = Store.open(settings.database_url)
    now = [MONDAY - timedelta(days=2)]  # Saturday
    ctx = Context(settings=settings, store=store, session=requests.Session(), clock=lambda: now[0])
    try:
        weekly = Subscriber(id=0, email="weekly@example.com", name="W", language="en")
        WebStore(store).import_rows("daily", [weekly], now[0], frequency="weekly")

        def sent_to(report_editions: list, who: str) -> list[tuple[str, int]]:  # type: ignore[type-arg]
            return [
                (e.segment, e.stories)
                for e in report_editions
                if (e.segment.startswith("weekly")) == (who == "weekly")
            ]

        saturday = run(ctx)  # daily reader: the 48-hour window; weekly reader: nothing
        assert sent_to(saturday.editions, "daily") == [("", 1)]
        assert sent_to(saturday.editions, "weekly") == []
        assert saturday.emails.sent == 1

        now[0] = MONDAY - timedelta(days=1)  # Sunday
        sunday = run(ctx)
        assert sent_to(sunday.editions, "daily") == [("", 1)]
        assert sent_to(sunday.editions, "weekly") == [] and sunday.emails.sent == 1

        now[0] = MONDAY  # the weekly day: everything of the week the weekly reader lacks
        monday = run(ctx)
        assert sent_to(monday.editions, "weekly") == [("weekly", 4)]
        assert sent_to(monday.editions, "daily") == []  # nothing new for daily readers
        assert monday.emails.sent == 1
        weekly_mail = next(
            p
            for p in (tmp_path / "var/outbox/mail/daily").rglob("*.eml")
            if b"weekly@example.com" in p.read_bytes()
        )
        body = weekly_mail.read_bytes()
        for slug in stories:
            assert f"Story {slug}".encode() in body

        again = run(ctx)  # a second run the same Monday sends nothing to anyone
        assert again.emails.sent == 0

        # the next week: one new story; the weekly reader gets only that one
        stories["wed"] = MONDAY + timedelta(days=2)
        write_feed(feed, stories)
        now[0] = MONDAY + timedelta(days=2, hours=1)  # Wednesday: daily only
        wednesday = run(ctx)
        assert sent_to(wednesday.editions, "daily") == [("", 1)]
        assert sent_to(wednesday.editions, "weekly") == []
        now[0] = MONDAY + timedelta(days=7)
        next_monday = run(ctx)
        assert sent_to(next_monday.editions, "weekly") == [("weekly", 1)]
    finally:
        ctx.close()
        ctx.session.close()
        store.close()
