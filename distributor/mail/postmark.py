"""Postmark: ``/email/batch`` on the broadcast message stream.

Up to 500 messages per call, each a complete message object (Postmark has no
per-recipient substitution outside its stored templates), sent on the
configured message stream (``broadcast`` by default: newsletters must not go
through the transactional stream).  The reply is ``200`` even when some
messages were refused: every entry carries its own ``ErrorCode`` (0 = OK),
checked one by one.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from distributor.config import PostmarkConfig, Settings
from distributor.errors import AuthenticationError
from distributor.mail.http import (
    CheckResult,
    HttpMailBackend,
    PermanentCallError,
    describe_reply,
    split_by,
)
from distributor.mail.merge import custom_headers, header_address
from distributor.models import DeliveryResult, Message

MAX_PAYLOAD_BYTES = 50 * 1024 * 1024
#: per-message error codes worth trying again later (the rest are permanent)
TRANSIENT_CODES = {100, 429}
#: codes saying the token itself is wrong
AUTH_CODES = {10}


class PostmarkBackend(HttpMailBackend):
    provider = "postmark"
    max_per_call = 500
    default_base_url = "https://api.postmarkapp.com"
    credential_name = "server_token"

    def __init__(self, name: str, config: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(name, config, settings, **kwargs)
        assert isinstance(config, PostmarkConfig)
        self.cfg: PostmarkConfig = config
        token = config.server_token.get_secret_value() if config.server_token else ""
        self.auth_headers = {"X-Postmark-Server-Token": token, "Accept": "application/json"}

    def chunks(self, messages: Sequence[Message]) -> Iterator[Sequence[Message]]:
        # JSON roughly doubles nothing but escapes; keep a margin under 50 MB
        return split_by(
            messages,
            self.max_per_call,
            lambda m: len(m.html) + len(m.text) + 2048,
            MAX_PAYLOAD_BYTES // 2,
        )

    def message_object(self, message: Message) -> dict[str, Any]:
        from_header = header_address(message) or message.sender
        obj: dict[str, Any] = {
            "From": from_header,
            "To": message.recipient,
            "Subject": message.subject,
            "MessageStream": self.cfg.message_stream,
            "Headers": [{"Name": k, "Value": v} for k, v in custom_headers(message)],
            "Metadata": {"distributor_key": message.key},
        }
        if message.text:
            obj["TextBody"] = message.text
        if message.html:
            obj["HtmlBody"] = message.html
        if rt := header_address(message, "Reply-To"):
            obj["ReplyTo"] = rt
        return obj

    def send_chunk(self, chunk: Sequence[Message]) -> list[DeliveryResult]:
        try:
            response = self.request(
                "POST",
                "/email/batch",
                json=[self.message_object(m) for m in chunk],
                headers=self.auth_headers,
            )
        except PermanentCallError as err:
            # 422 with ErrorCode 10: "bad or missing server or account API token"
            if isinstance(err.body, dict) and err.body.get("ErrorCode") in AUTH_CODES:
                raise AuthenticationError(self.name, f"server_token refused: {err.reason}") from err
            raise
        entries = response.json()
        if not isinstance(entries, list) or len(entries) != len(chunk):
            return [
                DeliveryResult.unknown(m.key, f"unexpected batch reply: {response.text[:200]}")
                for m in chunk
            ]
        results = []
        for m, entry in zip(chunk, entries, strict=True):
            code = entry.get("ErrorCode", -1)
            if code == 0:
                results.append(DeliveryResult.sent(m.key, provider_id=entry.get("MessageID")))
            else:
                results.append(
                    DeliveryResult.failed(
                        m.key,
                        f"Postmark ErrorCode {code}: {entry.get('Message', '')}",
                        retryable=code in TRANSIENT_CODES,
                    )
                )
        return results

    def check(self) -> CheckResult:
        response = self.session.get(
            f"{self.base_url}/server", headers=self.auth_headers, timeout=self.timeout
        )
        if response.status_code in (401, 403, 422):
            return CheckResult(False, f"server_token refused: {describe_reply(response)}")
        if response.status_code != 200:
            return CheckResult(False, describe_reply(response))
        server = response.json().get("Name", "?")
        stream = self.cfg.message_stream
        reply = self.session.get(
            f"{self.base_url}/message-streams/{stream}",
            headers=self.auth_headers,
            timeout=self.timeout,
        )
        if reply.status_code != 200:
            return CheckResult(
                False, f"message stream {stream!r} not found: {describe_reply(reply)}"
            )
        kind = reply.json().get("MessageStreamType", "?")
        if kind != "Broadcasts":
            return CheckResult(
                False, f"stream {stream!r} is {kind}; digests must go on a Broadcasts stream"
            )
        return CheckResult(True, f"server {server!r}, broadcast stream {stream!r}")
