"""The life cycle of an edition through the service: draft, shape, approve, schedule,
cancel, send; the daily job and the scheduler's poll honour it; bad input is refused."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from html import escape as html_escape
from pathlib import Path

import pytest
from sqlalchemy import func, select

from distributor.errors import ConflictError, EditionError, NotFoundError
from distributor.models import PlanState
from distributor.report import RunReport
from distributor.service import Context, daily
from distributor.service import editions as service
from distributor.service.clicks import ClickRecorder
from distributor.store.schema import deliveries
from tests.conftest import NOW, settings_for, write_config
from tests.editions.conftest import Desk, open_desk
from tests.web.conftest import html_of, text_of
from tests.web.conftest import read_mail as read


def ledger_rows(desk: Desk) -> int:
    with desk.ctx.store.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(deliveries)).scalar_one())


def test_an_editors_day_draft_shape_approve_sent_at_the_slot(desk: Desk) -> None:
    ctx, clock = desk.ctx, desk.clock
    clock.move(hours=-2)  # 05:00: the draft is made two hours before the 07:00 slot
    draft = service.draft(ctx, "daily", by="ed@news.example", fetch=True)
    assert draft.state == PlanState.DRAFT and draft.kind == "regular"
    assert draft.send_at == clock.now + timedelta(hours=2)  # the list's next slot
    assert draft.recipients == 24 and {v.language for v in draft.variants} >= {"ar", "ja", "en"}

    ar = next(v for v in draft.variants if v.language == "ar" and not v.segment)
    last = ar.story_ids[-1]
    shaped = service.update(
        ctx,
        draft.id,
        version=draft.version,
        changes=service.Changes(
            pin=[last],
            intros={"ar": "**صباح الخير** من [غرفة الأخبار](https://news.example/ar)."},
            subjects={"ar": "نشرة الصباح الخاصة"},
        ),
        by="ed@news.example",
    )
    ar = next(v for v in shaped.variants if v.language == "ar" and not v.segment)
    assert ar.story_ids[0] == last and shaped.version == draft.version + 1

    # before the slot nothing goes; at the slot an unapproved edition is held, and says so
    clock.move(hours=2)
    held = daily.run(ctx)
    assert held.emails.sent == 0 and held.held == [draft.id]
    assert any("held" in w.cause for w in held.warnings)
    assert desk.outbox() == []

    approved = service.approve(ctx, draft.id, version=shaped.version, by="chief@news.example")
    assert approved.state == PlanState.APPROVED and approved.approved_by == "chief@news.example"
    report = daily.run(ctx)
    assert report.sent_editions == [draft.id] and report.emails.sent == 24
    assert service.get(ctx, draft.id).state == PlanState.SENT

    arabic = [read(p) for p in desk.outbox() if p.parent.name == "ar"]
    assert len(arabic) == 5
    for msg in arabic:
        assert msg["Subject"] == "نشرة الصباح الخاصة"
        html = html_of(msg)
        assert "<strong>صباح الخير</strong>" in html and 'href="https://news.example/ar"' in html
        assert "صباح الخير" in text_of(msg)
    # the pinned story is in every Arabic digest (a pin applies to every variant)
    pinned = ctx.store.stories_by_id([last])[last].title
    assert all(pinned in text_of(m) for m in arabic)

    again = daily.run(ctx)
    assert again.emails.sent == 0 and again.sent_editions == []
    log = [c.action for c in service.changes(ctx, draft.id)]
    assert log == ["create", "edit", "approve", "send", "sent"]


def test_auto_lists_send_the_draft_they_make_and_keep_it(auto_desk: Desk) -> None:
    report = daily.run(auto_desk.ctx)
    assert report.emails.sent == 24 and len(report.sent_editions) == 1
    made = service.get(auto_desk.ctx, report.sent_editions[0])
    assert made.state == PlanState.SENT and made.created_by == "run"
    assert made.recipients == 24  # what each variant was made for, as the dashboard shows
    assert daily.run(auto_desk.ctx).emails.sent == 0


def test_remove_and_order_apply_to_every_translation(desk: Desk) -> None:
    ctx = desk.ctx
    draft = desk.draft()
    en = next(v for v in draft.variants if v.language == "en" and not v.segment)
    gone = ctx.store.stories_by_id([en.story_ids[0]])[en.story_ids[0]]
    edited = service.update(
        ctx,
        draft.id,
        version=draft.version,
        changes=service.Changes(remove=[gone.id], order=list(reversed(en.story_ids[1:]))),
        by="ed",
    )
    by_id = service.stories_of(ctx, edited)
    for v in edited.variants:
        assert all(by_id[i].group != gone.group for i in v.story_ids)
    en2 = next(v for v in edited.variants if v.language == "en" and not v.segment)
    assert list(en2.story_ids) == list(reversed(en.story_ids[1:]))
    # added back, it comes in each variant's own language
    back = service.update(
        ctx, draft.id, version=edited.version, changes=service.Changes(add=[gone.id]), by="ed"
    )
    by_id = service.stories_of(ctx, back)
    for v in back.variants:
        assert any(by_id[i].group == gone.group for i in v.story_ids)


def test_two_editors_saving_at_once_the_second_gets_a_conflict(desk: Desk) -> None:
    ctx = desk.ctx
    draft = desk.draft()
    first = service.update(
        ctx,
        draft.id,
        version=draft.version,
        changes=service.Changes(subjects={"en": "First"}),
        by="a",
    )
    with pytest.raises(ConflictError, match="changed by someone else"):
        service.update(
            ctx,
            draft.id,
            version=draft.version,
            changes=service.Changes(subjects={"en": "Second"}),
            by="b",
        )
    kept = service.get(ctx, draft.id)
    assert kept.subjects == {"en": "First"} and kept.version == first.version


def test_bad_input_is_refused_and_nothing_is_sent(desk: Desk) -> None:
    ctx, clock = desk.ctx, desk.clock
    draft = desk.draft()
    with pytest.raises(EditionError, match="<script>"):
        service.update(
            ctx,
            draft.id,
            version=draft.version,
            changes=service.Changes(intros={"ar": "hi <script>alert(1)</script>"}),
            by="ed",
        )
    with pytest.raises(EditionError, match="one line"):
        service.update(
            ctx,
            draft.id,
            version=draft.version,
            changes=service.Changes(subjects={"en": "a\r\nBcc: x@y"}),
            by="ed",
        )
    with pytest.raises(EditionError, match="in the past"):
        service.schedule(
            ctx, draft.id, version=draft.version, send_at=clock.now - timedelta(hours=1), by="ed"
        )
    with pytest.raises(EditionError, match="grace window"):
        service.schedule(
            ctx, draft.id, version=draft.version, send_at=clock.now + timedelta(days=2), by="ed"
        )
    with pytest.raises(EditionError, match="already has an open edition"):
        service.draft(ctx, "daily", by="ed")
    with pytest.raises(NotFoundError):
        service.get(ctx, 999)

    cancelled = service.cancel(ctx, draft.id, version=draft.version, by="ed", reason="no")
    assert cancelled.state == PlanState.CANCELLED
    for attempt in (
        lambda: service.approve(ctx, draft.id, version=cancelled.version, by="ed"),
        lambda: service.update(
            ctx, draft.id, version=cancelled.version, changes=service.Changes(), by="ed"
        ),
        lambda: service.send_now(ctx, draft.id, version=cancelled.version, by="ed"),
    ):
        with pytest.raises(EditionError, match="is cancelled"):
            attempt()
    clock.move(hours=3)
    assert daily.run(ctx).emails.sent == 0 and desk.outbox() == []


def test_a_scheduled_one_off_goes_at_its_time_and_a_cancelled_one_never(desk: Desk) -> None:
    ctx, clock = desk.ctx, desk.clock
    desk.draft()  # the regular draft does not stand in the way
    story = desk.stories()[0]
    breaking = service.one_off(ctx, "daily", [story.id], by="ed")
    assert breaking.kind == "one_off" and breaking.recipients == 24
    at = clock.now.replace(hour=14, minute=0)
    scheduled = service.schedule(ctx, breaking.id, version=breaking.version, send_at=at, by="ed")
    assert scheduled.state == PlanState.SCHEDULED

    other = service.one_off(ctx, "daily", [story.id], by="ed")
    other = service.schedule(ctx, other.id, version=other.version, send_at=at, by="ed")
    service.cancel(ctx, other.id, version=other.version, by="ed")

    clock.now = at - timedelta(minutes=1)
    report = RunReport(started_at=clock.now.isoformat())
    assert daily.deliver_due(ctx, report) == 0 and desk.outbox() == []
    clock.now = at
    assert daily.deliver_due(ctx, report) == 1
    assert report.emails.sent == 24
    assert service.get(ctx, breaking.id).state == PlanState.SENT
    assert service.get(ctx, other.id).state == PlanState.CANCELLED
    assert daily.deliver_due(ctx, report) == 0 and report.emails.sent == 24
    for msg in map(read, desk.outbox()):  # each reader got the story in their language
        assert msg["Content-Language"]
    assert desk.posts() == []  # a one-off posts only when asked


def test_test_send_equals_the_real_message_but_the_personal_parts(desk: Desk) -> None:
    ctx = desk.ctx
    draft = desk.draft()
    draft = service.update(
        ctx,
        draft.id,
        version=draft.version,
        changes=service.Changes(intros={"ja": "今日の*ニュース*"}),
        by="ed",
    )
    out = service.test_send(ctx, draft.id, language="ja", by="ed")
    assert out.ok and out.addresses == ["desk@news.example"]
    assert ledger_rows(desk) == 0
    test = read(desk.outbox()[0])
    assert test["To"].addresses[0].addr_spec == "desk@news.example"
    assert test["Subject"].startswith("[TEST] ")
    for path in desk.outbox():
        path.unlink()

    service.send_now(ctx, draft.id, version=draft.version, by="ed")
    real = next(read(p) for p in desk.outbox() if p.parent.name == "ja")
    assert test["Subject"] == "[TEST] " + real["Subject"]

    def impersonal(msg: EmailMessage) -> str:
        html = html_of(msg)
        for token in (msg["To"].addresses[0].addr_spec, msg["To"].addresses[0].display_name):
            if token:
                html = html.replace(token, "")
        # the greeting (the first paragraph) and the signed links are the personal parts
        html = re.sub(r"<p[^>]*>[^<]*</p>", "", html, count=1)
        return re.sub(r'href="[^"]*/(u|p)/[^"]*"', "", html)

    # both carry /r/ links of the same shape (issue 17): the test's are preview tokens
    # (never counted); each leads where the real send's link does
    recorder = ClickRecorder(ctx.settings, ctx.store, ctx.clock, background=False)

    def followed(msg: EmailMessage) -> str:
        def target(found: re.Match[str]) -> str:
            return f'href="{html_escape(recorder.target(found.group(1)), quote=True)}"'

        return re.sub(r'href="[^"]*/r/([^"?]+)"', target, impersonal(msg))

    links = re.compile(r'href="[^"]*/r/([^"?]+)"')
    real_links, test_links = links.findall(html_of(real)), links.findall(html_of(test))
    assert real_links and len(test_links) == len(real_links)
    assert not set(test_links) & set(real_links)  # the test's tokens are its own
    assert "<em>ニュース</em>" in html_of(test)
    assert followed(test) == followed(real)

    # the desk is rate-limited: three an hour on this list
    service.test_send(ctx, draft.id, addresses=["a@news.example", "b@news.example"], by="ed")
    with pytest.raises(EditionError, match="limited to 3 an hour"):
        service.test_send(ctx, draft.id, addresses=["c@news.example"], by="ed")


@pytest.fixture
def share_desk(tmp_path: Path) -> Iterator[Desk]:
    share = '[share]\nnetworks = ["email", "bluesky"]\nutm_campaign = "morning-desk"'
    yield from open_desk(tmp_path, extra=share)


def test_previews_and_sends_use_the_share_settings(share_desk: Desk) -> None:
    ctx, draft = share_desk.ctx, share_desk.draft()
    shown = service.preview(ctx, draft.id, language="en")
    recorder = ClickRecorder(ctx.settings, ctx.store, ctx.clock, background=False)

    def followed(html: str) -> str:
        # the share links go through /r/ (preview tokens in the preview): where they lead
        tokens = re.findall(r'href="[^"]*/r/([^"?]+)"', html)
        return html + " ".join(recorder.target(t) for t in tokens)

    html = followed(shown.message.html)
    assert "bsky.app" in html and "morning-desk" in html  # [share], as a run sends
    assert "twitter.com" not in html and "x.com/intent" not in html
    service.send_now(ctx, draft.id, version=draft.version, by="ed")
    real = followed(html_of(next(read(p) for p in share_desk.outbox() if p.parent.name == "en")))
    assert "bsky.app" in real and "morning-desk" in real and "x.com/intent" not in real


def test_send_now_posts_only_when_asked_and_never_excluded_stories(auto_desk: Desk) -> None:
    from distributor.store.web import WebStore

    ctx = auto_desk.ctx
    draft = auto_desk.draft()
    sent = service.send_now(ctx, draft.id, version=draft.version, by="ed")
    assert sent.edition.state == PlanState.SENT and sent.report.posts.sent == 0
    assert auto_desk.posts() == []

    story = auto_desk.stories()
    WebStore(ctx.store).set_story_flag(story[0].id, "excluded", True)
    breaking = service.one_off(ctx, "daily", [story[0].id, story[1].id], by="ed", social=True)
    out = service.send_now(ctx, breaking.id, version=breaking.version, by="ed", social=True)
    assert out.report.posts.sent > 0
    posted = {p.read_text(encoding="utf-8") for p in auto_desk.posts()}
    assert not any(story[0].url in text for text in posted)


def test_an_edition_with_no_recipients_is_never_offered(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("email,name,language\n", encoding="utf-8")
    path = write_config(tmp_path, subscribers=empty)
    with Context.open(settings_for(path), clock=lambda: NOW) as ctx, pytest.raises(EditionError):
        service.draft(ctx, "daily", by="ed")
