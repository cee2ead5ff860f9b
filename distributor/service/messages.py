"""One message outside an edition (a double opt-in mail): made safe for its headers and
sent through a configured mail transport, never through the ledger."""

from __future__ import annotations

from distributor.addresses import has_non_ascii_local_part
from distributor.config import Settings
from distributor.mail.base import build_mail_backend
from distributor.models import DeliveryResult, Message
from distributor.render.digest import header_safe

__all__ = ["header_safe", "send_one"]


def send_one(settings: Settings, transport: str, message: Message) -> DeliveryResult:
    """Send one message through a configured mail transport; ProviderError propagates."""
    backend = build_mail_backend(transport, settings)
    if has_non_ascii_local_part(message.recipient) and not backend.smtputf8:
        backend.close()
        return DeliveryResult.failed(
            message.key,
            f"address {message.recipient!r}: its local part is not ASCII and "
            f"{backend.provider} cannot send internationalized addresses (SMTPUTF8)",
            retryable=False,
        )
    try:
        results = backend.send_batch([message])
    finally:
        backend.close()
    if not results:
        return DeliveryResult.unknown(message.key, "transport returned no result")
    return results[0]
