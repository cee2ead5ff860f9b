"""Local stand-ins for the providers' HTTP APIs, each checking the documented contract.

Every fake is a werkzeug handler for pytest-httpserver.  It refuses (with the
provider's own kind of error reply) anything the provider's documentation
says is wrong: endpoint, method, authentication, content type, required
fields, batch limits.  What it accepts it expands into one delivered message
per recipient (template + that recipient's values), so tests can compare what
each reader would receive with what the renderer built.

Failures are injected with :meth:`Fake.fail_next`: a status with headers, or
a hang longer than the client's timeout.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from werkzeug import Request, Response

SES_KEY_ID = "AKIDEXAMPLE"
SES_SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


@dataclass
class Delivered:
    recipient: str
    subject: str
    text: str
    html: str
    headers: dict[str, str]
    sender: str


@dataclass
class Fake:
    """Shared behaviour: failure injection, call log, delivered messages."""

    delivered: list[Delivered] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)
    failures: list[tuple[str, Any, dict[str, str]]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # addresses refused per message
    lock: threading.Lock = field(default_factory=threading.Lock)

    def fail_next(
        self, kind: str, value: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        """``("status", 429, {"Retry-After": "2"})``, ``("hang", 2.0)``, ``("json", (400, body))``."""
        self.failures.append((kind, value, headers or {}))

    def handler(self, request: Request) -> Response:
        with self.lock:
            self.calls.append({"path": request.path, "headers": dict(request.headers)})
            failure = self.failures.pop(0) if self.failures else None
        if failure:
            kind, value, headers = failure
            if kind == "hang":  # no reply in time, nothing done
                time.sleep(value)
                return Response("late", status=504)
            if kind == "slow":  # done, but the reply comes too late
                reply = self.handle(request)
                time.sleep(value)
                return reply
            if kind == "json":
                status, body = value
                return Response(
                    json.dumps(body),
                    status=status,
                    headers=headers,
                    content_type="application/json",
                )
            return Response(
                json.dumps({"message": f"injected {value}"}),
                status=value,
                headers=headers,
                content_type="application/json",
            )
        try:
            return self.handle(request)
        except ContractError as err:
            return Response(
                json.dumps({"message": str(err)}),
                status=err.status,
                content_type="application/json",
            )

    def handle(self, request: Request) -> Response:  # pragma: no cover - overridden
        raise NotImplementedError

    def by_recipient(self) -> dict[str, Delivered]:
        return {d.recipient: d for d in self.delivered}


class ContractError(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


def need(condition: bool, message: str, status: int = 400) -> None:
    if not condition:
        raise ContractError(message, status)


def substitute(template: str, values: dict[str, str], pattern: str) -> str:
    """Replace every placeholder matched by ``pattern`` (group 1: the name)."""

    def repl(m: re.Match[str]) -> str:
        if m.group(1) not in values:
            raise ContractError(f"no value for placeholder {m.group(0)}")
        return values[m.group(1)]

    return re.sub(pattern, repl, template)


# ----------------------------------------------------------------------------- Mailgun
def check_address_header(value: str, field: str, status: int = 400) -> None:
    """An address given as a header string (``Name <addr>``), as Postmark, Resend and Mailgun
    take it: exactly one mailbox once parsed (Postmark documents that a name with
    punctuation must be quoted, or it reads as several addresses), and the text as it
    goes on the wire: printable ASCII, a non-ASCII name as RFC 2047 encoded words."""
    from email.header import decode_header
    from email.utils import getaddresses

    need(value.isascii() and "\n" not in value, f"{field}: not a header value: {value!r}", status)
    found = getaddresses([value])
    need(
        len(found) == 1 and "@" in found[0][1],
        f"Error parsing '{field}': Illegal email address {value!r}",
        status,
    )
    name = found[0][0]
    if "=?" in name:
        decode_header(name)  # raises on a broken encoded word


@dataclass
class MailgunFake(Fake):
    domain: str = "mg.news.example"
    api_key: str = "key-mailgun"

    def handle(self, request: Request) -> Response:
        need(request.method == "POST", "method")
        need(request.path == f"/v3/{self.domain}/messages", f"no route {request.path}", 404)
        auth = request.authorization
        need(
            auth is not None and auth.username == "api" and auth.password == self.api_key,
            "Forbidden",
            401,
        )
        need(
            (request.mimetype or "")
            in ("multipart/form-data", "application/x-www-form-urlencoded"),
            "form data expected",
        )
        request.max_form_memory_size = 25 * 1024 * 1024  # Mailgun's 25 MB message limit
        request.max_form_parts = 5000
        form = request.form
        to = form.getlist("to")
        need(0 < len(to) <= 1000, "'to' parameter: between 1 and 1000 recipients")
        for k in ("from", "subject"):
            need(bool(form.get(k)), f"'{k}' parameter is missing")
        check_address_header(form["from"], "from")
        if form.get("h:Reply-To"):
            check_address_header(form["h:Reply-To"], "h:Reply-To")
        need(bool(form.get("text") or form.get("html")), "need at least one of 'text' or 'html'")
        variables = json.loads(form["recipient-variables"])
        need(set(variables) == set(to), "recipient-variables must cover every recipient")
        pattern = r"%recipient\.([A-Za-z0-9_]+)%"
        for rcpt in to:
            if rcpt in self.refuse:
                raise ContractError(f"'to' parameter is not a valid address: {rcpt}")
        for rcpt in to:
            vals = variables[rcpt]
            headers = {
                k[2:]: substitute(v, vals, pattern)
                for k, v in form.items(multi=True)
                if k.startswith("h:")
            }
            self.delivered.append(
                Delivered(
                    rcpt,
                    substitute(form["subject"], vals, pattern),
                    substitute(form.get("text", ""), vals, pattern),
                    substitute(form.get("html", ""), vals, pattern),
                    headers,
                    form["from"],
                )
            )
        msg_id = f"<{uuid.uuid4().hex}@{self.domain}>"
        return Response(
            json.dumps({"id": msg_id, "message": "Queued. Thank you."}),
            200,
            content_type="application/json",
        )


# ----------------------------------------------------------------------------- SendGrid
@dataclass
class SendGridFake(Fake):
    api_key: str = "SG.key"

    def handle(self, request: Request) -> Response:
        need(request.method == "POST" and request.path == "/v3/mail/send", "route", 404)
        need(
            request.headers.get("Authorization") == f"Bearer {self.api_key}",
            "authorization required",
            401,
        )
        need(request.mimetype == "application/json", "Content-Type must be application/json", 415)
        body = request.get_json()
        pers = body.get("personalizations") or []
        need(0 < len(pers) <= 1000, "personalizations: between 1 and 1000")
        need("email" in body.get("from", {}), "from.email is required")
        content = body.get("content") or []
        types = [c["type"] for c in content]
        need(bool(types), "content is required")
        if "text/plain" in types:
            need(types[0] == "text/plain", "text/plain must be the first content type")
        reserved = {"to", "from", "subject", "reply-to", "cc", "bcc", "content-type"}
        for h in body.get("headers", {}):
            need(h.lower() not in reserved, f"reserved header {h}")
        for p in pers:
            need(len(p.get("to", [])) >= 1, "personalizations.to is required")
            subs = p.get("substitutions", {})
            size = sum(len(k) + len(v.encode()) for k, v in subs.items())
            need(size <= 10_000, "substitutions exceed 10000 bytes")
            rcpt = p["to"][0]["email"]
            if rcpt in self.refuse:
                raise ContractError(f"Does not contain a valid address: {rcpt}")

            def sub(text: str, subs: dict[str, str] = subs) -> str:
                for k, v in subs.items():
                    text = text.replace(k, v)
                return text

            by_type = {c["type"]: sub(c["value"]) for c in content}
            self.delivered.append(
                Delivered(
                    rcpt,
                    p.get("subject") or body.get("subject", ""),
                    by_type.get("text/plain", ""),
                    by_type.get("text/html", ""),
                    {**body.get("headers", {}), **p.get("headers", {})},
                    body["from"]["email"],
                )
            )
        return Response("", 202, headers={"X-Message-Id": uuid.uuid4().hex[:22]})


# ----------------------------------------------------------------------------- Postmark
@dataclass
class PostmarkFake(Fake):
    token: str = "pm-server-token"
    inactive: set[str] = field(default_factory=set)

    def handle(self, request: Request) -> Response:
        need(request.method == "POST" and request.path == "/email/batch", "route", 404)
        if request.headers.get("X-Postmark-Server-Token") != self.token:
            return Response(
                json.dumps({"ErrorCode": 10, "Message": "Bad or missing Server API token."}),
                401,
                content_type="application/json",
            )
        need(request.mimetype == "application/json", "Content-Type")
        need("application/json" in request.headers.get("Accept", ""), "Accept")
        messages = request.get_json()
        need(isinstance(messages, list) and 0 < len(messages) <= 500, "at most 500 messages")
        out = []
        for m in messages:
            need(m.get("MessageStream") == "broadcast", "newsletters go on the broadcast stream")
            for k in ("From", "To", "Subject"):
                need(bool(m.get(k)), f"{k} required")
            check_address_header(m["From"], "From", 422)
            if m.get("ReplyTo"):
                check_address_header(m["ReplyTo"], "ReplyTo", 422)
            need(bool(m.get("HtmlBody") or m.get("TextBody")), "body required")
            if m["To"] in self.inactive:
                out.append(
                    {
                        "ErrorCode": 406,
                        "Message": "You tried to send to recipient(s) that have been marked as inactive.",
                    }
                )
                continue
            headers = {h["Name"]: h["Value"] for h in m.get("Headers", [])}
            self.delivered.append(
                Delivered(
                    m["To"],
                    m["Subject"],
                    m.get("TextBody", ""),
                    m.get("HtmlBody", ""),
                    headers,
                    m["From"],
                )
            )
            out.append(
                {"ErrorCode": 0, "Message": "OK", "MessageID": str(uuid.uuid4()), "To": m["To"]}
            )
        return Response(json.dumps(out), 200, content_type="application/json")


# ----------------------------------------------------------------------------- SES v2
def check_sigv4(request: Request, region: str = "us-east-1") -> None:
    """Recompute the SigV4 signature with botocore and compare (SES rejects a mismatch with 403)."""
    auth = request.headers.get("Authorization", "")
    m = re.match(
        r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/ses/aws4_request, "
        r"SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$",
        auth,
    )
    need(m is not None, "missing or malformed SigV4 Authorization", 403)
    assert m is not None
    key_id, _date, reg, signed, signature = m.groups()
    need(key_id == SES_KEY_ID, "The security token included in the request is invalid.", 403)
    need(reg == region, "credential scope region", 403)
    names = signed.split(";")
    headers = {n: request.headers.get(n, "") for n in names}
    aws = AWSRequest(
        method=request.method, url=request.url, data=request.get_data(), headers=headers
    )
    aws.context["timestamp"] = request.headers["X-Amz-Date"]
    signer = SigV4Auth(Credentials(SES_KEY_ID, SES_SECRET), "ses", region)
    canonical = signer.canonical_request(aws)
    expected = signer.signature(signer.string_to_sign(aws, canonical), aws)
    need(expected == signature, "The request signature we calculated does not match", 403)


def _wire_ascii(value: str) -> bool:
    """Printable ASCII on one line, as a header value goes on the wire."""
    return value.isascii() and value.isprintable()


@dataclass
class SesFake(Fake):
    rejected: set[str] = field(default_factory=set)

    def handle(self, request: Request) -> Response:
        need(
            request.method == "POST" and request.path == "/v2/email/outbound-bulk-emails",
            "route",
            404,
        )
        check_sigv4(request)
        body = request.get_json()
        entries = body.get("BulkEmailEntries", [])
        need(0 < len(entries) <= 50, "BulkEmailEntries: at most 50")
        tmpl = body["DefaultContent"]["Template"]
        content = tmpl["TemplateContent"]
        pattern = r"\{\{\{([A-Za-z0-9_]+)\}\}\}"
        need(bool(body.get("FromEmailAddress")), "FromEmailAddress")
        # SES has no SMTPUTF8: addresses and header values go as they are on the wire,
        # 7-bit ASCII, a display name or list title RFC 2047-encoded, on one line
        need(_wire_ascii(body["FromEmailAddress"]), "FromEmailAddress: encode the name (RFC 2047)")
        for rt in body.get("ReplyToAddresses", []):
            need(_wire_ascii(rt), "ReplyToAddresses: encode the name (RFC 2047)")
        all_headers = [*tmpl.get("Headers", [])]
        for e in entries:
            all_headers += e.get("ReplacementHeaders", [])
        for h in all_headers:
            need(_wire_ascii(h["Value"]), f"header {h['Name']}: not 7-bit ASCII")
        results = []
        for e in entries:
            to = e["Destination"]["ToAddresses"]
            need(len(to) == 1, "one address per entry here")
            if to[0] in self.rejected:
                results.append(
                    {"Status": "MESSAGE_REJECTED", "Error": "Email address is not verified."}
                )
                continue
            data = json.loads(
                e["ReplacementEmailContent"]["ReplacementTemplate"]["ReplacementTemplateData"]
            )
            need(
                "{{" not in re.sub(pattern, "", content.get("Html", "") + content.get("Text", "")),
                "stray braces",
            )
            headers = {h["Name"]: h["Value"] for h in tmpl.get("Headers", [])}
            headers.update({h["Name"]: h["Value"] for h in e.get("ReplacementHeaders", [])})
            self.delivered.append(
                Delivered(
                    to[0],
                    substitute(content["Subject"], data, pattern),
                    substitute(content.get("Text", ""), data, pattern),
                    substitute(content.get("Html", ""), data, pattern),
                    headers,
                    body["FromEmailAddress"],
                )
            )
            results.append({"Status": "SUCCESS", "MessageId": uuid.uuid4().hex})
        return Response(
            json.dumps({"BulkEmailEntryResults": results}), 200, content_type="application/json"
        )


# ----------------------------------------------------------------------------- Resend
@dataclass
class ResendFake(Fake):
    api_key: str = "re_key"
    seen_keys: dict[str, str] = field(default_factory=dict)

    def handle(self, request: Request) -> Response:
        need(request.method == "POST" and request.path == "/emails/batch", "route", 404)
        need(
            request.headers.get("Authorization") == f"Bearer {self.api_key}",
            "API key is invalid",
            401,
        )
        need(request.mimetype == "application/json", "Content-Type")
        key = request.headers.get("Idempotency-Key", "")
        need(0 < len(key) <= 256, "Idempotency-Key expected")
        raw = request.get_data(as_text=True)
        if key in self.seen_keys:
            return Response(self.seen_keys[key], 200, content_type="application/json")
        emails = json.loads(raw)
        need(isinstance(emails, list) and 0 < len(emails) <= 100, "at most 100 emails", 422)
        for e in emails:
            for k in ("from", "to", "subject"):
                need(bool(e.get(k)), f"Missing `{k}` field.", 422)
            check_address_header(e["from"], "from", 422)
            if e.get("reply_to"):
                check_address_header(e["reply_to"], "reply_to", 422)
            if e["to"][0] in self.refuse:
                raise ContractError(f"Invalid `to` field: {e['to'][0]}", 422)
        data = []
        for e in emails:
            self.delivered.append(
                Delivered(
                    e["to"][0],
                    e["subject"],
                    e.get("text", ""),
                    e.get("html", ""),
                    e.get("headers", {}),
                    e["from"],
                )
            )
            data.append({"id": str(uuid.uuid4())})
        reply = json.dumps({"data": data})
        self.seen_keys[key] = reply
        return Response(reply, 200, content_type="application/json")


# ----------------------------------------------------------------------------- Brevo
@dataclass
class BrevoFake(Fake):
    api_key: str = "xkeysib-key"
    seen_keys: dict[str, str] = field(default_factory=dict)

    def handle(self, request: Request) -> Response:
        need(request.method == "POST" and request.path == "/v3/smtp/email", "route", 404)
        need(request.headers.get("api-key") == self.api_key, "Key not found", 401)
        need(request.mimetype == "application/json", "Content-Type")
        body = request.get_json()
        headers = dict(body.get("headers", {}))
        key = headers.pop("idempotencyKey", "")
        uuid.UUID(key)  # Brevo requires a UUID
        if key in self.seen_keys:
            return Response(self.seen_keys[key], 201, content_type="application/json")
        versions = body.get("messageVersions", [])
        need(0 < len(versions) <= 1000, "messageVersions: at most 1000")
        params_size = sum(len(json.dumps(v.get("params", {})).encode()) for v in versions)
        need(params_size <= 1000 * 1000, "params exceed 1000 KB")
        need(bool(body.get("sender", {}).get("email")), "sender.email")
        pattern = r"\{\{ params\.([A-Za-z0-9_]+) \}\}"
        ids = []
        for v in versions:
            vals = v.get("params", {})
            rcpt = v["to"][0]["email"]
            self.delivered.append(
                Delivered(
                    rcpt,
                    substitute(v.get("subject") or body["subject"], vals, pattern),
                    substitute(v.get("textContent") or body.get("textContent", ""), vals, pattern),
                    substitute(v.get("htmlContent") or body.get("htmlContent", ""), vals, pattern),
                    {k: substitute(val, vals, pattern) for k, val in headers.items()},
                    body["sender"]["email"],
                )
            )
            ids.append(f"<{uuid.uuid4().hex}@smtp-relay.mailin.fr>")
        reply = json.dumps({"messageIds": ids})
        self.seen_keys[key] = reply
        return Response(reply, 201, content_type="application/json")


@dataclass(frozen=True)
class ProviderCase:
    """How to configure one provider against its fake."""

    provider: str
    fake: Callable[[], Fake]
    toml: Callable[[str], str]
    env: dict[str, str]
    endpoint: str
    idempotent: bool


def _b64(s: str) -> str:
    return base64.b64encode(s.encode()).decode()


CASES = [
    ProviderCase(
        "mailgun",
        MailgunFake,
        lambda url: f'provider = "mailgun"\ndomain = "mg.news.example"\nbase_url = "{url}"\n',
        {"DISTRIBUTOR_MAIL_MAIN_API_KEY": "key-mailgun"},
        "/v3/mg.news.example/messages",
        False,
    ),
    ProviderCase(
        "sendgrid",
        SendGridFake,
        lambda url: f'provider = "sendgrid"\nbase_url = "{url}"\n',
        {"DISTRIBUTOR_MAIL_MAIN_API_KEY": "SG.key"},
        "/v3/mail/send",
        False,
    ),
    ProviderCase(
        "postmark",
        PostmarkFake,
        lambda url: f'provider = "postmark"\nbase_url = "{url}"\n',
        {"DISTRIBUTOR_MAIL_MAIN_SERVER_TOKEN": "pm-server-token"},
        "/email/batch",
        False,
    ),
    ProviderCase(
        "ses",
        SesFake,
        lambda url: f'provider = "ses"\nregion = "us-east-1"\nbase_url = "{url}"\n',
        {
            "DISTRIBUTOR_MAIL_MAIN_ACCESS_KEY_ID": SES_KEY_ID,
            "DISTRIBUTOR_MAIL_MAIN_SECRET_ACCESS_KEY": SES_SECRET,
        },
        "/v2/email/outbound-bulk-emails",
        False,
    ),
    ProviderCase(
        "resend",
        ResendFake,
        lambda url: f'provider = "resend"\nbase_url = "{url}"\n',
        {"DISTRIBUTOR_MAIL_MAIN_API_KEY": "re_key"},
        "/emails/batch",
        True,
    ),
    ProviderCase(
        "brevo",
        BrevoFake,
        lambda url: f'provider = "brevo"\nbase_url = "{url}"\n',
        {"DISTRIBUTOR_MAIL_MAIN_API_KEY": "xkeysib-key"},
        "/v3/smtp/email",
        True,
    ),
]
