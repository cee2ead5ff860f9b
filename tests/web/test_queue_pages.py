"""The social queue on the dashboard and the JSON API (issue 18): per-network preview,
the live count by the composer's own rules, edits refused over the limit, approve,
the calendar; the API's changes with idempotency keys and versions."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from distributor.service import Context, posts
from distributor.share.counting import rules_for
from tests.social.conftest import HEADLINES, story
from tests.web.conftest import WebEnv, csrf, make_env

SOCIAL = """
[social.x]
provider = "x"
approval = "editor"
languages = ["ja"]
timezone = "Asia/Tokyo"
slots = ["09:00", "18:00"]

[social.sky]
provider = "bluesky"
handle = "news.example"
approval = "editor"
languages = ["ar"]
timezone = "Asia/Dubai"
slots = ["08:00"]
"""
SECRETS = {  # never used: nothing is posted here
    **{f"DISTRIBUTOR_SOCIAL_X_{k}": "k" for k in ("API_KEY", "API_SECRET", "ACCESS_TOKEN")},
    "DISTRIBUTOR_SOCIAL_X_ACCESS_TOKEN_SECRET": "k",
    "DISTRIBUTOR_SOCIAL_SKY_APP_PASSWORD": "p",
}
JA = "閣僚が新たな気候協定で合意 🌏 https://news.example/ja"
AR = "وزراء يتفقون على ميثاق مناخي جديد 👩🏽‍🔬 #المناخ"


def queue_posts(env: WebEnv) -> dict[str, posts.QueuedPost]:
    ja = story("ja", id="ja-1", published_at=env.clock())
    ar = story("ar", id="ar-1", published_at=env.clock())
    with Context.open(env.settings, store=env.store, clock=env.clock) as ctx:
        ctx.store.upsert_stories([ja, ar], env.clock())
        made = posts.queue_stories(ctx, [ja, ar], ctx.enabled_channels())
    return {p.language: p for p in made}


@pytest.fixture
def desk(tmp_path: Path) -> Iterator[WebEnv]:
    yield from make_env(tmp_path, social=SOCIAL, environ=SECRETS)


def _count(env: WebEnv, channel: str, text: str, token: str) -> Any:
    reply = env.client.post(
        "/editor/queue/count", data={"channel": channel, "text": text, "csrf_token": token}
    )
    assert reply.status_code == 200 and reply.json is not None
    return reply.json


def test_preview_live_count_edit_approve_and_calendar(desk: WebEnv) -> None:
    made = queue_posts(desk)
    client = desk.login()
    page = client.get("/editor/queue")
    assert page.status_code == 200
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    html = page.get_data(as_text=True)
    assert HEADLINES["ja"][:10] in html and "approval: editor" in html

    ja, ar = made["ja"], made["ar"]
    shown = client.get(f"/editor/queue/{ja.id}")
    body = shown.get_data(as_text=True)
    assert shown.status_code == 200 and "As x shows it" in body
    assert f'<strong id="count-length" class="">{rules_for("x").count(ja.text)}</strong>' in body
    token = csrf(client, f"/editor/queue/{ja.id}")

    # the live count is the composer's: X weighs CJK and emoji 2, a URL 23; Bluesky
    # counts grapheme clusters (the skin-toned scientist is one)
    x = _count(desk, "x", JA, token)
    assert x["length"] == rules_for("x").count(JA) and x["unit"] == rules_for("x").unit
    assert x["ok"] and x["limit"] == 280
    sky = _count(desk, "sky", AR, token)
    assert sky["length"] == rules_for("bluesky").count(AR) and sky["ok"]
    assert sky["bytes"] == len(AR.encode()) and sky["facets"]  # the hashtag, as a facet
    over = _count(desk, "x", "長" * 141, token)
    assert not over["ok"] and "over x's limit of 280" in over["problems"][0]
    assert (
        client.post(
            "/editor/queue/count", data={"channel": "nope", "text": "", "csrf_token": token}
        ).status_code
        == 404
    )
    assert client.post("/editor/queue/count", data={"channel": "x", "text": "a"}).status_code == 400

    refused = client.post(
        f"/editor/queue/{ja.id}/edit",
        data={"text": "長" * 141, "version": ja.version, "csrf_token": token},
    )
    assert refused.status_code == 302 and "over+x's+limit" in refused.headers["Location"]
    with Context.open(desk.settings, store=desk.store, clock=desk.clock) as ctx:
        assert posts.get(ctx, ja.id).text == ja.text  # nothing saved
    saved = client.post(
        f"/editor/queue/{ja.id}/edit", data={"text": JA, "version": ja.version, "csrf_token": token}
    )
    assert saved.status_code == 302 and "result=saved" in saved.headers["Location"]
    after = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "text v2" in after and "x.com" not in after
    with Context.open(desk.settings, store=desk.store, clock=desk.clock) as ctx:
        edited = posts.get(ctx, ja.id)
    approved = client.post(
        f"/editor/queue/{ja.id}/approve", data={"version": edited.version, "csrf_token": token}
    )
    assert "result=approved" in approved.headers["Location"]
    stale = client.post(f"/editor/queue/{ar.id}/approve", data={"version": 99, "csrf_token": token})
    assert "changed+by+someone+else" in stale.headers["Location"]

    cal = client.get("/editor/calendar?tz=Asia/Tokyo&days=3")
    text = cal.get_data(as_text=True)
    assert cal.status_code == 200 and "Sat 28 Nov" in text  # 07:00 UTC = 16:00 in Tokyo
    assert "18:00 ja" in text and "approved" in text
    assert client.get("/editor/calendar?tz=Mars/Olympus").status_code == 400
    assert client.get("/editor/calendar?days=x").status_code == 400
    assert client.get("/editor/queue/999").status_code == 404
    assert client.get("/editor/queue?channel=nope").status_code == 404


def _auth(env: WebEnv) -> dict[str, str]:
    return {"Authorization": f"Bearer {env.web.create_api_token('desk', env.clock())}"}


def test_the_queue_over_the_api(desk: WebEnv) -> None:
    made = queue_posts(desk)
    auth = _auth(desk)
    listed = desk.client.get("/api/posts?channel=x", headers=auth)
    assert listed.status_code == 200 and listed.json is not None
    (row,) = listed.json["posts"]
    assert row["id"] == made["ja"].id and row["state"] == "draft" and row["network"] == "x"
    assert desk.client.get("/api/posts?state=nope", headers=auth).status_code == 422
    one = desk.client.get(f"/api/posts/{row['id']}", headers=auth).json
    assert one is not None and one["count"]["length"] == rules_for("x").count(row["text"])
    assert [c["action"] for c in one["changes"]] == ["create"]

    count = desk.client.post("/api/posts/count", json={"channel": "x", "text": JA}, headers=auth)
    assert count.json is not None and count.json["length"] == rules_for("x").count(JA)
    assert desk.client.post("/api/posts/count", json={"text": 1}, headers=auth).status_code == 422

    url = f"/api/posts/{row['id']}"
    no_key = desk.client.patch(url, json={"version": row["version"], "text": JA}, headers=auth)
    assert no_key.status_code == 400
    edit = desk.client.patch(
        url, json={"version": row["version"], "text": JA}, headers={**auth, "Idempotency-Key": "e1"}
    )
    assert edit.status_code == 200 and edit.json is not None and edit.json["text_version"] == 2
    replay = desk.client.patch(
        url, json={"version": row["version"], "text": JA}, headers={**auth, "Idempotency-Key": "e1"}
    )
    assert replay.headers["Idempotent-Replayed"] == "true"
    stale = desk.client.patch(
        url,
        json={"version": row["version"], "text": "x"},
        headers={**auth, "Idempotency-Key": "e2"},
    )
    assert stale.status_code == 409
    long = desk.client.patch(
        url,
        json={"version": edit.json["version"], "text": "長" * 141},
        headers={**auth, "Idempotency-Key": "e3"},
    )
    assert long.status_code == 422 and "limit of 280" in (long.json or {})["detail"]
    pinned = desk.client.post(
        f"{url}/schedule",
        json={"version": edit.json["version"], "at": "2026-11-29T10:00:00+09:00"},
        headers={**auth, "Idempotency-Key": "p1"},
    )
    assert pinned.status_code == 200 and pinned.json is not None
    assert pinned.json["state"] == "scheduled" and pinned.json["at"] == "2026-11-29T01:00:00+00:00"
    bad_time = desk.client.post(
        f"{url}/schedule",
        json={"version": pinned.json["version"], "at": "soon"},
        headers={**auth, "Idempotency-Key": "p2"},
    )
    assert bad_time.status_code == 422
    gone = desk.client.post(
        f"{url}/cancel",
        json={"version": pinned.json["version"], "reason": "held"},
        headers={**auth, "Idempotency-Key": "c1"},
    )
    assert gone.json is not None and gone.json["state"] == "cancelled"
    late = desk.client.post(
        f"{url}/approve",
        json={"version": gone.json["version"]},
        headers={**auth, "Idempotency-Key": "a1"},
    )
    assert late.status_code == 409
    missing = desk.client.post(
        "/api/posts/999/approve", json={"version": 1}, headers={**auth, "Idempotency-Key": "a2"}
    )
    assert missing.status_code == 404

    cal = desk.client.get("/api/calendar?tz=Asia/Dubai&days=2", headers=auth)
    assert cal.status_code == 200 and cal.json is not None and len(cal.json["days"]) == 2
    assert desk.client.get("/api/calendar?tz=Nowhere/Land", headers=auth).status_code == 422
    stats = desk.client.get("/api/stats/posts", headers=auth)
    assert stats.status_code == 200 and stats.json == {"posts": []}
    spec = desk.client.get("/api/openapi.json", headers=auth).json
    assert spec is not None
    for path in ("/posts", "/posts/count", "/posts/{id}", "/posts/{id}/post-now", "/calendar"):
        assert path in spec["paths"], path
    assert "QueuedPost" in spec["components"]["schemas"]
