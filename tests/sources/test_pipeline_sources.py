"""Sources and selection inside ``distributor run``: several kinds, failures, segments."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import select

from distributor.config import Settings
from distributor.models import Story, StoryStatus
from distributor.pipeline import Context, run
from distributor.pipeline import select as select_editions
from distributor.store import Store
from distributor.store import sources as source_store
from distributor.store.schema import deliveries, editions
from tests.conftest import NOW
from tests.sources.conftest import CORPUS, FeedServer, write_settings


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def contexts() -> Iterator[Any]:
    opened: list[Context] = []

    def make(settings: Settings, clock: Clock) -> Context:
        ctx = Context(
            settings=settings,
            store=Store.open(settings.database_url),
            session=requests.Session(),
            clock=clock,
        )
        opened.append(ctx)
        return ctx

    yield make
    for ctx in opened:
        ctx.close()
        ctx.session.close()
        ctx.store.close()


def subscribers(tmp_path: Path, rows: list[str]) -> Path:
    path = tmp_path / "subscribers.csv"
    path.write_text("email,name,language,timezone,topics\n" + "\n".join(rows) + "\n")
    return path


def edition_stories(ctx: Context) -> dict[tuple[str, str, str], list[str]]:
    with ctx.store.engine.connect() as conn:
        rows = conn.execute(
            select(editions.c.id, editions.c.key, editions.c.language, editions.c.segment)
        ).all()
    return {(r.key, r.language, r.segment): list(ctx.store.edition(r.id).story_ids) for r in rows}


def test_every_kind_in_one_run_with_a_broken_source(
    tmp_path: Path, feeds: FeedServer, contexts: Any
) -> None:
    rss = feeds.file("/rss.xml", CORPUS / "rss20.xml")
    jf = feeds.file("/feed.json", CORPUS / "feed.json", content_type="application/feed+json")
    feeds.file("/down.xml", b"busy", status=503)
    sources = f"""
[sources.gazette]
url = "{rss.url}"
[sources.lantern]
kind = "jsonfeed"
url = "{jf.url}"
[sources.notes]
kind = "markdown"
path = "{CORPUS / "md"}"
base_url = "https://notes.example/posts/"
[sources.down]
url = "{feeds.url("/down.xml")}"
"""
    subs = subscribers(tmp_path, ["en@example.com,En,en,,", "fr@example.com,Fr,fr,,"])
    ctx = contexts(write_settings(tmp_path, sources, subscribers=subs), Clock(NOW))
    report = run(ctx)
    by_name = {s.name: s for s in report.sources}
    assert [by_name[n].kind for n in ("gazette", "lantern", "notes", "down")] == [
        "feed",
        "jsonfeed",
        "markdown",
        "feed",
    ]
    assert by_name["gazette"].new == 3 and by_name["lantern"].new == 4
    assert by_name["notes"].new == 3 and len(by_name["notes"].problems) == 2
    assert by_name["down"].error == f"HTTP 503 SERVICE UNAVAILABLE from {feeds.url('/down.xml')}"
    assert [(e.stage, e.subject) for e in report.errors] == [("source", "down")]
    assert report.emails.sent == 2  # the run went on
    chosen = edition_stories(ctx)
    fr = chosen[("2026-11-28", "fr", "")]
    assert "lantern-1" in fr and "lantern-1-en" not in fr  # the French version of the group
    assert "lantern-1-en" in chosen[("2026-11-28", "en", "")]
    assert "lantern-2" not in fr  # a draft
    data = report.to_dict()
    assert data["sources"][3]["error"] and json.dumps(data)  # the report is JSON-ready


def test_an_edition_after_a_partly_failed_one(
    tmp_path: Path, feeds: FeedServer, contexts: Any
) -> None:
    """Source b is down at the first edition; its stories go into the next one, a's do not repeat."""
    a = feeds.file("/a.xml", CORPUS / "rss091.xml")
    b = feeds.file("/b.xml", CORPUS / "rss20.xml", status=500)
    clock = Clock(NOW)
    subs = subscribers(tmp_path, ["en@example.com,En,en,,"])
    ctx = contexts(
        write_settings(
            tmp_path,
            f'[sources.a]\nurl = "{a.url}"\n[sources.b]\nurl = "{b.url}"',
            subscribers=subs,
        ),
        clock,
    )
    first = run(ctx)
    assert [e.subject for e in first.errors] == ["b"] and first.emails.sent == 1

    feeds.server.clear()
    feeds.file("/a.xml", CORPUS / "rss091.xml")
    feeds.file("/b.xml", CORPUS / "rss20.xml")
    clock.now = NOW + timedelta(hours=1)
    second = run(ctx)
    assert second.ok and second.emails.sent == 1
    chosen = edition_stories(ctx)
    assert chosen[("2026-11-28", "en", "")] == ["https://oldpress.example/press"]
    # b's stories were published before the first edition but first seen after it
    assert sorted(chosen[("2026-11-28.2", "en", "")]) == [
        "gazette-1001",
        "https://gazette.example/news/library-hours",
        "https://gazette.example/news/regatta",
    ]
    clock.now = NOW + timedelta(hours=2)
    assert run(ctx).emails.sent == 0  # and nothing a third time


