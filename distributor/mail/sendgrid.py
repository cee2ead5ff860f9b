"""SendGrid v3: ``/v3/mail/send`` with one personalization per recipient.

Up to 1,000 personalizations per request.  The bodies go once, with
``-dvN-`` substitution tags for the personal parts; each personalization
carries its recipient, its own subject and personal headers
(``List-Unsubscribe`` ...) and its ``substitutions`` (at most 10,000 bytes
each: a message whose values are larger goes in a request of its own, with
its full bodies).  A ``202 Accepted`` carries ``X-Message-Id``, kept as the
provider id of every message of the request.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from distributor.config import SendGridConfig, Settings
from distributor.errors import ProviderError, ProviderStopped
from distributor.mail.http import (
    CheckResult,
    HttpMailBackend,
    OutcomeUnknown,
    describe_reply,
    from_parts,
    grouped_chunks,
)
from distributor.mail.merge import custom_headers, merge, reply_to
from distributor.models import DeliveryResult, Message

MAX_SUBSTITUTION_BYTES = 10_000


class SendGridBackend(HttpMailBackend):
    provider = "sendgrid"
    max_per_call = 1000
    default_base_url = "https://api.sendgrid.com"

    def __init__(self, name: str, config: Any, settings: Settings, **kwargs: Any) -> None:
        super().__init__(name, config, settings, **kwargs)
        assert isinstance(config, SendGridConfig)
        key = config.api_key.get_secret_value() if config.api_key else ""
        self.auth_header = {"Authorization": f"Bearer {key}"}

    def chunks(self, messages: Sequence[Message]) -> Iterator[Sequence[Message]]:
        return grouped_chunks(messages, self.max_per_call)

    def payloads(self, chunk: Sequence[Message]) -> list[tuple[Sequence[Message], dict[str, Any]]]:
        """The request bodies for one chunk (one, unless values are too large)."""
        batch = merge(chunk, forbidden=("-dv",))
        fitting: list[int] = []
        alone: list[int] = []
        for i, values in enumerate(batch.values):
            body_vars = set(batch.text.variables) | set(batch.html.variables)
            size = sum(len(k) + len(v.encode()) for k, v in values.items() if k in body_vars)
            (fitting if size <= MAX_SUBSTITUTION_BYTES else alone).append(i)
        out: list[tuple[Sequence[Message], dict[str, Any]]] = []
        if fitting:
            body_vars = set(batch.text.variables) | set(batch.html.variables)
            personalizations = []
            for i in fitting:
                m = chunk[i]
                personalizations.append(
                    {
                        "to": [{"email": m.recipient}],
                        "subject": m.subject,
                        "headers": _personal_headers(m, batch.personal_headers()),
                        "substitutions": {
                            f"-d{k}-": v for k, v in batch.values[i].items() if k in body_vars
                        },
                        "custom_args": {"distributor_key": m.key},
                    }
                )
            body = self._envelope(chunk[0], batch.personal_headers())
            body["personalizations"] = personalizations
            body["content"] = _content(
                batch.text.render(lambda n: f"-d{n}-"), batch.html.render(lambda n: f"-d{n}-")
            )
            out.append(([chunk[i] for i in fitting], body))
        for i in alone:
            m = chunk[i]
            body = self._envelope(m, [])
            body["personalizations"] = [
                {"to": [{"email": m.recipient}], "custom_args": {"distributor_key": m.key}}
            ]
            body["content"] = _content(m.text, m.html)
            out.append(([m], body))
        return out

    def _envelope(self, message: Message, personal: list[str]) -> dict[str, Any]:
        name, email = from_parts(message)
        sender: dict[str, str] = {"email": email}
        if name:
            sender["name"] = name
        body: dict[str, Any] = {"from": sender, "subject": message.subject}
        common = {k: v for k, v in custom_headers(message) if k not in personal}
        if common:
            body["headers"] = common
        if rt := reply_to(message):
            body["reply_to"] = {"email": rt}
        return body

    def send_chunk(self, chunk: Sequence[Message]) -> list[DeliveryResult]:
        results: list[DeliveryResult] = []
        for messages, body in self.payloads(chunk):
            try:
                response = self.request(
                    "POST", "/v3/mail/send", json=body, headers=self.auth_header
                )
            except ProviderError as err:
                if not results:
                    raise
                # part of this chunk went out already: report the rest, never raise
                if isinstance(err, ProviderStopped):
                    # credentials or configuration refused: the rest gets no result
                    # and goes back to pending (see HttpMailBackend.send_calls)
                    self.stopped = err
                    return results
                results += [
                    DeliveryResult.unknown(m.key, err.reason)
                    if isinstance(err, OutcomeUnknown)
                    else DeliveryResult.failed(m.key, err.reason, retryable=err.retryable)
                    for m in messages
                ]
                continue
            provider_id = response.headers.get("X-Message-Id")
            results += [DeliveryResult.sent(m.key, provider_id=provider_id) for m in messages]
        return results

    def check(self) -> CheckResult:
        response = self.session.get(
            f"{self.base_url}/v3/scopes", headers=self.auth_header, timeout=self.timeout
        )
        if response.status_code in (401, 403):
            return CheckResult(False, f"api_key refused: {describe_reply(response)}")
        if response.status_code != 200:
            return CheckResult(False, describe_reply(response))
        scopes = response.json().get("scopes", [])
        if "mail.send" not in scopes:
            return CheckResult(False, "the API key lacks the mail.send permission")
        return CheckResult(True, f"API key has mail.send ({self.base_url})")


def _personal_headers(message: Message, names: list[str]) -> dict[str, str]:
    return {k: v for k, v in custom_headers(message) if k in names}


def _content(text: str, html: str) -> list[dict[str, str]]:
    content = []
    if text:
        content.append({"type": "text/plain", "value": text})
    if html:
        content.append({"type": "text/html", "value": html})
    return content
