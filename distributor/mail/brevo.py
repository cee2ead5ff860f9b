"""Brevo: ``/v3/smtp/email`` with ``messageVersions`` (batch sending).

Up to 1,000 versions per call, one per recipient.  The subject and bodies go
once with ``{{ params.vN }}`` placeholders; each version carries its
recipient and its ``params`` (all versions' params together at most 1,000 KB:
larger batches are split).  Brevo has no per-version headers, so personal
headers (``List-Unsubscribe``) use the same placeholders in the shared
``headers``.  ``headers.idempotencyKey`` is a UUID derived from the ledger
keys, so a repeated request is processed once (the backend is
``idempotent``).  The reply lists one ``messageIds`` entry per version.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from distributor.config import BrevoConfig, Settings
from distributor.mail.http import (
    CheckResult,
    HttpMailBackend,
    describe_reply,
    from_parts,
    grouped_chunks,
)
from distributor.mail.merge import MergedBatch, merge, reply_to
from distributor.models import DeliveryResult, Message

MAX_PARAMS_BYTES = 1000 * 1000
_NAMESPACE = uuid.UUID("6f1c3c3e-6c55-4cbd-9a2e-6b8d5f9f2a11")


def idempotency_key(chunk: Sequence[Message]) -> str:
    """A UUID (Brevo requires one) that is the same for the same ledger rows."""
    return str(uuid.uuid5(_NAMESPACE, "\n".join(m.key for m in chunk)))


class BrevoBackend(HttpMailBackend):
    provider = "brevo"
    idempotent = True
    max_per_call = 1000
    default_base_url = "https://api.brevo.com"

    def __init__(self, name: str, config: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(name, config, settings, **kwargs)
        assert isinstance(config, BrevoConfig)
        key = config.api_key.get_secret_value() if config.api_key else ""
        self.auth_headers = {"api-key": key, "Accept": "application/json"}

    def chunks(self, messages: Sequence[Message]) -> Iterator[Sequence[Message]]:
        for chunk in grouped_chunks(messages, self.max_per_call):
            yield from self._fit(chunk)

    def _fit(self, chunk: Sequence[Message]) -> Iterator[Sequence[Message]]:
        if len(chunk) > 1 and _params_bytes(merge(chunk, forbidden=_FORBIDDEN)) > MAX_PARAMS_BYTES:
            half = len(chunk) // 2
            yield from self._fit(chunk[:half])
            yield from self._fit(chunk[half:])
        else:
            yield chunk

    def body(self, chunk: Sequence[Message]) -> dict[str, Any]:
        batch = merge(chunk, forbidden=_FORBIDDEN)

        def ph(name: str) -> str:
            return "{{ params." + name + " }}"

        first = chunk[0]
        name, email = from_parts(first)
        sender = {"email": email, **({"name": name} if name else {})}
        headers = {n: t.render(ph) for n, t in batch.headers}
        headers["idempotencyKey"] = idempotency_key(chunk)
        body: dict[str, Any] = {
            "sender": sender,
            "subject": batch.subject.render(ph),
            "headers": headers,
            "messageVersions": [
                {"to": [{"email": m.recipient}], "params": values}
                for m, values in zip(chunk, batch.values, strict=True)
            ],
        }
        if first.html:
            body["htmlContent"] = batch.html.render(ph)
        if first.text:
            body["textContent"] = batch.text.render(ph)
        if rt := reply_to(first):
            body["replyTo"] = {"email": rt}
        return body

    def send_chunk(self, chunk: Sequence[Message]) -> list[DeliveryResult]:
        response = self.request(
            "POST",
            "/v3/smtp/email",
            json=self.body(chunk),
            headers=self.auth_headers,
            idempotent=True,
        )
        reply = response.json()
        ids = reply.get("messageIds") or ([reply["messageId"]] if "messageId" in reply else [])
        if len(ids) != len(chunk):
            return [
                DeliveryResult.unknown(m.key, f"unexpected reply: {response.text[:200]}")
                for m in chunk
            ]
        return [
            DeliveryResult.sent(m.key, provider_id=str(i)) for m, i in zip(chunk, ids, strict=True)
        ]

    def check(self) -> CheckResult:
        response = self.session.get(
            f"{self.base_url}/v3/account", headers=self.auth_headers, timeout=self.timeout
        )
        if response.status_code in (401, 403):
            return CheckResult(False, f"api_key refused: {describe_reply(response)}")
        if response.status_code != 200:
            return CheckResult(False, describe_reply(response))
        return CheckResult(True, f"account {response.json().get('email', '?')} ({self.base_url})")


_FORBIDDEN = ("{{", "{%", "}}", "%}")


def _params_bytes(batch: MergedBatch) -> int:
    return sum(len(json.dumps(v, ensure_ascii=False).encode()) for v in batch.values)