def test_stories_of_an_undelivered_edition_are_not_selected_again(
    tmp_path: Path, contexts: Any
) -> None:
    subs = subscribers(tmp_path, ["en@example.com,En,en,,", "en2@example.com,En2,en,,"])
    settings = write_settings(
        tmp_path, f'[sources.a]\nurl = "{CORPUS / "rss20.xml"}"', subscribers=subs
    )
    ctx = contexts(settings, Clock(NOW))
    from distributor.pipeline import fetch_sources, sync_subscribers
    from distributor.report import RunReport

    report = RunReport(started_at="", dry_run=False)
    fetch_sources(ctx, report)
    sync_subscribers(ctx, "daily", settings.lists["daily"], report)
    [plan] = select_editions(ctx, "daily", settings.lists["daily"])
    assert len(plan.stories) == 3
    # the edition exists but its delivery failed half-way: one sent, one still pending
    ctx.store.create_edition(
        list_name="daily",
        key="2026-11-28",
        language="en",
        stories=plan.stories,
        recipients=plan.recipients,
        now=NOW,
    )
    with ctx.store.engine.begin() as conn:
        conn.execute(
            deliveries.update().where(deliveries.c.email == "en@example.com").values(state="sent")
        )
    assert select_editions(ctx, "daily", settings.lists["daily"]) == []
    again = run(ctx)
    assert [e.resumed for e in again.editions] == [True] and again.emails.sent == 1


def test_topic_segments_in_a_run(tmp_path: Path, contexts: Any) -> None:
    subs = subscribers(
        tmp_path,
        [
            "all@example.com,All,en,,",
            "transport@example.com,Tr,en,,transport",
            "both@example.com,Both,en,,Local;transport",
            "garden@example.com,Garden,en,,gardening",
        ],
    )
    settings = write_settings(
        tmp_path, f'[sources.a]\nurl = "{CORPUS / "rss20.xml"}"', subscribers=subs
    )
    ctx = contexts(settings, Clock(NOW))
    report = run(ctx)
    assert report.emails.sent == 3  # the gardener has no story in their topics
    chosen = edition_stories(ctx)
    assert len(chosen[("2026-11-28", "en", "")]) == 3
    assert chosen[("2026-11-28", "en", "transport")] == ["gazette-1001"]
    assert chosen[("2026-11-28", "en", "local+transport")] == ["gazette-1001"]
    assert {e.segment for e in report.editions} == {"", "transport", "local+transport"}
    emls = {p.name: p for p in (tmp_path / "var/outbox/mail").rglob("*.eml")}
    assert len(emls) == 3
    for path in emls.values():
        msg = message_from_bytes(path.read_bytes(), policy=default_policy)
        assert msg["To"]
    assert run(ctx).emails.sent == 0


