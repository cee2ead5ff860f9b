"""The dashboard's editions: draft, shape (pin, remove, Arabic intro), confirm, send;
CSRF and versions on every form; a confirm never offers 0 recipients."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from distributor.service import Context
from distributor.service import editions as service
from tests.web.conftest import WebEnv, csrf, make_env


def _id(location: str) -> int:
    found = re.search(r"/editor/editions/(\d+)", location)
    assert found, location
    return int(found.group(1))


def test_editor_drafts_shapes_and_sends_from_the_dashboard(env: WebEnv) -> None:
    env.import_sample()
    env.login()
    page = env.client.get("/editor/editions")
    assert page.status_code == 200 and "Draft the next edition" in page.get_data(as_text=True)
    token = csrf(env.client, "/editor/editions")
    assert env.client.post("/editor/editions/draft/daily").status_code == 400  # no CSRF
    made = env.client.post("/editor/editions/draft/daily", data={"csrf_token": token})
    assert made.status_code == 302
    eid = _id(made.headers["Location"])
    html = env.client.get(f"/editor/editions/{eid}").get_data(as_text=True)
    assert 'lang="ar" dir="rtl"' in html and "24</strong> recipients" in html
    version = int(re.search(r'name="version" value="(\d+)"', html).group(1))  # type: ignore[union-attr]
    story = re.search(r'name="remove" value="([^"]+)"', html).group(1)  # type: ignore[union-attr]

    saved = env.client.post(
        f"/editor/editions/{eid}/save",
        data={"csrf_token": token, "version": version, "save": "1", "intro_ar": "**أهلا** بكم"},
    )
    assert "result=saved" in saved.headers["Location"]
    stale = env.client.post(
        f"/editor/editions/{eid}/save",
        data={"csrf_token": token, "version": version, "remove": story},
    )
    assert "changed+by+someone+else" in stale.headers["Location"]
    bad = env.client.post(
        f"/editor/editions/{eid}/save",
        data={"csrf_token": token, "version": version + 1, "save": "1", "intro_en": "<script>"},
    )
    assert "problem=" in bad.headers["Location"]

    preview = env.client.get(f"/editor/editions/{eid}/preview/ar")
    assert "<strong>أهلا</strong>" in preview.get_data(as_text=True)
    assert "sandbox" in preview.headers["Content-Security-Policy"]

    confirm = env.client.get(f"/editor/editions/{eid}/confirm").get_data(as_text=True)
    assert "Yes, send to 24 recipients" in confirm
    key = re.search(r'name="idempotency_key" value="([^"]+)"', confirm).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": token, "version": version + 1, "idempotency_key": key}
    sent = env.client.post(f"/editor/editions/{eid}/send", data=form)
    assert "sent+to+24+recipients" in sent.headers["Location"]
    again = env.client.post(f"/editor/editions/{eid}/send", data=form)  # a double click
    assert "sent+to+24+recipients" in again.headers["Location"]
    assert len(env.outbox("daily/")) == 24
    arabic = [p for p in env.outbox("daily/") if p.parent.name == "ar"]
    assert arabic and all("أهلا" in p.read_bytes().decode("utf-8", "replace") or p for p in arabic)
    listing = env.client.get("/editor/editions").get_data(as_text=True)
    assert "state-sent" in listing


def test_a_confirm_never_offers_zero_recipients(env: WebEnv) -> None:
    from distributor.models import PlannedVariant, PlanState
    from distributor.store.editions import EditionStore, NewPlan

    env.login()
    env.fetch()
    story = env.store.published_stories(now=env.clock(), since=env.clock().replace(year=2000))[0]
    empty = EditionStore(env.store).create(
        NewPlan("daily", "k", "one_off", PlanState.DRAFT, [PlannedVariant("en", "", (story.id,))]),
        env.clock(),
    )
    page = env.client.get(f"/editor/editions/{empty.id}/confirm")
    assert page.status_code == 409 and "Yes, send" not in page.get_data(as_text=True)
    assert "no recipients" in page.get_data(as_text=True)


@pytest.fixture
def desk_env(tmp_path: Path) -> Iterator[WebEnv]:
    """A list in Paris at 09:00, a desk in New York (``[newsroom] timezone``)."""
    yield from make_env(
        tmp_path,
        list_extra='timezone = "Europe/Paris"\nschedule = "0 9 * * *"\n',
        newsroom='timezone = "America/New_York"',
    )


def test_the_dashboard_shows_and_takes_times_in_the_desks_zone(desk_env: WebEnv) -> None:
    env = desk_env
    env.import_sample()
    env.login()
    listing = env.client.get("/editor/editions").get_data(as_text=True)
    # 09:00 in Paris is 08:00 UTC and 03:00 in New York (the clock: 07:00 UTC, 28 Nov)
    assert "Sat 28 Nov 09:00</time> (Europe/Paris)" in listing
    assert "Sat 28 Nov 03:00 (America/New_York, the desk)" in listing
    assert "08:00 UTC" in listing
    token = csrf(env.client, "/editor/editions")
    eid = _id(
        env.client.post("/editor/editions/draft/daily", data={"csrf_token": token}).headers[
            "Location"
        ]
    )
    page = env.client.get(f"/editor/editions/{eid}").get_data(as_text=True)
    assert '<span class="muted" id="schedule-zone">America/New_York</span>' in page
    version = int(re.search(r'name="version" value="(\d+)"', page).group(1))  # type: ignore[union-attr]

    # the editor types 03:30 on the desk's clock: 08:30 UTC, 09:30 in Paris
    done = env.client.post(
        f"/editor/editions/{eid}/schedule",
        data={"csrf_token": token, "version": version, "at": "2026-11-28T03:30"},
    )
    assert "result=scheduled" in done.headers["Location"], done.headers["Location"]
    with Context.open(env.settings, store=env.store, clock=env.clock) as ctx:
        assert service.get(ctx, eid).send_at == datetime(2026, 11, 28, 8, 30, tzinfo=UTC)
    page = env.client.get(f"/editor/editions/{eid}").get_data(as_text=True)
    assert "2026-11-28T03:30:00-05:00</time> (America/New_York)" in page
    assert "2026-11-28T09:30:00+01:00 (Europe/Paris, the list&#39;s zone)" in page


def test_without_a_desk_zone_times_are_in_the_lists_zone(env: WebEnv) -> None:
    env.import_sample()
    env.login()
    token = csrf(env.client, "/editor/editions")
    eid = _id(
        env.client.post("/editor/editions/draft/daily", data={"csrf_token": token}).headers[
            "Location"
        ]
    )
    page = env.client.get(f"/editor/editions/{eid}").get_data(as_text=True)
    assert '<span class="muted" id="schedule-zone">UTC</span>' in page
    assert "America/New_York" not in page and "the list&#39;s zone" not in page
