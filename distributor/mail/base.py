"""The mail transport interface.

``send_batch`` returns one :class:`DeliveryResult` per message: sent, failed
(``retryable`` or not) or unknown.  It raises :class:`ProviderError` only for
a failure of the whole batch (the server cannot be reached, credentials are
refused), in which case no message of the batch was handed over.

When credentials or the configuration are refused part way through a batch
(:class:`~distributor.errors.ProviderStopped`), the backend sets
:attr:`MailBackend.stopped` and returns results only for what it handed over;
the dispatcher gives the other rows back (``pending``).
"""

from __future__ import annotations

import abc
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from distributor.config import Settings
from distributor.errors import ProviderError
from distributor.mail.merge import TemplateBatch
from distributor.models import DeliveryResult, Message
from distributor.registry import mail_backend_class


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What ``distributor providers check`` says about one provider."""

    ok: bool
    detail: str


class MailBackend(abc.ABC):
    provider: ClassVar[str]
    #: a resend after a crash cannot deliver twice (file outbox, idempotency keys)
    idempotent: ClassVar[bool] = False
    #: reads ``Message.text``/``html`` (HTTP APIs); False: sends ``Message.raw`` only
    needs_parts: ClassVar[bool] = True
    #: takes a template batch straight from the renderer (:meth:`send_template`)
    templates: ClassVar[bool] = False
    #: can carry an address whose local part is not ASCII (RFC 6531 SMTPUTF8); a
    #: transport that cannot fails those recipients, one by one, with the reason
    smtputf8: ClassVar[bool] = False
    batch_size: int = 100

    def __init__(self, name: str, config: Any, settings: Settings) -> None:
        self.name = name
        self.config = config
        self.settings = settings
        #: set when credentials or configuration were refused: every later call would fail
        self.stopped: ProviderError | None = None

    @abc.abstractmethod
    def send_batch(self, messages: Sequence[Message]) -> list[DeliveryResult]: ...

    def send_template(self, batch: TemplateBatch) -> list[DeliveryResult]:
        """One template and each recipient's values; only where ``templates`` is True."""
        raise NotImplementedError(f"{self.provider} takes whole messages only")

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default holds none."""

    def check(self) -> CheckResult:
        """Verify settings and credentials with the cheapest read-only step there is."""
        return CheckResult(True, "nothing to check")


def build_mail_backend(name: str, settings: Settings) -> MailBackend:
    config = settings.mail[name]
    cls = mail_backend_class(config.provider)
    backend = cls(name, config, settings)
    assert isinstance(backend, MailBackend)
    return backend
