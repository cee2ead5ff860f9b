"""Amazon SES v2: ``SendBulkEmail`` with an inline template.

Up to 50 destinations per call.  Header values, the sender and the reply-to
address go RFC 2047-encoded where they are not ASCII (a list title in
``List-Id``, a sender name), as SES requires.  The subject and bodies go once as an inline
template (``{{{vN}}}`` placeholders, triple braces so SES does not
HTML-escape the values), each entry carries its replacement data and its
personal headers (``ReplacementHeaders``).  Every request is signed with
AWS Signature Version 4 by botocore (never by hand); ``base_url`` overrides
the regional endpoint ``https://email.<region>.amazonaws.com``.  The reply
has one ``BulkEmailEntryResults`` entry per destination, in order.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import requests
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from distributor.config import SesConfig, Settings
from distributor.mail.http import CheckResult, HttpMailBackend, describe_reply, grouped_chunks
from distributor.mail.merge import merge, reply_to
from distributor.models import DeliveryResult, Message
from distributor.render.fastmime import api_header

#: entry statuses worth trying again later; any other non-SUCCESS is permanent
TRANSIENT_STATUSES = {
    "TRANSIENT_FAILURE",
    "ACCOUNT_THROTTLED",
    "ACCOUNT_DAILY_QUOTA_EXCEEDED",
    "ACCOUNT_SENDING_PAUSED",
    "CONFIGURATION_SET_SENDING_PAUSED",
}


class SigV4(requests.auth.AuthBase):
    """Signs each prepared request (so every retry is signed afresh) with botocore."""

    def __init__(self, credentials: Credentials, region: str, service: str = "ses") -> None:
        self.signer = SigV4Auth(credentials, service, region)

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        aws = AWSRequest(
            method=request.method,
            url=request.url,
            data=body,
            headers={k: v for k, v in request.headers.items() if k.lower() != "user-agent"},
        )
        self.signer.add_auth(aws)
        for name in ("Authorization", "X-Amz-Date", "X-Amz-Security-Token"):
            if name in aws.headers:
                request.headers[name] = aws.headers[name]
        return request


class SesBackend(HttpMailBackend):
    provider = "ses"
    max_per_call = 50
    credential_name = "access_key_id/secret_access_key"
    default_base_url = "https://email.us-east-1.amazonaws.com"

    def __init__(self, name: str, config: Any, settings: Settings, **kwargs: Any) -> None:
        assert isinstance(config, SesConfig)
        if not config.base_url:
            config = config.model_copy(
                update={"base_url": f"https://email.{config.region}.amazonaws.com"}
            )
        super().__init__(name, config, settings, **kwargs)
        self.cfg: SesConfig = config

        def secret(v: Any) -> str | None:
            return v.get_secret_value() if v is not None else None

        creds = Credentials(
            secret(config.access_key_id) or "",
            secret(config.secret_access_key) or "",
            secret(config.session_token),
        )
        self.auth = SigV4(creds, config.region)

    def chunks(self, messages: Sequence[Message]) -> Iterator[Sequence[Message]]:
        return grouped_chunks(messages, self.max_per_call)

    def body(self, chunk: Sequence[Message]) -> dict[str, Any]:
        batch = merge(chunk, forbidden=("{{", "}}"))

        def ph(name: str) -> str:
            return "{{{" + name + "}}}"

        first = chunk[0]
        personal = batch.personal_headers()
        content_vars = set(batch.subject.variables + batch.text.variables + batch.html.variables)
        template: dict[str, Any] = {
            "TemplateContent": {"Subject": batch.subject.render(ph)},
            "TemplateData": "{}",
            "Headers": [
                {"Name": n, "Value": t.fill(batch.values[0])}
                for n, t in batch.headers
                if n not in personal
            ],
        }
        if first.text:
            template["TemplateContent"]["Text"] = batch.text.render(ph)
        if first.html:
            template["TemplateContent"]["Html"] = batch.html.render(ph)
        from_header = next((v for k, v in first.headers if k.lower() == "from"), first.sender)
        body: dict[str, Any] = {
            # SES takes addresses as they go in the header: a display name that is not
            # ASCII must be RFC 2047-encoded (it has no SMTPUTF8 either)
            "FromEmailAddress": api_header("From", from_header),
            "DefaultContent": {"Template": template},
            "BulkEmailEntries": [],
        }
        if rt := reply_to(first):
            body["ReplyToAddresses"] = [api_header("Reply-To", rt)]
        if self.cfg.configuration_set:
            body["ConfigurationSetName"] = self.cfg.configuration_set
        for m, values in zip(chunk, batch.values, strict=True):
            data = {k: v for k, v in values.items() if k in content_vars}
            body["BulkEmailEntries"].append(
                {
                    "Destination": {"ToAddresses": [m.recipient]},
                    "ReplacementEmailContent": {
                        "ReplacementTemplate": {
                            "ReplacementTemplateData": json.dumps(data, ensure_ascii=False)
                        }
                    },
                    "ReplacementHeaders": [
                        {"Name": n, "Value": t.fill(values)}
                        for n, t in batch.headers
                        if n in personal
                    ],
                }
            )
        return body

    def send_chunk(self, chunk: Sequence[Message]) -> list[DeliveryResult]:
        response = self.request(
            "POST", "/v2/email/outbound-bulk-emails", json=self.body(chunk), auth=self.auth
        )
        entries = response.json().get("BulkEmailEntryResults", [])
        if len(entries) != len(chunk):
            return [
                DeliveryResult.unknown(m.key, f"unexpected bulk reply: {response.text[:200]}")
                for m in chunk
            ]
        results = []
        for m, entry in zip(chunk, entries, strict=True):
            status = entry.get("Status", "")
            if status == "SUCCESS":
                results.append(DeliveryResult.sent(m.key, provider_id=entry.get("MessageId")))
            else:
                results.append(
                    DeliveryResult.failed(
                        m.key,
                        f"SES {status}: {entry.get('Error', '')}",
                        retryable=status in TRANSIENT_STATUSES,
                    )
                )
        return results

    def check(self) -> CheckResult:
        response = self.session.get(
            f"{self.base_url}/v2/email/account", auth=self.auth, timeout=self.timeout
        )
        if response.status_code in (401, 403):
            return CheckResult(False, f"credentials refused: {describe_reply(response)}")
        if response.status_code != 200:
            return CheckResult(False, describe_reply(response))
        account = response.json()
        if not account.get("SendingEnabled", False):
            return CheckResult(False, "sending is disabled for this account")
        mode = "production" if account.get("ProductionAccessEnabled") else "sandbox"
        quota = account.get("SendQuota", {})
        return CheckResult(
            True,
            f"{mode} account in {self.cfg.region}, max {quota.get('MaxSendRate', '?')}/s "
            f"({self.base_url})",
        )
