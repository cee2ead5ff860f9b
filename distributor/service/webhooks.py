"""Provider webhooks' use cases: a provider's event, once, acted on (suppressions, soft
bounces, unsubscribes).  The web door checks the request's signature and parses the
provider's body into :class:`MailEvent` values; these functions do the rest."""

from __future__ import annotations

from datetime import datetime

from distributor.service.context import Context
from distributor.store import mail as _mail
from distributor.store.mail import EventKind, MailEvent

__all__ = ["EventKind", "MailEvent", "apply_event", "first_time"]


def first_time(ctx: Context, provider: str, event_id: str, now: datetime) -> bool:
    """Record ``event_id``; False when it was seen before (a replay)."""
    return _mail.first_time(ctx.store, provider, event_id, now)


def apply_event(ctx: Context, event: MailEvent, soft_threshold: int, now: datetime) -> str:
    """Act on one event; what was done, for the webhook's reply and logs."""
    return _mail.apply_event(ctx.store, event, soft_threshold, now)
