"""The dashboard's editions: draft, shape (pin, remove, Arabic intro), confirm, send;
CSRF and versions on every form; a confirm never offers 0 recipients."""

from __future__ import annotations

import re

from tests.web.conftest import WebEnv, csrf


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
