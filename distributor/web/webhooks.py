"""Provider webhooks at ``/webhooks/<name>``: verified, normalized, acted on.

``<name>`` is a ``[mail.NAME]`` section, or a provider name when one section
uses that provider.  Each provider proves its requests its own way:

=========  ==================================================================
Mailgun    HMAC-SHA256 of ``timestamp + token`` with the webhook signing key;
           a token seen before, or a timestamp older than 5 minutes, is refused
SendGrid   ECDSA (P-256, SHA-256) signature of ``timestamp + body`` with the
           account's verification key (signed event webhook)
Postmark   HTTP basic auth with the configured user and password
SES        Amazon SNS: the message signature (SignatureVersion 1 or 2) checked
           against the signing certificate, which is fetched only from an
           ``sns.<region>.amazonaws.com`` host over HTTPS; subscription
           confirmations are confirmed the same way
Resend     Svix signature (``svix-id``, ``svix-timestamp``, ``svix-signature``)
           through the Standard Webhooks library; 5 minutes of tolerance
Brevo      HTTP basic auth with the configured user and password
=========  ==================================================================

Events become :class:`~distributor.store.mail.MailEvent` values: delivered,
bounced (hard or soft), complained, unsubscribed.  Hard bounces, complaints
and unsubscribes suppress the address; soft bounces count toward the
provider's ``soft_bounce_threshold``.  Replies: 200 with what was done, 403
for a signature or credentials that do not verify (or a stale request), 409
for a replay, 400 for a body that cannot be read, 404 for an unknown name.

Timestamps, replay keys and certificate validity are judged by the app's own
clock (``CLOCK_KEY``, the process clock of ``distributor serve``), like every
other page; only the Standard Webhooks library checks Resend's timestamp once
more on the wall clock (it takes no clock).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from flask import Blueprint, Flask, Response, current_app, jsonify, request
from standardwebhooks import Webhook, WebhookVerificationError

from distributor.config import Settings
from distributor.service import Context
from distributor.service.webhooks import EventKind, MailEvent, apply_event, first_time
from distributor.web.common import deps

if TYPE_CHECKING:  # the web app's store, passed to the service's context
    from distributor.store import Store

TOLERANCE = 300  # seconds a signed request stays fresh
SNS_TOLERANCE = 3600  # SNS retries deliveries for up to an hour
SNS_HOST = re.compile(r"^sns\.[a-z0-9-]+\.amazonaws\.com(\.cn)?$")


class Refused(Exception):
    """The request does not prove it comes from the provider (or is stale)."""

    status = 403


class Replayed(Refused):
    status = 409


class Malformed(Refused):
    status = 400


@dataclass
class WebhookOptions:
    """What the webhooks take from outside; tests swap the SNS certificate fetcher.

    ``fetch`` gets a URL and returns its body; it is only ever called for a
    URL whose host passes ``allowed_host``.
    """

    fetch: Callable[[str], bytes] = field(default=lambda url: _http_get(url))
    allowed_host: Callable[[str], bool] = field(default=lambda host: bool(SNS_HOST.match(host)))
    https_only: bool = True
    # the instant, in seconds, that judges timestamps and certificates; None: the app's clock
    now: Callable[[], float] | None = None
    _certs: dict[str, x509.Certificate] = field(default_factory=dict)


def _now(options: WebhookOptions) -> float:
    """Now by the app's own clock (``CLOCK_KEY``), as every other page reads it."""
    return options.now() if options.now is not None else deps().clock().timestamp()


def _http_get(url: str) -> bytes:
    response = requests.get(url, timeout=10, allow_redirects=False)
    response.raise_for_status()
    return response.content


bp = Blueprint("webhooks", __name__, url_prefix="/webhooks")


def init_app(app: Flask) -> None:
    """Register the blueprint and its options (``app.extensions['webhooks']``)."""
    app.extensions.setdefault("webhooks", WebhookOptions())
    app.register_blueprint(bp)


