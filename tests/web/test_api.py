"""The JSON API: bearer tokens, Idempotency-Key on triggering an edition, subscribers, OpenAPI."""

from __future__ import annotations

import re
from typing import Any

from tests.web.conftest import WebEnv


def _auth(env: WebEnv, name: str = "cms") -> dict[str, str]:
    return {"Authorization": f"Bearer {env.web.create_api_token(name, env.clock())}"}


def test_every_endpoint_needs_a_valid_token(env: WebEnv) -> None:
    calls: list[tuple[str, str, dict[str, Any]]] = [
        ("get", "/api/editions", {}),
        ("get", "/api/editions/1", {}),
        ("post", "/api/editions", {"json": {"list": "daily"}, "headers": {"Idempotency-Key": "k"}}),
        ("get", "/api/subscribers", {}),
        ("post", "/api/subscribers", {"json": {"email": "a@example.org"}}),
        ("patch", "/api/subscribers/a@example.org", {"json": {}}),
        ("delete", "/api/subscribers/a@example.org", {}),
    ]
    _auth(env)
    for method, path, kwargs in calls:
        for auth in (None, "Bearer wrong", "Basic dXNlcjpwdw==", "Bearer "):
            headers = dict(kwargs.get("headers", {}))
            if auth:
                headers["Authorization"] = auth
            reply = getattr(env.client, method)(path, **{**kwargs, "headers": headers})
            assert reply.status_code == 401, (method, path, auth)
            assert reply.mimetype == "application/problem+json"
            assert reply.headers["WWW-Authenticate"].startswith("Bearer")
    assert env.outbox() == [] and env.web.subscriber_by_email("a@example.org") is None


def test_trigger_honors_the_idempotency_key(env: WebEnv) -> None:
    env.import_sample()
    auth = _auth(env)
    missing = env.client.post("/api/editions", json={"list": "daily"}, headers=auth)
    assert missing.status_code == 400
    unknown = env.client.post(
        "/api/editions", json={"list": "weekly"}, headers={**auth, "Idempotency-Key": "a"}
    )
    assert unknown.status_code == 422
    first = env.client.post(
        "/api/editions", json={"list": "daily"}, headers={**auth, "Idempotency-Key": "run-1"}
    )
    assert first.status_code == 201, first.json
    assert first.json is not None and first.json["report"]["emails"]["sent"] == 24
    again = env.client.post(
        "/api/editions", json={"list": "daily"}, headers={**auth, "Idempotency-Key": "run-1"}
    )
    assert again.status_code == 200 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json == first.json
    assert len(env.outbox("daily/")) == 24
    with env.store.engine.connect() as conn:
        assert conn.exec_driver_sql("select count(*) from runs").scalar_one() == 1
    # keys are per token: another client's "run-1" is its own
    other = env.client.post(
        "/api/editions",
        json={"list": "daily"},
        headers={**_auth(env, "cron"), "Idempotency-Key": "run-1"},
    )
    assert other.status_code == 201 and other.json is not None
    assert other.json["report"]["emails"]["sent"] == 0  # the ledger: nothing twice
    assert len(env.outbox("daily/")) == 24

    listing = env.client.get("/api/editions", headers=auth)
    assert listing.status_code == 200 and listing.json is not None
    editions = listing.json["editions"]
    assert sum(e["sent"] for e in editions) == 24
    assert set(editions[0]) >= {
        "sent",
        "failed",
        "unknown",
        "bounced",
        "complained",
        "unsubscribed",
    }
    one = env.client.get(f"/api/editions/{editions[0]['id']}", headers=auth)
    assert one.status_code == 200 and one.json is not None and one.json["story_ids"]
    assert env.client.get("/api/editions/9999", headers=auth).status_code == 404


