"""What the dashboard and the JSON API share of editions: thin calls into
:mod:`distributor.service`, each on a service context of the app's own
(:meth:`~distributor.web.common.Deps.context`: its store, clock and network facts).

Previews, test sends and "send now" are the service's own use cases
(:mod:`distributor.service.editions`, :mod:`distributor.service.daily`), so the
dashboard, the API and the CLI render and send exactly alike.
"""

from __future__ import annotations

from distributor.models import DeliveryResult, Message, Subscriber
from distributor.service import editions as service
from distributor.service.daily import OnceOutcome as SendOutcome
from distributor.service.daily import send_list_now_once
from distributor.service.editions import Upcoming as NextEdition
from distributor.web.common import Deps

__all__ = [
    "NextEdition",
    "SendOutcome",
    "find_next",
    "next_editions",
    "render_for",
    "send_now",
    "test_send",
]


def next_editions(d: Deps) -> list[NextEdition]:
    """Per list and reader variant: what the next run would send, with its readers."""
    with d.context() as ctx:
        return service.upcoming(ctx)


def find_next(d: Deps, list_name: str, language: str, segment: str = "") -> NextEdition | None:
    for ne in next_editions(d):
        if (ne.list_name, ne.language, ne.segment) == (list_name, language, segment):
            return ne
    return None


def render_for(d: Deps, ne: NextEdition, reader: Subscriber) -> Message:
    """The next edition's variant rendered for ``reader``, exactly as a run would."""
    with d.context() as ctx:
        return service.preview_next(
            ctx, ne.list_name, language=ne.language, segment=ne.segment, reader=reader
        ).message


def test_send(d: Deps, ne: NextEdition, email: str, by: str) -> DeliveryResult:
    """A [TEST] copy of the next edition's variant to one editor (never in the ledger)."""
    with d.context() as ctx:
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
    d: Deps, *, list_name: str, idempotency_key: str, scope: str, wait: float = 0.0
) -> SendOutcome:
    """ "Send now" of a list at most once per (scope, key), recorded as a schedule slot
    (:func:`distributor.service.daily.send_list_now_once`)."""
    with d.context() as ctx:
        return send_list_now_once(ctx, list_name, key=idempotency_key, scope=scope, wait=wait)
