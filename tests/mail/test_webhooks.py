"""Webhooks: signatures made with keys generated here; forged, replayed and stale ones refused."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509.oid import NameOID
from flask.testing import FlaskClient
from pytest_httpserver import HTTPServer
from standardwebhooks import Webhook

from distributor.store import Store
from distributor.store.mail import soft_bounce_count
from distributor.web import create_app
from distributor.web.common import CLOCK_KEY
from distributor.web.webhooks import WebhookOptions, sns_string_to_sign
from tests.conftest import NOW, settings_for, write_config

MAILGUN_KEY = "mg-signing-key"
RESEND_SECRET = "whsec_" + base64.b64encode(b"resend-test-secret-0123456789").decode()


@pytest.fixture
def sendgrid_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def app_client(tmp_path: Path, sendgrid_key: ec.EllipticCurvePrivateKey) -> Any:
    public = base64.b64encode(
        sendgrid_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    extra = f"""
[mail.mailgun]
provider = "mailgun"
domain = "mg.news.example"

[mail.sendgrid]
provider = "sendgrid"
webhook_public_key = "{public}"

[mail.postmark]
provider = "postmark"
webhook_username = "hook"
soft_bounce_threshold = 2

[mail.ses]
provider = "ses"
sns_topic_arns = ["arn:aws:sns:us-east-1:123456789012:ses-events"]

[mail.resend]
provider = "resend"