@bp.post("/<name>")
def receive(name: str) -> tuple[Response, int]:
    ext = current_app.extensions["distributor"]
    settings: Settings = ext["settings"]
    store: Store = ext["store"]
    options: WebhookOptions = current_app.extensions["webhooks"]
    section, config = _find(settings, name)
    if config is None:
        return jsonify(error=f"no mail provider named {name!r}"), 404
    handler = HANDLERS.get(config.provider)
    if handler is None:
        return jsonify(error=f"provider {config.provider!r} has no webhook"), 404

    def clock() -> datetime:
        return datetime.fromtimestamp(_now(options), UTC)

    with Context.open(settings, store=store, clock=clock) as ctx:
        try:
            events = handler(config, options, ctx)
        except Refused as err:
            return jsonify(error=str(err)), err.status
        now = clock()
        threshold = getattr(config, "soft_bounce_threshold", 3)
        actions = [
            {
                "email": e.email,
                "event": e.kind.value,
                "hard": e.hard,
                "action": apply_event(ctx, e, threshold, now),
            }
            for e in events
        ]
    return jsonify(provider=config.provider, section=section, events=actions), 200


def _find(settings: Settings, name: str) -> tuple[str, Any]:
    if name in settings.mail:
        return name, settings.mail[name]
    matches = [(n, c) for n, c in settings.mail.items() if c.provider == name and c.enabled]
    return matches[0] if len(matches) == 1 else (name, None)


def _secret(value: Any) -> str:
    return value.get_secret_value() if value is not None else ""


def _json() -> Any:
    try:
        return json.loads(request.get_data())
    except ValueError as err:  # UnicodeDecodeError too
        raise Malformed(f"body is not JSON: {err}") from err


