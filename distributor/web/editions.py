"""The next edition, previewed with the pipeline's own code; test sends; "send now".

The dashboard, the JSON API and the CLI all go through these functions.
Previews use :func:`distributor.pipeline.select` and
:class:`~distributor.render.digest.DigestRenderer` exactly as a run does, so an
editor sees what readers will get (only the personal parts differ).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from secrets import token_hex
from typing import Any

from distributor.config import Settings
from distributor.models import DeliveryResult, Edition, Message, Subscriber
from distributor.pipeline import edition_date_key, make_links
from distributor.pipeline import select as select_stories
from distributor.render.digest import DigestRenderer
from distributor.selection import EditionPlan
from distributor.service import Context
from distributor.service.daily import OnceOutcome as SendOutcome
from distributor.service.daily import send_list_now_once
from distributor.store import Store
from distributor.web.confirmation import send_one

Clock = Callable[[], datetime]


@dataclass(frozen=True, slots=True)
class NextEdition:
    list_name: str
    key: str
    language: str
    plan: EditionPlan

    @property
    def recipients(self) -> int:
        return len(self.plan.recipients)

    @property
    def segment(self) -> str:
        """The readers' topic segment of this variant, where selection makes segments."""
        return str(getattr(self.plan, "segment", "") or "")


@contextmanager
def web_context(settings: Settings, store: Store, clock: Clock) -> Iterator[Context]:
    """The service's context on the web app's store (left open) and clock."""
    with Context.open(settings, store=store, clock=clock) as ctx:
        yield ctx


def next_editions(settings: Settings, store: Store, clock: Clock) -> list[NextEdition]:
    """Per list and reader language: what the next run would send, with its recipients."""
    with web_context(settings, store, clock) as ctx:
        out = []
        now = clock()
        for list_name, cfg in settings.lists.items():
            key = store.next_edition_key(list_name, edition_date_key(now, cfg))
            for plan in select_stories(ctx, list_name, cfg):
                out.append(NextEdition(list_name, key, plan.language, plan))
        return out


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
    settings: Settings, ne: NextEdition, recipient: Subscriber, now: datetime, key: str
) -> Message:
    """The next edition rendered and personalized for one recipient, as a run would."""
    cfg = settings.lists[ne.list_name]
    stories = ne.plan.stories
    fields: dict[str, Any] = {
        "id": 0,
        "list_name": ne.list_name,
        "key": ne.key,
        "language": ne.language,
        "story_ids": tuple(s.id for s in stories),
        "created_at": now,
    }
    if "segment" in Edition.__dataclass_fields__:  # editions per topic segment
        fields["segment"] = ne.segment
    edition = Edition(**fields)
    renderer = DigestRenderer(settings)
    # the run's own share settings (UTM tags, networks): a preview is what is sent
    links = make_links(stories, f"{ne.list_name}-{ne.key}", settings.share)
    variant = renderer.render(edition, stories, links, cfg)
    if key.startswith("test/"):
        variant = dataclasses.replace(variant, subject=f"[TEST] {variant.subject}")
    return renderer.personalize(variant, recipient, key, cfg, now)


def test_send(
    settings: Settings, ne: NextEdition, email: str, now: datetime, sender_id: int
) -> DeliveryResult:
    """Send the next edition to one editor through the list's own transport.

    No ledger row is written: a test send is not a delivery of the edition.
    """
    recipient = Subscriber(id=0, email=email, name="", language=ne.language)
    key = f"test/{ne.list_name}/{ne.language}/{sender_id}-{int(now.timestamp())}-{token_hex(4)}"
    message = render_for(settings, ne, recipient, now, key)
    return send_one(settings, settings.lists[ne.list_name].mail, message)


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
