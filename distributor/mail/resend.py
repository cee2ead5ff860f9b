"""Resend: ``/emails/batch``, up to 100 complete messages per call.

Each call carries an ``Idempotency-Key`` derived from the ledger keys of its
messages, so the very same request can be repeated safely (after a timeout,
or after a crash: the backend is ``idempotent``).  The reply lists one id per
message, in order.  A batch is accepted or refused as a whole.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from distributor.config import ResendConfig, Settings
from distributor.mail.http import CheckResult, HttpMailBackend, PermanentCallError, describe_reply
from distributor.mail.merge import custom_headers, header_address
from distributor.models import DeliveryResult, Message


def idempotency_key(chunk: Sequence[Message]) -> str:
    """Stable for the same ledger rows in the same order (at most 256 characters)."""
    digest = hashlib.sha256("\n".join(m.key for m in chunk).encode()).hexdigest()
    return f"distributor-{digest}"


class ResendBackend(HttpMailBackend):
    provider = "resend"
    idempotent = True
    max_per_call = 100
    default_base_url = "https://api.resend.com"

    def __init__(self, name: str, config: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(name, config, settings, **kwargs)
        assert isinstance(config, ResendConfig)
        key = config.api_key.get_secret_value() if config.api_key else ""
        self.auth_header = {"Authorization": f"Bearer {key}"}

    def email_object(self, message: Message) -> dict[str, Any]:
        from_header = header_address(message) or message.sender
        obj: dict[str, Any] = {
            "from": from_header,
            "to": [message.recipient],
            "subject": message.subject,
            "headers": dict(custom_headers(message)),
        }
        if message.html:
            obj["html"] = message.html
        if message.text:
            obj["text"] = message.text
        if rt := header_address(message, "Reply-To"):
            obj["reply_to"] = rt
        return obj

    def send_chunk(self, chunk: Sequence[Message]) -> list[DeliveryResult]:
        headers = {**self.auth_header, "Idempotency-Key": idempotency_key(chunk)}
        try:
            response = self.request(
                "POST",
                "/emails/batch",
                json=[self.email_object(m) for m in chunk],
                headers=headers,
                idempotent=True,
            )
        except PermanentCallError as err:
            if err.status == 409 and "concurrent" in str(err.body):
                # the same key is being processed: the outcome is not ours to know yet
                return [DeliveryResult.unknown(m.key, err.reason) for m in chunk]
            raise
        data = response.json().get("data", [])
        if len(data) != len(chunk):
            return [
                DeliveryResult.unknown(m.key, f"unexpected batch reply: {response.text[:200]}")
                for m in chunk
            ]
        return [
            DeliveryResult.sent(m.key, provider_id=str(item.get("id")))
            for m, item in zip(chunk, data, strict=True)
        ]

    def check(self) -> CheckResult:
        response = self.session.get(
            f"{self.base_url}/domains", headers=self.auth_header, timeout=self.timeout
        )
        if response.status_code == 401 and "restricted_api_key" in response.text:
            return CheckResult(True, f"sending-only API key accepted ({self.base_url})")
        if response.status_code in (401, 403):
            return CheckResult(False, f"api_key refused: {describe_reply(response)}")
        if response.status_code != 200:
            return CheckResult(False, describe_reply(response))
        domains = [d.get("name") for d in response.json().get("data", [])]
        return CheckResult(True, f"domains: {', '.join(map(str, domains)) or 'none'}")