def _obj(value: Any, what: str) -> dict[str, Any]:
    """``value`` if it is a JSON object; else the request is malformed (a 400, not a 500)."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise Malformed(f"{what} must be a JSON object, not {type(value).__name__}")
    return value


def _list(value: Any, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise Malformed(f"{what} must be a JSON array, not {type(value).__name__}")
    return value


def _fresh(timestamp: str | int | float, options: WebhookOptions, tolerance: int) -> None:
    try:
        ts = float(timestamp)
    except (TypeError, ValueError) as err:
        raise Refused("bad timestamp") from err
    if abs(_now(options) - ts) > tolerance:
        raise Refused("stale request: timestamp outside the accepted window")


def _once(ctx: Context, provider: str, event_id: str, options: WebhookOptions) -> None:
    if not first_time(ctx, provider, event_id, datetime.fromtimestamp(_now(options), UTC)):
        raise Replayed(f"replayed request ({event_id})")


def _basic_auth(user: str | None, password: str) -> None:
    auth = request.authorization
    if not user or not password:
        raise Refused("webhook credentials are not configured for this provider")
    if (
        auth is None
        or not hmac.compare_digest((auth.username or "").encode(), user.encode())
        or not hmac.compare_digest((auth.password or "").encode(), password.encode())
    ):
        raise Refused("wrong or missing basic auth credentials")


# ----------------------------------------------------------------------------- Mailgun
def mailgun(config: Any, options: WebhookOptions, ctx: Context) -> list[MailEvent]:
    key = _secret(config.webhook_signing_key)
    if not key:
        raise Refused("webhook_signing_key is not configured")
    body = _obj(_json(), "the body")
    sig = _obj(body.get("signature"), "'signature'")
    ts, token, signature = (str(sig.get(k, "")) for k in ("timestamp", "token", "signature"))
    expected = hmac.new(key.encode(), (ts + token).encode(), hashlib.sha256).hexdigest()
    if not token or not hmac.compare_digest(expected, signature):
        raise Refused("signature does not verify")
    _fresh(ts, options, TOLERANCE)
    _once(ctx, "mailgun", token, options)
    data = _obj(body.get("event-data"), "'event-data'")
    event, email = data.get("event"), str(data.get("recipient", ""))
    if event == "delivered":
        return [MailEvent("mailgun", EventKind.DELIVERED, email, token)]
    if event == "failed":
        hard = data.get("severity") == "permanent"
        status = _obj(data.get("delivery-status"), "'delivery-status'")
        detail = str(status.get("description") or status.get("message") or data.get("reason", ""))
        return [MailEvent("mailgun", EventKind.BOUNCED, email, token, hard, detail)]
    if event == "complained":
        return [MailEvent("mailgun", EventKind.COMPLAINED, email, token)]
    if event == "unsubscribed":
        return [MailEvent("mailgun", EventKind.UNSUBSCRIBED, email, token)]
    return []


# ----------------------------------------------------------------------------- SendGrid
def load_sendgrid_key(text: str) -> ec.EllipticCurvePublicKey:
    """The verification key as SendGrid shows it (base64 DER), or PEM."""
    data = text.strip()
    if "BEGIN PUBLIC KEY" in data:
        key = serialization.load_pem_public_key(data.encode())
    else:
        key = serialization.load_der_public_key(base64.b64decode(data))
    if not isinstance(key, ec.EllipticCurvePublicKey):
        raise Refused("webhook_public_key is not an EC public key")
    return key


def sendgrid(config: Any, options: WebhookOptions, ctx: Context) -> list[MailEvent]:
    if not config.webhook_public_key:
        raise Refused("webhook_public_key is not configured")
    key = load_sendgrid_key(config.webhook_public_key)
    signature = request.headers.get("X-Twilio-Email-Event-Webhook-Signature", "")
    ts = request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", "")
    raw = request.get_data()
    try:
        key.verify(base64.b64decode(signature), ts.encode() + raw, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError) as err:
        raise Refused("signature does not verify") from err
    _fresh(ts, options, TOLERANCE)
    events: list[MailEvent] = []
    for item in _list(_json(), "the body"):
        item = _obj(item, "an event")
        event_id = str(item.get("sg_event_id", ""))
        now = datetime.fromtimestamp(_now(options), UTC)
        if not event_id or not first_time(ctx, "sendgrid", event_id, now):
            continue  # a batch may repeat events already handled
        email, kind = str(item.get("email", "")), item.get("event")
        if kind == "delivered":
            events.append(MailEvent("sendgrid", EventKind.DELIVERED, email, event_id))
        elif kind == "bounce":
            hard = item.get("type", "bounce") == "bounce"  # "blocked" is temporary
            detail = str(item.get("reason", ""))
            events.append(MailEvent("sendgrid", EventKind.BOUNCED, email, event_id, hard, detail))
        elif kind == "dropped":
            detail = str(item.get("reason", ""))
            events.append(MailEvent("sendgrid", EventKind.BOUNCED, email, event_id, True, detail))
        elif kind == "spamreport":
            events.append(MailEvent("sendgrid", EventKind.COMPLAINED, email, event_id))
        elif kind in ("unsubscribe", "group_unsubscribe"):
            events.append(MailEvent("sendgrid", EventKind.UNSUBSCRIBED, email, event_id))
    return events


# ----------------------------------------------------------------------------- Postmark
POSTMARK_HARD = {"HardBounce", "BadEmailAddress", "ManuallyDeactivated", "SpamNotification"}


def postmark(config: Any, options: WebhookOptions, ctx: Context) -> list[MailEvent]:
    _basic_auth(config.webhook_username, _secret(config.webhook_password))
    body = _obj(_json(), "the body")
    record = body.get("RecordType")
    event_id = f"{record}:{body.get('ID') or body.get('MessageID', '')}"
    _once(ctx, "postmark", event_id, options)
    email = str(body.get("Email") or body.get("Recipient") or "")
    if record == "Delivery":
        return [MailEvent("postmark", EventKind.DELIVERED, email, event_id)]
    if record == "Bounce":
        hard = str(body.get("Type")) in POSTMARK_HARD
        detail = str(body.get("Description", body.get("Type", "")))
        return [MailEvent("postmark", EventKind.BOUNCED, email, event_id, hard, detail)]
    if record == "SpamComplaint":
        return [MailEvent("postmark", EventKind.COMPLAINED, email, event_id)]
    if record == "SubscriptionChange" and body.get("SuppressSending"):
        return [MailEvent("postmark", EventKind.UNSUBSCRIBED, email, event_id)]
    return []


# ----------------------------------------------------------------------------- SES via SNS
_SNS_FIELDS = {
    "Notification": ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type"),
    "SubscriptionConfirmation": (
        "Message",
        "MessageId",
        "SubscribeURL",
        "Timestamp",
        "Token",
        "TopicArn",
        "Type",
    ),
}
_SNS_FIELDS["UnsubscribeConfirmation"] = _SNS_FIELDS["SubscriptionConfirmation"]


def sns_string_to_sign(body: dict[str, Any]) -> bytes:
    """The canonical text SNS signs: selected ``name\\nvalue\\n`` pairs in order."""
    fields = _SNS_FIELDS.get(str(body.get("Type")))
    if fields is None:
        raise Malformed(f"unknown SNS message type {body.get('Type')!r}")
    out = ""
    for name in fields:
        if name == "Subject" and body.get("Subject") is None:
            continue
        out += f"{name}\n{body.get(name, '')}\n"
    return out.encode()


def _sns_url(url: str, options: WebhookOptions) -> str:
    parts = urlsplit(url)
    if options.https_only and parts.scheme != "https":
        raise Refused(f"SNS URL is not HTTPS: {url}")
    if not options.allowed_host(parts.hostname or ""):
        raise Refused(f"SNS URL is not on an SNS host: {parts.hostname}")
    return url


def verify_sns(body: dict[str, Any], options: WebhookOptions) -> None:
    """Check the SNS signature against the certificate from an SNS host."""
    url = _sns_url(str(body.get("SigningCertURL", "")), options)
    cert = options._certs.get(url)
    if cert is None:
        try:
            cert = x509.load_pem_x509_certificate(options.fetch(url))
        except (requests.RequestException, ValueError) as err:
            raise Refused(f"cannot get the signing certificate: {err}") from err
        options._certs[url] = cert
    now = datetime.fromtimestamp(_now(options), UTC)
    if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
        raise Refused("the signing certificate is expired or not yet valid")
    algorithm: hashes.HashAlgorithm = (
        hashes.SHA256() if str(body.get("SignatureVersion")) == "2" else hashes.SHA1()
    )
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise Refused("the signing certificate has no RSA key")
    try:
        key.verify(
            base64.b64decode(str(body.get("Signature", ""))),
            sns_string_to_sign(body),
            padding.PKCS1v15(),
            algorithm,
        )
    except (InvalidSignature, ValueError) as err:
        raise Refused("SNS signature does not verify") from err


def ses(config: Any, options: WebhookOptions, ctx: Context) -> list[MailEvent]:
    body = _obj(_json(), "the SNS body")
    verify_sns(body, options)
    try:
        stamp = datetime.fromisoformat(str(body.get("Timestamp", "")).replace("Z", "+00:00"))
    except ValueError as err:
        raise Malformed("'Timestamp' is not an ISO 8601 time") from err
    _fresh(stamp.timestamp(), options, SNS_TOLERANCE)
    if config.sns_topic_arns and body.get("TopicArn") not in config.sns_topic_arns:
        raise Refused(f"topic {body.get('TopicArn')} is not configured")
    _once(ctx, "ses", str(body.get("MessageId", "")), options)
    if body["Type"] == "SubscriptionConfirmation":
        url = _sns_url(str(body.get("SubscribeURL", "")), options)
        try:
            options.fetch(url)
        except requests.RequestException as err:
            raise Refused(f"cannot confirm the subscription: {err}") from err
        return []
    if body["Type"] != "Notification":
        return []
    try:
        msg = _obj(json.loads(str(body["Message"])), "the SES notification")
    except ValueError as err:
        raise Malformed("SES notification is not JSON") from err
    kind = msg.get("notificationType") or msg.get("eventType")
    mid = str(body["MessageId"])
    if kind == "Bounce":
        bounce = _obj(msg.get("bounce"), "'bounce'")
        hard = bounce.get("bounceType") == "Permanent"
        detail = f"{bounce.get('bounceType')}/{bounce.get('bounceSubType')}"
        return [
            MailEvent("ses", EventKind.BOUNCED, str(r.get("emailAddress", "")), mid, hard, detail)
            for r in (_obj(x, "a recipient") for x in _list(bounce.get("bouncedRecipients"), "x"))
        ]
    if kind == "Complaint":
        return [
            MailEvent("ses", EventKind.COMPLAINED, str(r.get("emailAddress", "")), mid)
            for r in (
                _obj(x, "a recipient")
                for x in _list(
                    _obj(msg.get("complaint"), "'complaint'").get("complainedRecipients"), "x"
                )
            )
        ]
    if kind == "Delivery":
        return [
            MailEvent("ses", EventKind.DELIVERED, str(r), mid)
            for r in _list(_obj(msg.get("delivery"), "'delivery'").get("recipients"), "x")
        ]
    return []


# ----------------------------------------------------------------------------- Resend
def resend(config: Any, options: WebhookOptions, ctx: Context) -> list[MailEvent]:
    secret = _secret(config.webhook_secret)
    if not secret:
        raise Refused("webhook_secret is not configured")
    headers = {
        "webhook-id": request.headers.get("svix-id", ""),
        "webhook-timestamp": request.headers.get("svix-timestamp", ""),
        "webhook-signature": request.headers.get("svix-signature", ""),
    }
    try:
        body = Webhook(secret).verify(request.get_data(), headers)
    except (WebhookVerificationError, ValueError) as err:
        raise Refused(f"Svix signature does not verify: {err}") from err
    _fresh(headers["webhook-timestamp"], options, TOLERANCE)
    _once(ctx, "resend", headers["webhook-id"], options)
    kind = _obj(body, "the body").get("type")
    data = _obj(body.get("data"), "'data'")
    to = data.get("to") or []
    emails = [str(e) for e in (to if isinstance(to, list) else [to])]
    mid = headers["webhook-id"]
    if kind == "email.delivered":
        return [MailEvent("resend", EventKind.DELIVERED, e, mid) for e in emails]
    if kind == "email.bounced":
        bounce = _obj(data.get("bounce"), "'bounce'")
        hard = str(bounce.get("type", "Permanent")).lower() in ("permanent", "hard")
        detail = str(bounce.get("message", ""))
        return [MailEvent("resend", EventKind.BOUNCED, e, mid, hard, detail) for e in emails]
    if kind == "email.complained":
        return [MailEvent("resend", EventKind.COMPLAINED, e, mid) for e in emails]
    return []


# ----------------------------------------------------------------------------- Brevo
def brevo(config: Any, options: WebhookOptions, ctx: Context) -> list[MailEvent]:
    _basic_auth(config.webhook_username, _secret(config.webhook_password))
    body = _obj(_json(), "the body")
    event_id = f"{body.get('event')}:{body.get('message-id', '')}:{body.get('email', '')}"
    _once(ctx, "brevo", event_id, options)
    email, kind = str(body.get("email", "")), body.get("event")
    if kind == "delivered":
        return [MailEvent("brevo", EventKind.DELIVERED, email, event_id)]
    if kind in ("hard_bounce", "invalid_email", "blocked"):
        detail = str(body.get("reason", ""))
        return [MailEvent("brevo", EventKind.BOUNCED, email, event_id, True, detail)]
    if kind == "soft_bounce":
        detail = str(body.get("reason", ""))
        return [MailEvent("brevo", EventKind.BOUNCED, email, event_id, False, detail)]
    if kind == "spam":
        return [MailEvent("brevo", EventKind.COMPLAINED, email, event_id)]
    if kind == "unsubscribed":
        return [MailEvent("brevo", EventKind.UNSUBSCRIBED, email, event_id)]
    return []


HANDLERS: dict[str, Callable[[Any, WebhookOptions, Context], list[MailEvent]]] = {
    "mailgun": mailgun,
    "sendgrid": sendgrid,
    "postmark": postmark,
    "ses": ses,
    "resend": resend,
    "brevo": brevo,
}