def test_a_key_still_running_gets_409_and_another_body_422(env: WebEnv) -> None:
    auth = _auth(env)
    scope = "api:cms"
    env.web.claim_idempotency_key(scope, "busy", "0" * 64, env.clock())
    busy = env.client.post(
        "/api/editions", json={"list": "daily"}, headers={**auth, "Idempotency-Key": "busy"}
    )
    assert busy.status_code == 422  # the stored request hash differs
    from distributor.service.daily import request_hash

    env.web.claim_idempotency_key(scope, "busy2", request_hash({"list": "daily"}), env.clock())
    busy2 = env.client.post(
        "/api/editions", json={"list": "daily"}, headers={**auth, "Idempotency-Key": "busy2"}
    )
    assert busy2.status_code == 409
    assert env.outbox() == []


def test_subscribers_add_update_remove(env: WebEnv) -> None:
    auth = _auth(env)
    bad = env.client.post("/api/subscribers", json={"email": "nope"}, headers=auth)
    assert (
        bad.status_code == 422 and bad.json is not None and "invalid address" in bad.json["detail"]
    )
    assert env.client.post("/api/subscribers", data="x", headers=auth).status_code == 422
    made = env.client.post(
        "/api/subscribers",
        json={
            "email": "Api@Example.org",
            "language": "es",
            "topics": ["world"],
            "frequency": "weekly",
            "timezone": "America/Lima",
        },
        headers=auth,
    )
    assert made.status_code == 201, made.json
    assert made.json is not None and (
        made.json["status"],
        made.json["language"],
        made.json["frequency"],
    ) == ("subscribed", "es", "weekly")
    assert (
        env.client.post(
            "/api/subscribers", json={"email": "api@example.org"}, headers=auth
        ).status_code
        == 200
    )
    upd = env.client.patch(
        "/api/subscribers/api@example.org", json={"frequency": "daily", "topics": []}, headers=auth
    )
    assert upd.status_code == 200 and upd.json is not None
    assert (
        upd.json["subscribers"][0]["frequency"] == "daily"
        and upd.json["subscribers"][0]["language"] == "es"
    )
    assert (
        env.client.patch(
            "/api/subscribers/api@example.org", json={"timezone": "Mars/Base"}, headers=auth
        ).status_code
        == 422
    )
    assert (
        env.client.patch("/api/subscribers/who@example.org", json={}, headers=auth).status_code
        == 404
    )
    found = env.client.get("/api/subscribers?q=api@", headers=auth)
    assert found.json is not None and [s["email"] for s in found.json["subscribers"]] == [
        "api@example.org"
    ]
    gone = env.client.delete("/api/subscribers/api@example.org?list=daily", headers=auth)
    assert (
        gone.status_code == 200
        and gone.json is not None
        and gone.json["subscribers"][0]["status"] == "unsubscribed"
    )
    # never re-added once unsubscribed, nor when suppressed
    assert (
        env.client.post(
            "/api/subscribers", json={"email": "api@example.org"}, headers=auth
        ).status_code
        == 409
    )
    env.store.suppress("sup@example.org", "complaint", env.clock())
    assert (
        env.client.post(
            "/api/subscribers", json={"email": "sup@example.org"}, headers=auth
        ).status_code
        == 409
    )
    listed = env.client.get("/api/subscribers?status=unsubscribed", headers=auth)
    assert listed.json is not None and len(listed.json["subscribers"]) == 1


def test_openapi_document_describes_every_route(env: WebEnv) -> None:
    doc = env.client.get("/api/openapi.json")
    assert doc.status_code == 200 and doc.json is not None
    spec = doc.json
    assert spec["openapi"].startswith("3.1")
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    documented = {(path, m.upper()) for path, ops in spec["paths"].items() for m in ops}
    served = set()
    for rule in env.app.url_map.iter_rules():
        if rule.endpoint.startswith("api.") and rule.endpoint != "api.openapi":
            path = re.sub(r"<int:\w+>", "{id}", rule.rule.removeprefix("/api")).replace(
                "<email>", "{email}"
            )
            for m in rule.methods or ():
                if m not in ("HEAD", "OPTIONS"):
                    served.add((path, m))
    assert served == documented
