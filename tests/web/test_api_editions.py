"""``/api/planned-editions``: the life cycle over the JSON API, with idempotency keys on
every change, versions, and the documented errors."""

from __future__ import annotations

from tests.web.conftest import WebEnv


def _auth(env: WebEnv) -> dict[str, str]:
    return {"Authorization": f"Bearer {env.web.create_api_token('desk', env.clock())}"}


def test_draft_edit_approve_send_over_the_api(env: WebEnv) -> None:
    env.import_sample()
    env.fetch()
    auth = _auth(env)
    base = "/api/planned-editions"
    assert env.client.post(base, json={"list": "daily"}, headers=auth).status_code == 400
    made = env.client.post(base, json={"list": "daily"}, headers={**auth, "Idempotency-Key": "d1"})
    assert made.status_code == 201 and made.json is not None
    draft = made.json
    assert draft["state"] == "draft" and draft["recipients"] == 24
    replay = env.client.post(
        base, json={"list": "daily"}, headers={**auth, "Idempotency-Key": "d1"}
    )
    assert replay.status_code == 200 and replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json == draft
    other = env.client.post(base, json={"list": "x"}, headers={**auth, "Idempotency-Key": "d1"})
    assert other.status_code == 422  # the same key with another request

    url = f"{base}/{draft['id']}"
    edit = env.client.patch(
        url,
        json={"version": draft["version"], "intros": {"ar": "**أهلا**"}, "subjects": {"ar": "خاص"}},
        headers={**auth, "Idempotency-Key": "e1"},
    )
    assert edit.status_code == 200 and edit.json is not None
    stale = env.client.patch(
        url,
        json={"version": draft["version"], "subjects": {"en": "late"}},
        headers={**auth, "Idempotency-Key": "e2"},
    )
    assert stale.status_code == 409 and stale.mimetype == "application/problem+json"
    script = env.client.patch(
        url,
        json={"version": edit.json["version"], "intros": {"en": "<script>x</script>"}},
        headers={**auth, "Idempotency-Key": "e3"},
    )
    assert script.status_code == 422 and "<script>" in (script.json or {})["detail"]

    shown = env.client.get(f"{url}/preview?lang=ar", headers=auth)
    assert shown.status_code == 200 and shown.json is not None
    assert shown.json["subject"] == "خاص" and "<strong>أهلا</strong>" in shown.json["html"]
    assert env.client.get(f"{url}/preview?lang=xx", headers=auth).status_code == 404

    sent = env.client.post(
        f"{url}/send",
        json={"version": edit.json["version"]},
        headers={**auth, "Idempotency-Key": "s1"},
    )
    assert sent.status_code == 200 and sent.json is not None
    assert sent.json["state"] == "sent" and sent.json["report"]["emails"]["sent"] == 24
    twice = env.client.post(
        f"{url}/send",
        json={"version": sent.json["version"]},
        headers={**auth, "Idempotency-Key": "s2"},
    )
    assert twice.status_code == 409 and "is sent" in (twice.json or {})["detail"]
    assert len(env.outbox("daily/")) == 24

    one = env.client.get(url, headers=auth)
    assert one.json is not None and [c["action"] for c in one.json["changes"]][:2] == [
        "create",
        "edit",
    ]
    listed = env.client.get(f"{base}?state=sent", headers=auth)
    assert listed.json is not None and [e["id"] for e in listed.json["editions"]] == [draft["id"]]
    assert env.client.get(f"{base}/999", headers=auth).status_code == 404
    assert env.client.get(base).status_code == 401
