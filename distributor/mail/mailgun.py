"""Mailgun: the messages API with ``recipient-variables`` (batch sending).

One call carries up to 1,000 recipients: the template goes once, with
``%recipient.vN%`` placeholders in the subject, the bodies and the personal
headers (``h:List-Unsubscribe`` ...), and ``recipient-variables`` maps each
address to its values, so Mailgun sends one individual message per
recipient.  Regions: ``us`` (api.mailgun.net) and ``eu`` (api.eu.mailgun.net);
``base_url`` overrides both.  Authentication: HTTP basic, user ``api``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from distributor.config import MailgunConfig, Settings
from distributor.mail.http import CheckResult, HttpMailBackend, describe_reply, grouped_chunks
from distributor.mail.merge import merge, reply_to
from distributor.models import DeliveryResult, Message

REGIONS = {"us": "https://api.mailgun.net", "eu": "https://api.eu.mailgun.net"}


class MailgunBackend(HttpMailBackend):
    provider = "mailgun"
    max_per_call = 1000
    default_base_url = REGIONS["us"]

    def __init__(self, name: str, config: Any, settings: Settings, **kwargs: Any) -> None:
        assert isinstance(config, MailgunConfig)
        if not config.base_url:
            config = config.model_copy(update={"base_url": REGIONS[config.region]})
        super().__init__(name, config, settings, **kwargs)
        self.cfg: MailgunConfig = config
        key = config.api_key.get_secret_value() if config.api_key else ""
        self.auth = ("api", key)

    def chunks(self, messages: Sequence[Message]) -> Iterator[Sequence[Message]]:
        return grouped_chunks(messages, self.max_per_call)

    def payload(self, chunk: Sequence[Message]) -> list[tuple[str, str]]:
        """The form fields of one batch call."""
        batch = merge(chunk, forbidden=("%recipient", "%unsubscribe_url%"))

        def ph(name: str) -> str:
            return f"%recipient.{name}%"

        first = chunk[0]
        from_header = next((v for k, v in first.headers if k.lower() == "from"), first.sender)
        data: list[tuple[str, str]] = [("from", from_header)]
        data += [("to", m.recipient) for m in chunk]
        data.append(("subject", batch.subject.render(ph)))
        if first.text:
            data.append(("text", batch.text.render(ph)))
        if first.html:
            data.append(("html", batch.html.render(ph)))
        if rt := reply_to(first):
            data.append(("h:Reply-To", rt))
        for name, template in batch.headers:
            data.append((f"h:{name}", template.render(ph)))
        variables = {m.recipient: values for m, values in zip(chunk, batch.values, strict=True)}
        data.append(("recipient-variables", json.dumps(variables, ensure_ascii=False)))
        return data

    def send_chunk(self, chunk: Sequence[Message]) -> list[DeliveryResult]:
        response = self.request(
            "POST",
            f"/v3/{self.cfg.domain}/messages",
            auth=self.auth,
            files=[(k, (None, v)) for k, v in self.payload(chunk)],
        )
        body = response.json() if response.content else {}
        provider_id = str(body.get("id", "")) or None
        return [DeliveryResult.sent(m.key, provider_id=provider_id) for m in chunk]

    def check(self) -> CheckResult:
        response = self.session.get(
            f"{self.base_url}/v3/domains/{self.cfg.domain}", auth=self.auth, timeout=self.timeout
        )
        if response.status_code in (401, 403):
            return CheckResult(False, f"api_key refused: {describe_reply(response)}")
        if response.status_code == 404:
            return CheckResult(False, f"domain {self.cfg.domain!r} is not in this account")
        if response.status_code != 200:
            return CheckResult(False, describe_reply(response))
        state = response.json().get("domain", {}).get("state", "unknown")
        ok = state == "active"
        return CheckResult(ok, f"domain {self.cfg.domain} is {state} ({self.base_url})")