[mail.brevo]
provider = "brevo"
webhook_username = "hook"
"""
    path = write_config(tmp_path, extra="", social="", mail='provider = "file"\n' + extra)
    env = {
        "DISTRIBUTOR_MAIL_MAILGUN_API_KEY": "k",
        "DISTRIBUTOR_MAIL_MAILGUN_WEBHOOK_SIGNING_KEY": MAILGUN_KEY,
        "DISTRIBUTOR_MAIL_SENDGRID_API_KEY": "k",
        "DISTRIBUTOR_MAIL_POSTMARK_SERVER_TOKEN": "k",
        "DISTRIBUTOR_MAIL_POSTMARK_WEBHOOK_PASSWORD": "pw",
        "DISTRIBUTOR_MAIL_SES_ACCESS_KEY_ID": "k",
        "DISTRIBUTOR_MAIL_SES_SECRET_ACCESS_KEY": "k",
        "DISTRIBUTOR_MAIL_RESEND_API_KEY": "k",
        "DISTRIBUTOR_MAIL_RESEND_WEBHOOK_SECRET": RESEND_SECRET,
        "DISTRIBUTOR_MAIL_BREVO_API_KEY": "k",
        "DISTRIBUTOR_MAIL_BREVO_WEBHOOK_PASSWORD": "pw",
    }
    settings = settings_for(path, env)
    store = Store.open(settings.database_url)
    app = create_app(settings, store)
    app.testing = True
    yield app, app.test_client(), store
    store.close()


# ----------------------------------------------------------------------------- Mailgun
def mailgun_body(
    event: dict[str, Any], token: str, ts: int | None = None, key: str = MAILGUN_KEY
) -> dict[str, Any]:
    ts = int(time.time()) if ts is None else ts
    sig = hmac.new(key.encode(), f"{ts}{token}".encode(), hashlib.sha256).hexdigest()
    return {
        "signature": {"timestamp": str(ts), "token": token, "signature": sig},
        "event-data": event,
    }


def test_mailgun_hard_bounce_suppresses_and_replay_is_refused(app_client: Any) -> None:
    _app, client, store = app_client
    body = mailgun_body(
        {
            "event": "failed",
            "severity": "permanent",
            "recipient": "Gone@Example.org",
            "delivery-status": {"description": "No such user"},
        },
        token="a" * 50,
    )
    r = client.post("/webhooks/mailgun", json=body)
    assert r.status_code == 200, r.json
    assert r.json["events"][0]["action"] == "suppressed"
    assert store.is_suppressed("gone@example.org")
    again = client.post("/webhooks/mailgun", json=body)
    assert again.status_code == 409


def test_mailgun_forged_and_stale_refused(app_client: Any) -> None:
    _app, client, store = app_client
    event = {"event": "complained", "recipient": "x@example.org"}
    forged = mailgun_body(event, token="b" * 50, key="not-the-key")
    assert client.post("/webhooks/mailgun", json=forged).status_code == 403
    stale = mailgun_body(event, token="c" * 50, ts=int(time.time()) - 3600)
    assert client.post("/webhooks/mailgun", json=stale).status_code == 403
    assert not store.is_suppressed("x@example.org")


def test_timestamps_are_judged_by_the_apps_clock(app_client: Any) -> None:
    """A process whose clock is pinned (``distributor serve`` under DISTRIBUTOR_TEST_NOW)
    judges a webhook's timestamp and records its replay key by that clock, not the wall's."""
    app, client, store = app_client
    app.config[CLOCK_KEY] = lambda: NOW
    event = {"event": "complained", "recipient": "pinned@example.org"}
    body = mailgun_body(event, token="p" * 50, ts=int(NOW.timestamp()))
    r = client.post("/webhooks/mailgun", json=body)
    assert r.status_code == 200, r.json
    assert store.is_suppressed("pinned@example.org")
    wall = mailgun_body(event, token="q" * 50, ts=int(NOW.timestamp()) + 3600)
    assert client.post("/webhooks/mailgun", json=wall).status_code == 403


def test_mailgun_temporary_failure_is_a_soft_bounce(app_client: Any) -> None:
    _app, client, store = app_client
    body = mailgun_body(
        {"event": "failed", "severity": "temporary", "recipient": "s@example.org"}, "d" * 50
    )
    r = client.post("/webhooks/mailgun", json=body)
    assert r.json["events"][0]["action"] == "soft bounce 1/3"
    assert soft_bounce_count(store, "s@example.org") == 1 and not store.is_suppressed(
        "s@example.org"
    )


# ----------------------------------------------------------------------------- SendGrid
def sendgrid_post(
    client: FlaskClient,
    key: ec.EllipticCurvePrivateKey,
    events: list[dict[str, Any]],
    ts: int | None = None,
) -> Any:
    raw = json.dumps(events).encode()
    ts_s = str(int(time.time()) if ts is None else ts)
    sig = base64.b64encode(key.sign(ts_s.encode() + raw, ec.ECDSA(hashes.SHA256()))).decode()
    return client.post(
        "/webhooks/sendgrid",
        data=raw,
        content_type="application/json",
        headers={
            "X-Twilio-Email-Event-Webhook-Signature": sig,
            "X-Twilio-Email-Event-Webhook-Timestamp": ts_s,
        },
    )


def test_sendgrid_signed_events(app_client: Any, sendgrid_key: ec.EllipticCurvePrivateKey) -> None:
    _app, client, store = app_client
    events = [
        {"email": "d@example.org", "event": "delivered", "sg_event_id": "e1"},
        {"email": "b@example.org", "event": "bounce", "type": "bounce", "sg_event_id": "e2"},
        {"email": "c@example.org", "event": "spamreport", "sg_event_id": "e3"},
        {"email": "u@example.org", "event": "group_unsubscribe", "sg_event_id": "e4"},
        {"email": "t@example.org", "event": "bounce", "type": "blocked", "sg_event_id": "e5"},
    ]
    r = sendgrid_post(client, sendgrid_key, events)
    assert r.status_code == 200, r.json
    assert [e["action"] for e in r.json["events"]] == [
        "recorded",
        "suppressed",
        "suppressed",
        "suppressed",
        "soft bounce 1/3",
    ]
    assert all(store.is_suppressed(a) for a in ("b@example.org", "c@example.org", "u@example.org"))
    # the same events again are skipped, not counted twice
    r = sendgrid_post(client, sendgrid_key, events)
    assert r.json["events"] == [] and soft_bounce_count(store, "t@example.org") == 1


def test_sendgrid_forged_tampered_stale(
    app_client: Any, sendgrid_key: ec.EllipticCurvePrivateKey
) -> None:
    _app, client, store = app_client
    other = ec.generate_private_key(ec.SECP256R1())
    events = [{"email": "f@example.org", "event": "spamreport", "sg_event_id": "f1"}]
    assert sendgrid_post(client, other, events).status_code == 403
    assert (
        sendgrid_post(client, sendgrid_key, events, ts=int(time.time()) - 3600).status_code == 403
    )
    # a valid signature over a different body
    raw = json.dumps(events).encode()
    ts = str(int(time.time()))
    sig = base64.b64encode(sendgrid_key.sign(ts.encode() + raw, ec.ECDSA(hashes.SHA256()))).decode()
    tampered = raw.replace(b"f@example.org", b"g@example.org")
    r = client.post(
        "/webhooks/sendgrid",
        data=tampered,
        content_type="application/json",
        headers={
            "X-Twilio-Email-Event-Webhook-Signature": sig,
            "X-Twilio-Email-Event-Webhook-Timestamp": ts,
        },
    )
    assert r.status_code == 403
    assert not store.is_suppressed("f@example.org") and not store.is_suppressed("g@example.org")


# ----------------------------------------------------------------------------- Postmark
def test_postmark_basic_auth_and_soft_threshold(app_client: Any) -> None:
    _app, client, store = app_client
    auth = {"Authorization": "Basic " + base64.b64encode(b"hook:pw").decode()}
    bad = {"Authorization": "Basic " + base64.b64encode(b"hook:nope").decode()}
    soft = {"RecordType": "Bounce", "Type": "SoftBounce", "Email": "p@example.org", "ID": 1}
    assert client.post("/webhooks/postmark", json=soft).status_code == 403
    assert client.post("/webhooks/postmark", json=soft, headers=bad).status_code == 403
    assert (
        client.post("/webhooks/postmark", json=soft, headers=auth).json["events"][0]["action"]
        == "soft bounce 1/2"
    )
    assert client.post("/webhooks/postmark", json=soft, headers=auth).status_code == 409
    soft2 = {**soft, "ID": 2}
    r = client.post("/webhooks/postmark", json=soft2, headers=auth)
    assert r.json["events"][0]["action"] == "suppressed after 2 soft bounces"
    assert store.is_suppressed("p@example.org")
    hard = {"RecordType": "Bounce", "Type": "HardBounce", "Email": "h@example.org", "ID": 3}
    assert (
        client.post("/webhooks/postmark", json=hard, headers=auth).json["events"][0]["action"]
        == "suppressed"
    )


def test_brevo_basic_auth(app_client: Any) -> None:
    _app, client, store = app_client
    auth = {"Authorization": "Basic " + base64.b64encode(b"hook:pw").decode()}
    body = {"event": "spam", "email": "spam@example.org", "message-id": "<m1@x>"}
    assert client.post("/webhooks/brevo", json=body).status_code == 403
    assert client.post("/webhooks/brevo", json=body, headers=auth).status_code == 200
    assert store.is_suppressed("spam@example.org")


# ----------------------------------------------------------------------------- Resend (Svix)
def resend_post(
    client: FlaskClient,
    payload: dict[str, Any],
    msg_id: str,
    secret: str = RESEND_SECRET,
    when: datetime | None = None,
) -> Any:
    raw = json.dumps(payload)
    when = when or datetime.now(UTC)
    sig = Webhook(secret).sign(msg_id, when, raw)
    return client.post(
        "/webhooks/resend",
        data=raw,
        content_type="application/json",
        headers={
            "svix-id": msg_id,
            "svix-timestamp": str(int(when.timestamp())),
            "svix-signature": sig,
        },
    )


def test_resend_svix(app_client: Any) -> None:
    _app, client, store = app_client
    bounce = {
        "type": "email.bounced",
        "data": {"to": ["r@example.org"], "bounce": {"type": "Permanent"}},
    }
    assert resend_post(client, bounce, "msg_1").status_code == 200
    assert store.is_suppressed("r@example.org")
    assert resend_post(client, bounce, "msg_1").status_code == 409  # replayed
    other = "whsec_" + base64.b64encode(b"someone-else-secret-000000000").decode()
    complaint = {"type": "email.complained", "data": {"to": ["q@example.org"]}}
    assert resend_post(client, complaint, "msg_2", secret=other).status_code == 403
    old = datetime.now(UTC) - timedelta(minutes=30)
    assert resend_post(client, complaint, "msg_3", when=old).status_code == 403
    assert not store.is_suppressed("q@example.org")


# ----------------------------------------------------------------------------- SES via SNS
@pytest.fixture
def sns_signer() -> tuple[rsa.RSAPrivateKey, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


def sns_message(key: rsa.RSAPrivateKey, cert_url: str, **fields: Any) -> dict[str, Any]:
    body = {
        "Type": "Notification",
        "MessageId": fields.pop("MessageId", "11111111-2222"),
        "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-events",
        "Timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "SignatureVersion": "2",
        "SigningCertURL": cert_url,
        **fields,
    }
    body["Signature"] = base64.b64encode(
        key.sign(sns_string_to_sign(body), padding.PKCS1v15(), hashes.SHA256())
    ).decode()
    return body


def local_sns(app: Any, httpserver: HTTPServer, cert_pem: bytes) -> str:
    """Serve the certificate locally and allow only that host, over plain HTTP (tests only)."""
    httpserver.expect_request("/SimpleNotificationService-test.pem").respond_with_data(cert_pem)
    app.extensions["webhooks"] = WebhookOptions(
        allowed_host=lambda host: host == "127.0.0.1", https_only=False
    )
    return httpserver.url_for("/SimpleNotificationService-test.pem").replace(
        "localhost", "127.0.0.1"
    )


def test_ses_sns_bounce_and_complaint(
    app_client: Any, httpserver: HTTPServer, sns_signer: Any
) -> None:
    app, client, store = app_client
    key, pem = sns_signer
    url = local_sns(app, httpserver, pem)
    bounce = {
        "notificationType": "Bounce",
        "bounce": {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [
                {"emailAddress": "ses1@example.org"},
                {"emailAddress": "ses2@example.org"},
            ],
        },
    }
    body = sns_message(key, url, Message=json.dumps(bounce), MessageId="m-1")
    r = client.post("/webhooks/ses", data=json.dumps(body), content_type="text/plain")
    assert r.status_code == 200, r.json
    assert store.is_suppressed("ses1@example.org") and store.is_suppressed("ses2@example.org")
    assert client.post("/webhooks/ses", data=json.dumps(body)).status_code == 409
    complaint = {
        "notificationType": "Complaint",
        "complaint": {"complainedRecipients": [{"emailAddress": "ses3@example.org"}]},
    }
    body = sns_message(key, url, Message=json.dumps(complaint), MessageId="m-2")
    # tampered after signing
    forged = {
        **body,
        "Message": json.dumps(
            {**complaint, "complaint": {"complainedRecipients": [{"emailAddress": "x@y.org"}]}}
        ),
    }
    assert client.post("/webhooks/ses", data=json.dumps(forged)).status_code == 403
    assert client.post("/webhooks/ses", data=json.dumps(body)).status_code == 200
    assert store.is_suppressed("ses3@example.org") and not store.is_suppressed("x@y.org")


def test_ses_certificate_only_from_allowed_hosts(
    app_client: Any, httpserver: HTTPServer, sns_signer: Any
) -> None:
    app, client, _store = app_client
    key, pem = sns_signer
    local_sns(app, httpserver, pem)
    # the default options allow sns.<region>.amazonaws.com over HTTPS only
    app.extensions["webhooks"] = WebhookOptions()
    evil = httpserver.url_for("/SimpleNotificationService-test.pem")
    body = sns_message(key, evil, Message="{}", MessageId="m-3")
    r = client.post("/webhooks/ses", data=json.dumps(body))
    assert r.status_code == 403 and "not HTTPS" in r.json["error"]
    body = sns_message(key, "https://evil.example/cert.pem", Message="{}", MessageId="m-4")
    r = client.post("/webhooks/ses", data=json.dumps(body))
    assert r.status_code == 403 and "not on an SNS host" in r.json["error"]
    assert httpserver.log == []  # nothing was fetched


def test_ses_subscription_confirmation(
    app_client: Any, httpserver: HTTPServer, sns_signer: Any
) -> None:
    app, client, _store = app_client
    key, pem = sns_signer
    url = local_sns(app, httpserver, pem)
    httpserver.expect_request("/confirm").respond_with_data("<ConfirmSubscriptionResponse/>")
    confirm = httpserver.url_for("/confirm").replace("localhost", "127.0.0.1")
    body = sns_message(
        key,
        url,
        Type="SubscriptionConfirmation",
        Message="confirm",
        Token="tok",
        SubscribeURL=confirm,
        MessageId="m-5",
    )
    r = client.post("/webhooks/ses", data=json.dumps(body))
    assert r.status_code == 200, r.json
    assert any(req.path == "/confirm" for req, _ in httpserver.log)


def test_ses_stale_and_wrong_topic(
    app_client: Any, httpserver: HTTPServer, sns_signer: Any
) -> None:
    app, client, _store = app_client
    key, pem = sns_signer
    url = local_sns(app, httpserver, pem)
    old = (datetime.now(UTC) - timedelta(hours=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    body = sns_message(key, url, Message="{}", MessageId="m-6", Timestamp=old)
    assert client.post("/webhooks/ses", data=json.dumps(body)).status_code == 403
    body = sns_message(
        key, url, Message="{}", MessageId="m-7", TopicArn="arn:aws:sns:us-east-1:1:other"
    )
    assert client.post("/webhooks/ses", data=json.dumps(body)).status_code == 403


def test_unknown_webhook_name(app_client: Any) -> None:
    _app, client, _store = app_client
    assert client.post("/webhooks/nosuch", json={}).status_code == 404
