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
from functools import partial
from typing import Any

from distributor.config import MailgunConfig, Settings
from distributor.mail.http import (
    CheckResult,
    FormValue,
    HttpMailBackend,
    describe_reply,
    grouped_chunks,
    multipart_form,
)
from distributor.mail.merge import TemplateBatch, merge
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

    #: takes a :class:`TemplateBatch` straight from the renderer (see ``send_template``)
    templates = True
    forbidden = ("%recipient", "%unsubscribe_url%")

    def chunks(self, messages: Sequence[Message]) -> Iterator[Sequence[Message]]:
        return grouped_chunks(messages, self.max_per_call)

    def payload(self, chunk: Sequence[Message]) -> list[tuple[str, FormValue]]:
        """The form fields of one batch call of whole messages (factored by :func:`merge`)."""
        return self.template_payload(TemplateBatch.of(merge(chunk, forbidden=self.forbidden)))

    def template_payload(self, batch: TemplateBatch) -> list[tuple[str, FormValue]]:
        """The form fields of one batch call (``to`` repeated, once per recipient)."""

        def ph(name: str) -> str:
            return f"%recipient.{name}%"

        data: list[tuple[str, FormValue]] = [("from", batch.from_header), ("to", batch.recipients)]
        data.append(("subject", batch.subject.render(ph)))
        if batch.text.parts:
            data.append(("text", batch.text.render(ph)))
        if batch.html.parts:
            data.append(("html", batch.html.render(ph)))
        if batch.reply_to:
            data.append(("h:Reply-To", batch.reply_to))
        for name, template in batch.headers:
            data.append((f"h:{name}", template.render(ph)))
        variables = dict(zip(batch.recipients, batch.values, strict=True))
        # flat dicts of strings: no cycle to look for (7 % of the encoding)
        text = json.dumps(variables, ensure_ascii=False, check_circular=False)
        data.append(("recipient-variables", text))
        return data

    def send_chunk(self, chunk: Sequence[Message]) -> list[DeliveryResult]:
        return self._post(self.payload(chunk), [m.key for m in chunk])

    def send_template(self, batch: TemplateBatch) -> list[DeliveryResult]:
        """Send a template batch, in calls of at most 1,000 recipients (same failure
        handling as :meth:`send_batch`)."""
        step = self.max_per_call
        calls = [batch.slice(i, i + step) for i in range(0, len(batch), step)]
        return self.send_calls((part.keys, partial(self._send_part, part)) for part in calls)

    def _send_part(self, part: TemplateBatch) -> list[DeliveryResult]:
        return self._post(self.template_payload(part), part.keys)

    def _post(
        self, fields: list[tuple[str, FormValue]], keys: Sequence[str]
    ) -> list[DeliveryResult]:
        body, content_type = multipart_form(fields)
        response = self.request(
            "POST",
            f"/v3/{self.cfg.domain}/messages",
            auth=self.auth,
            data=body,
            headers={"Content-Type": content_type},
        )
        reply = response.json() if response.content else {}
        provider_id = str(reply.get("id", "")) or None
        return DeliveryResult.all_sent(keys, provider_id)

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
