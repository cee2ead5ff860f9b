"""Hostile webhook bodies: JSON arrays, wrong types, broken signatures: a 4xx, never a 5xx."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.mail.test_webhooks import app_client, sendgrid_key  # noqa: F401 - fixtures

BASIC = {"Authorization": "Basic " + base64.b64encode(b"hook:pw").decode()}
BODIES: list[Any] = [
    [1, 2, 3],
    [{"RecordType": "Bounce"}],
    "just a string",
    {"signature": ["a"], "event-data": [1]},
    {"signature": {"timestamp": {"x": 1}, "token": 5, "signature": None}, "event-data": {}},
    {"signature": {"timestamp": "1" * 400, "token": "t", "signature": "s"}, "event-data": {}},
    {"RecordType": ["Bounce"], "Email": 7, "Type": {"a": 1}, "MessageStream": None},
    {"Type": "Notification", "Message": ["x"], "TopicArn": 1, "SigningCertURL": 2},
    {"Type": "SubscriptionConfirmation", "SubscribeURL": "http://127.0.0.1/", "TopicArn": []},
    {"type": ["email.bounced"], "data": "x"},
    {"event": ["hard_bounce"], "email": {"a": 1}},
]
HEADERS: list[dict[str, str]] = [
    {},
    BASIC,
    {
        **BASIC,
        "X-Twilio-Email-Event-Webhook-Signature": "not base64 !!",
        "X-Twilio-Email-Event-Webhook-Timestamp": "x" * 300,
        "svix-id": "\u202e",
        "svix-timestamp": "99999999999999999999999",
        "svix-signature": "v1,@@@",
        "x-amz-sns-message-type": "Notification",
    },
]


@pytest.mark.parametrize("name", ["mailgun", "sendgrid", "postmark", "ses", "resend", "brevo"])
def test_hostile_bodies_are_refused_with_a_4xx(app_client: Any, name: str) -> None:  # noqa: F811
    app, client, _store = app_client
    app.config["PROPAGATE_EXCEPTIONS"] = False  # a 500 is answered, and caught, here
    answered: list[tuple[int, str]] = []
    for headers in HEADERS:
        for body in BODIES:
            for data, ctype in (
                (json.dumps(body), "application/json"),
                (json.dumps(body), "text/plain"),  # SNS posts JSON as text/plain
                ("café".encode("latin-1"), "application/json"),
                (b"{not json", "application/json"),
            ):
                reply = client.post(
                    f"/webhooks/{name}", data=data, content_type=ctype, headers=headers
                )
                answered.append((reply.status_code, f"{headers} {data[:60]!r}"))
    server_errors = [what for status, what in answered if status >= 500]
    assert server_errors == []
    assert len(answered) == len(HEADERS) * len(BODIES) * 4


@pytest.mark.parametrize("body", ["[1, 2, 3]", '"text"', "{not json", '{"RecordType": {"a": 1}}'])
def test_a_body_of_the_wrong_shape_is_a_400_saying_so(app_client: Any, body: str) -> None:  # noqa: F811
    _app, client, _store = app_client
    for name in ("postmark", "brevo"):  # authenticated, so the body itself is read
        reply = client.post(
            f"/webhooks/{name}", data=body, content_type="application/json", headers=BASIC
        )
        if body.startswith('{"RecordType'):
            assert reply.status_code in (200, 400)  # an object naming nothing: no event
            assert reply.status_code == 200 or "object" in reply.get_json()["error"]
            continue
        assert reply.status_code == 400, (name, reply.get_data(as_text=True))
        assert "JSON" in reply.get_json()["error"]
