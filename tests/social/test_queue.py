"""The social queue (issue 18): drafts per channel, approval, slots, edits, the ledger.

Every test runs on a clock it moves (06:00 UTC on the pinned day onwards); the posts go
through the file channel (one JSON file per post) or a local server that checks the
network's contract.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from distributor.config import load_settings
from distributor.errors import ConfigError, ConflictError, PostError, PostStateError, PostTextError
from distributor.models import PostState, Story
from distributor.report import RunReport
from distributor.service import Context, posts
from distributor.store.web import WebStore
from tests.conftest import NOW, settings_for, write_config
from tests.editions.conftest import MovableClock
from tests.social.conftest import story

MORNING = NOW.replace(hour=6)  # the story is published at 06:00 UTC

EDITOR = """
[social.desk]
provider = "file"
approval = "editor"
timezone = "Europe/Paris"
slots = ["08:00", "12:30", "18:00"]
"""

AUTO = """
[social.wire]
provider = "file"
slots = ["08:00", "12:30", "18:00"]
language_slots = { ar = ["09:00", "21:00"] }
min_gap_minutes = 120
"""


class Queue:
    def __init__(self, ctx: Context, clock: MovableClock, tmp_path: Path) -> None:
        self.ctx, self.clock, self.tmp_path = ctx, clock, tmp_path

    def publish(self, *stories: Story) -> RunReport:
        """What a run does for these stories: queue them, post what is due."""
        self.ctx.store.upsert_stories(stories, self.clock())
        return self.tick(list(stories))

    def tick(self, stories: list[Story] | None = None) -> RunReport:
        from distributor.pipeline import publish_social

        report = RunReport(started_at=self.clock().isoformat(), dry_run=False)
        publish_social(self.ctx, stories or [], report, dry_run=False)
        return report

    def outbox(self, channel: str) -> list[dict[str, str]]:
        folder = self.tmp_path / "var/outbox/social" / channel
        return [json.loads(p.read_text("utf-8")) for p in sorted(folder.glob("*.json"))]


def open_queue(tmp_path: Path, social: str) -> Iterator[Queue]:
    clock = MovableClock(MORNING)
    path = write_config(tmp_path, social=social)
    with Context.open(settings_for(path), clock=clock) as ctx:
        yield Queue(ctx, clock, tmp_path)


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[Queue]:
    yield from open_queue(tmp_path, EDITOR)


@pytest.fixture
def wire(tmp_path: Path) -> Iterator[Queue]:
    yield from open_queue(tmp_path, AUTO)


def paris(q: Queue, post: posts.QueuedPost) -> str:
    assert post.at is not None
    return post.at.astimezone(posts.channel_zone(q.ctx, post.channel)).strftime("%d %H:%M")


def test_a_story_published_at_six_is_a_draft_approved_into_the_next_slot_posted_once(
    desk: Queue,
) -> None:
    s = story("en", id="climate-en", published_at=MORNING)
    report = desk.publish(s)
    assert "channel desk: 1 posts drafted for an editor" in " ".join(report.notes)
    (draft,) = posts.listing(desk.ctx, channel="desk")
    assert draft.state == PostState.DRAFT and draft.at is None and draft.created_by == "run"
    assert "Ministers agree" in draft.text and desk.outbox("desk") == []

    approved = posts.approve(desk.ctx, draft.id, version=draft.version, by="ed@news.example")
    # 06:00 UTC is 07:00 in Paris: the next slot is 08:00 Paris, 07:00 UTC
    assert approved.state == PostState.APPROVED and paris(desk, approved) == "28 08:00"
    assert approved.approved_by == "ed@news.example"

    desk.clock.move(minutes=59)  # 06:59 UTC: not yet
    assert desk.tick().posts.sent == 0 and desk.outbox("desk") == []
    desk.clock.move(minutes=1)
    report = desk.tick()
    assert report.posts.sent == 1
    (sent,) = desk.outbox("desk")
    assert sent["text"] == draft.text and sent["story_id"] == "climate-en"
    done = posts.get(desk.ctx, draft.id)
    assert done.state == PostState.POSTED and done.posted_version == 1
    desk.clock.move(hours=1)
    assert desk.tick([s]).posts.sent == 0  # a later run: never twice, no second draft
    assert len(posts.listing(desk.ctx, channel="desk")) == 1
    actions = [c.action for c in posts.changes(desk.ctx, draft.id)]
    assert actions == ["create", "approve", "post", "posted"]


def test_auto_posts_fill_the_next_free_slots_per_language_keeping_the_gap(wire: Queue) -> None:
    en = [story("en", id=f"en-{i}", published_at=MORNING) for i in range(4)]
    ar = story("ar", id="en-0-ar", translation_group="en-0", published_at=MORNING)
    wire.publish(*en, ar)
    queued = {p.story_id: p for p in posts.listing(wire.ctx, channel="wire")}
    assert {p.state for p in queued.values()} == {PostState.APPROVED}
    times = [paris(wire, queued[f"en-{i}"]).split()[1] for i in range(4)]
    # the zone is UTC here; slots 08:00, 12:30, 18:00, then the next day's 08:00
    assert times == ["08:00", "12:30", "18:00", "08:00"]
    assert paris(wire, queued["en-3"]).startswith("29")
    # the Arabic translation has its own slots (09:00, 21:00) but keeps two hours from
    # the English post at 08:00: 09:00 is too near, 21:00 is taken by nobody
    assert paris(wire, queued["en-0-ar"]) == "28 21:00"


def test_an_edit_makes_a_new_version_and_only_the_claimed_version_goes(desk: Queue) -> None:
    desk.publish(story("ja", id="ja-1", published_at=MORNING))
    (p,) = posts.listing(desk.ctx)
    edited = posts.edit(
        desk.ctx, p.id, text="閣僚が合意 https://news.example/ja", version=p.version, by="ed"
    )
    assert edited.text_version == 2 and edited.state == PostState.DRAFT
    with pytest.raises(ConflictError):  # a second editor saving over a stale version
        posts.edit(desk.ctx, p.id, text="古い", version=p.version, by="other")
    with pytest.raises(PostTextError, match="over file's limit of 500"):
        posts.edit(desk.ctx, p.id, text="長" * 501, version=edited.version, by="ed")
    with pytest.raises(PostTextError, match="empty"):
        posts.edit(desk.ctx, p.id, text="  ", version=edited.version, by="ed")
    approved = posts.approve(desk.ctx, p.id, version=edited.version, by="ed")
    again = posts.edit(
        desk.ctx, p.id, text="閣僚が新協定で合意", version=approved.version, by="chief"
    )
    assert again.state == PostState.APPROVED and again.approved_by == "chief"
    assert again.text_version == 3
    desk.clock.move(hours=2)
    desk.tick()
    (sent,) = desk.outbox("desk")
    assert sent["text"] == "閣僚が新協定で合意"
    done = posts.get(desk.ctx, p.id)
    assert done.posted_version == 3 and done.state == PostState.POSTED
    with pytest.raises(PostStateError, match="too late to edit"):
        posts.edit(desk.ctx, p.id, text="後から", version=done.version, by="ed")
    versions = [(c.text_version, c.text) for c in posts.changes(desk.ctx, p.id) if c.text]
    assert [v for v, _ in versions] == [1, 2, 3]


def test_an_excluded_or_unpublished_story_is_cancelled_with_the_reason(desk: Queue) -> None:
    a = story("en", id="a", published_at=MORNING)
    b = story("en", id="b", published_at=MORNING, url="https://news.example/b")
    desk.publish(a, b)
    for p in posts.listing(desk.ctx):
        posts.approve(desk.ctx, p.id, version=p.version, by="ed")
    WebStore(desk.ctx.store).set_story_flag("a", "excluded", True)
    from dataclasses import replace

    from distributor.models import StoryStatus

    desk.ctx.store.upsert_stories([replace(b, status=StoryStatus.DRAFT)], desk.clock())
    desk.clock.move(hours=12)
    report = desk.tick()
    assert report.posts.sent == 0 and desk.outbox("desk") == []
    by_story = {p.story_id: p for p in posts.listing(desk.ctx)}
    assert by_story["a"].state == by_story["b"].state == PostState.CANCELLED
    assert by_story["a"].reason == "its story was excluded by an editor"
    assert by_story["b"].reason == "its story was unpublished (now draft)"
    assert any("cancelled: its story was excluded" in n for n in report.notes)


def test_move_pin_post_now_and_cancel(desk: Queue) -> None:
    desk.publish(*(story("en", id=f"s{i}", url=f"https://n.example/{i}") for i in range(3)))
    p0, p1, p2 = posts.listing(desk.ctx)
    a0 = posts.approve(desk.ctx, p0.id, version=p0.version, by="ed")
    a1 = posts.approve(desk.ctx, p1.id, version=p1.version, by="ed")
    assert (paris(desk, a0), paris(desk, a1)) == ("28 08:00", "28 12:30")
    with pytest.raises(PostError, match="taken"):
        posts.move(desk.ctx, a1.id, to=a0.at, version=a1.version, by="ed")
    with pytest.raises(PostError, match="not a slot"):
        posts.move(
            desk.ctx,
            a1.id,
            to=posts.parse_time(desk.ctx, "desk", "09:15"),
            version=a1.version,
            by="ed",
        )
    moved = posts.move(desk.ctx, a1.id, to=None, version=a1.version, by="ed")
    assert paris(desk, moved) == "28 18:00"
    pinned = posts.schedule(
        desk.ctx,
        a0.id,
        at=posts.parse_time(desk.ctx, "desk", "2026-11-28 15:05"),
        version=a0.version,
        by="ed",
    )
    assert pinned.state == PostState.SCHEDULED and paris(desk, pinned) == "28 15:05"
    with pytest.raises(PostError, match="in the past"):
        posts.schedule(
            desk.ctx, p2.id, at=MORNING - timedelta(hours=1), version=p2.version, by="ed"
        )
    now_post, report = posts.post_now(desk.ctx, p2.id, version=p2.version, by="ed")
    assert now_post.state == PostState.POSTED and report.posts.sent == 1
    assert len(desk.outbox("desk")) == 1
    gone = posts.cancel(desk.ctx, moved.id, version=moved.version, by="ed", reason="old news")
    assert gone.state == PostState.CANCELLED and gone.reason == "old news"
    with pytest.raises(PostStateError):
        posts.cancel(desk.ctx, gone.id, version=gone.version, by="ed")
    desk.clock.move(days=1)
    desk.tick()
    assert len(desk.outbox("desk")) == 2  # the pinned one; the cancelled one never


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('slots = ["8am"]', "'8am' is not a time of day as HH:MM"),
        ('slots = ["25:00"]', "'25:00' is not a time of day"),
        ('timezone = "Mars/Olympus"', "unknown time zone 'Mars/Olympus'"),
        ('approval = "sometimes"', "approval"),
    ],
)
def test_bad_queue_settings_are_refused(tmp_path: Path, line: str, message: str) -> None:
    path = write_config(tmp_path, social=f'[social.bad]\nprovider = "file"\n{line}')
    with pytest.raises(ConfigError, match=message):
        load_settings(path, environ={}, dotenv_path=tmp_path / "no.env")


def test_refused_credentials_keep_the_posts_queued_with_one_alert(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/v2/instance").respond_with_json({})
    for path in ("/api/v2/media", "/api/v1/statuses"):  # the card goes first
        httpserver.expect_request(path, method="POST").respond_with_json(
            {"error": "The access token is invalid"}, status=401
        )
    social = (
        f'[social.masto]\nprovider = "mastodon"\nbase_url = "{httpserver.url_for("")}"\n'
        'slots = ["08:00"]\n'
    )
    env = {"DISTRIBUTOR_SOCIAL_MASTO_ACCESS_TOKEN": "wrong"}
    clock = MovableClock(MORNING)
    settings = settings_for(write_config(tmp_path, social=social), env)
    with Context.open(settings, clock=clock) as ctx:
        q = Queue(ctx, clock, tmp_path)
        ctx.store.upsert_stories(
            [story("en", id="x1"), story("en", id="x2", url="https://n.example/2")], clock()
        )
        first = q.tick([story("en", id="x1"), story("en", id="x2", url="https://n.example/2")])
        assert first.posts.sent == 0
        clock.move(days=1, hours=2)  # both slots (28 and 29 at 08:00) have passed
        report = q.tick()
        alerts = [e for e in report.errors if e.subject == "masto"]
        assert len(alerts) == 1 and "credentials refused" in alerts[0].cause
        waiting = posts.listing(ctx, channel="masto")
        assert {p.state for p in waiting} == {PostState.APPROVED}
        assert all(p.error and p.error.startswith("waiting: channel masto") for p in waiting)
        # one call was made: the channel stopped at the refusal, the other post never went
        assert len([r for r, _ in httpserver.log if r.method == "POST"]) == 1
        assert ctx.store.post_counts("masto").pending == 0  # nothing half-queued in the ledger
        clock.move(minutes=10)  # the next poll: still refused, said once already
        again = q.tick()
        assert not [e for e in again.errors if e.subject == "masto"]
        assert any("credentials refused" in n and "2 posts wait" in n for n in again.notes)
        # the credentials are mended: the waiting posts go at the next tick, once each
        httpserver.clear()
        httpserver.expect_request("/api/v2/instance").respond_with_json({})
        httpserver.expect_request("/api/v2/media", method="POST").respond_with_json(
            {"id": "m", "url": "https://m.example/m.png"}
        )
        httpserver.expect_request("/api/v1/statuses", method="POST").respond_with_json(
            {"id": "101", "url": "https://m.example/@news/101"}
        )
        assert q.tick().posts.sent == 2
        done = posts.listing(ctx, channel="masto")
        assert {p.state for p in done} == {PostState.POSTED} and not any(p.error for p in done)
        assert q.tick().posts.sent == 0


def test_two_claims_of_one_due_post_only_one_wins(wire: Queue) -> None:
    from distributor.store.posts import PostStore

    wire.ctx.store.upsert_stories([story("en", id="race")], wire.clock())
    (p,) = posts.queue_stories(wire.ctx, [story("en", id="race")], wire.ctx.enabled_channels())
    store = PostStore(wire.ctx.store)
    args: dict[str, Any] = {
        "from_states": (PostState.APPROVED, PostState.SCHEDULED),
        "to_state": PostState.POSTING,
        "action": "post",
        "now": wire.clock(),
    }
    first = store.claim(p.id, who="scheduler-a", **args)
    second = store.claim(p.id, who="scheduler-b", **args)
    assert first is not None and first.posted_version == 1 and second is None


def test_an_unknown_outcome_waits_for_the_editor_then_shows_posted(desk: Queue) -> None:
    from distributor.models import DeliveryResult
    from distributor.store.posts import PostStore

    desk.publish(story("en", id="lost"))
    (p,) = posts.listing(desk.ctx)
    posts.schedule(desk.ctx, p.id, at=desk.clock(), version=p.version, by="ed")
    claimed = PostStore(desk.ctx.store).claim(
        p.id,
        from_states=(PostState.SCHEDULED,),
        to_state=PostState.POSTING,
        who="run",
        action="post",
        now=desk.clock(),
    )
    assert claimed is not None
    desk.ctx.store.ensure_posts([("lost", "desk", "en")], desk.clock())
    (row,) = desk.ctx.store.claim_posts("desk", 10, desk.clock())
    desk.ctx.store.record_post(row, DeliveryResult.unknown(row.key, "no reply"), desk.clock())
    posts.settle(desk.ctx)
    assert posts.get(desk.ctx, p.id).state == PostState.UNKNOWN
    assert desk.tick().posts.sent == 0  # never posted again on its own
    desk.ctx.store.resolve_unknown_posts("desk", decision="sent", now=desk.clock())
    posts.settle(desk.ctx)
    assert posts.get(desk.ctx, p.id).state == PostState.POSTED


def test_the_calendar_has_mail_editions_and_posts_per_day_in_the_editors_zone(
    tmp_path: Path,
) -> None:
    from distributor.service import calendar
    from distributor.service import editions as editions_service

    clock = MovableClock(MORNING)
    path = write_config(tmp_path, social=EDITOR, list_extra='schedule = "0 7 * * *"')
    with Context.open(settings_for(path), clock=clock) as ctx:
        q = Queue(ctx, clock, tmp_path)
        q.publish(story("en", id="cal"))
        (p,) = posts.listing(ctx)
        posts.approve(ctx, p.id, version=p.version, by="ed")  # 08:00 Paris = 07:00 UTC
        made = editions_service.one_off(ctx, "daily", ["cal"], by="ed")
        editions_service.schedule(
            ctx, made.id, version=made.version, send_at=MORNING + timedelta(hours=30), by="ed"
        )
        days = calendar.calendar(ctx, start=None, days=3, tz="Asia/Tokyo")
    assert [d.day.isoformat() for d in days] == ["2026-11-28", "2026-11-29", "2026-11-30"]
    first, second, third = (d.to_dict() for d in days)
    # 06:00 UTC is 15:00 in Tokyo: the 07:00 UTC slot of the list is 16:00 there
    assert [(e["time"], e["state"]) for e in first["editions"]] == [("16:00", "expected")]
    assert [(p["time"], p["state"]) for p in first["posts"]["desk"]] == [("16:00", "approved")]
    # the one-off at 12:00 UTC on the 29th is 21:00 in Tokyo
    assert ("21:00", "scheduled") in [(e["time"], e["state"]) for e in second["editions"]]
    assert [e["time"] for e in third["editions"]] == ["16:00"]
    with pytest.raises(ConfigError, match="unknown time zone"):
        calendar.calendar(ctx, start=None, days=3, tz="Nowhere/Land")