def test_empty_editions_skip_by_default_or_send(tmp_path: Path, contexts: Any) -> None:
    subs = subscribers(tmp_path, ["en@example.com,En,en,,"])
    feed = f'[sources.a]\nurl = "{CORPUS / "rss091.xml"}"'
    clock = Clock(NOW)
    ctx = contexts(write_settings(tmp_path, feed, subscribers=subs), clock)
    assert run(ctx).emails.sent == 1
    clock.now = NOW + timedelta(hours=1)
    skipped = run(ctx)
    assert (
        skipped.emails.sent == 0 and "list daily: no new stories; no edition made" in skipped.notes
    )

    other = tmp_path / "send"
    other.mkdir()
    ctx2 = contexts(
        write_settings(other, feed, subscribers=subs, list_extra='empty_edition = "send"'), clock
    )
    assert run(ctx2).emails.sent == 1
    clock.now = NOW + timedelta(hours=2)
    sent_anyway = run(ctx2)
    assert sent_anyway.emails.sent == 1
    assert [(e.key, e.stories) for e in sent_anyway.editions] == [("2026-11-28.2", 0)]


def test_editor_pins_and_priority_rank_the_edition(tmp_path: Path, contexts: Any) -> None:
    subs = subscribers(tmp_path, ["en@example.com,En,en,,"])
    settings = write_settings(
        tmp_path,
        f'[sources.a]\nurl = "{CORPUS / "rss20.xml"}"',
        subscribers=subs,
        list_extra="max_stories = 2",
    )
    ctx = contexts(settings, Clock(NOW))
    from distributor.pipeline import fetch_sources
    from distributor.report import RunReport

    fetch_sources(ctx, RunReport(started_at="", dry_run=False))
    regatta = "https://gazette.example/news/regatta"  # the oldest
    assert source_store.set_flags(ctx.store, regatta, pinned=True)
    assert source_store.set_flags(
        ctx.store, "https://gazette.example/news/library-hours", priority=3
    )
    assert not source_store.set_flags(ctx.store, "nope", pinned=True)
    report = run(ctx)
    assert report.emails.sent == 1
    assert edition_stories(ctx)[("2026-11-28", "en", "")] == [
        regatta,
        "https://gazette.example/news/library-hours",
    ]


def test_a_flagged_update_is_resent(tmp_path: Path, feeds: FeedServer, contexts: Any) -> None:
    body = (CORPUS / "rss091.xml").read_text()
    served = feeds.file("/f.xml", body)
    subs = subscribers(tmp_path, ["en@example.com,En,en,,"])
    clock = Clock(NOW)
    ctx = contexts(
        write_settings(tmp_path, f'[sources.a]\nurl = "{served.url}"', subscribers=subs), clock
    )
    assert run(ctx).emails.sent == 1
    press = "https://oldpress.example/press"
    # the newsroom corrects the story: same id, new text and an update time
    served.body = (
        body.replace("The 1890 press runs again.", "The 1890 press runs again (corrected).")
        .replace(
            "</pubDate>",
            "</pubDate><atom:updated xmlns:atom='http://www.w3.org/2005/Atom'>2026-11-28T07:30:00Z</atom:updated>",
        )
        .encode()
    )
    clock.now = NOW + timedelta(hours=1)
    not_flagged = run(ctx)
    assert not_flagged.sources[0].updated == 1 and not_flagged.emails.sent == 0
    stored = ctx.store.stories_by_id([press])[press]
    assert "corrected" in stored.summary_html and stored.status is StoryStatus.PUBLISHED
    assert isinstance(stored, Story)
    source_store.set_flags(ctx.store, press, resend=True)
    clock.now = NOW + timedelta(hours=2)
    flagged = run(ctx)
    assert flagged.emails.sent == 1
    assert edition_stories(ctx)[("2026-11-28.2", "en", "")] == [press]
    clock.now = NOW + timedelta(hours=3)
    assert run(ctx).emails.sent == 0  # resent once, not at every run
