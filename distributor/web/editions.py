"""What the dashboard and the JSON API share of editions: the service's context on the
web app's store and clock, and thin calls into :mod:`distributor.service`.

Previews, test sends and "send now" are the service's own use cases
(:mod:`distributor.service.editions`, :mod:`distributor.service.daily`), so the
dashboard, the API and the CLI render and send exactly alike.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import TYPE_CHECKING

from distributor.config import Settings
from distributor.models import DeliveryResult, Message, Subscriber
from distributor.service import Context
from distributor.service import editions as service
from distributor.service.daily import OnceOutcome as SendOutcome
from distributor.service.daily import send_list_now_once
from distributor.service.editions import Upcoming as NextEdition

if TYPE_CHECKING:  # the web app's store is passed through, never used here
    from distributor.store import Store

Clock = Callable[[], datetime]
__all__ = ["NextEdition", "SendOutcome", "web_context"]


@contextmanager
def web_context(settings: Settings, store: Store, clock: Clock) -> Iterator[Context]:
    """The service's context on the web app's store (left open) and clock."""
    with Context.open(settings, store=store, clock=clock) as ctx:
        yield ctx


def next_editions(settings: Settings, store: Store, clock: Clock) -> list[NextEdition]:
    """Per list and reader variant: what the next run would send, with its readers."""
    with web_context(settings, store, clock) as ctx:
        return service.upcoming(ctx)


def find_next(
    settings: Settings,
    store: Store,
    clock: Clock,
    list_name: str,
    language: str,
    segment: str = "",
) -> NextEdition | None:
    for ne in next_editions(settings, store, clock):
        if (ne.list_name, ne.language, ne.segment) == (list_name, language, segment):
            return ne
    return None


def render_for(
    settings: Settings, store: Store, clock: Clock, ne: NextEdition, reader: Subscriber
) -> Message:
    """The next edition's variant rendered for ``reader``, exactly as a run would."""
    with web_context(settings, store, clock) as ctx:
        return service.preview_next(
            ctx, ne.list_name, language=ne.language, segment=ne.segment, reader=reader
        ).message


def test_send(
    settings: Settings, store: Store, clock: Clock, ne: NextEdition, email: str, by: str
) -> DeliveryResult:
    """A [TEST] copy of the next edition's variant to one editor (never in the ledger)."""
    with web_context(settings, store, clock) as ctx:
        out = service.test_send_next(
            ctx,
            ne.list_name,
            language=ne.language,
            segment=ne.segment,
            addresses=[email],
            by=by,
        )
    return out.results[0]


def send_now(
    settings: Settings,
    store: Store,
    clock: Clock,
    *,
    list_name: str,
    idempotency_key: str,
    scope: str,
    wait: float = 0.0,
) -> SendOutcome:
    """ "Send now" of a list at most once per (scope, key), recorded as a schedule slot
    (:func:`distributor.service.daily.send_list_now_once`)."""
    with web_context(settings, store, clock) as ctx:
        return send_list_now_once(ctx, list_name, key=idempotency_key, scope=scope, wait=wait)
