"""The next edition, previewed with the pipeline's own code; test sends; "send now".

The dashboard, the JSON API and the CLI all go through these functions.
Previews use :func:`distributor.pipeline.select` and
:class:`~distributor.render.digest.DigestRenderer` exactly as a run does, so an
editor sees what readers will get (only the personal parts differ).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from secrets import token_hex
from typing import Any

import requests

from distributor.config import Settings
from distributor.errors import ConfigError
from distributor.models import DeliveryResult, Edition, Message, Subscriber
from distributor.pipeline import Context, edition_date_key, make_links, run
from distributor.pipeline import select as select_stories
from distributor.render.digest import DigestRenderer
from distributor.selection import EditionPlan
from distributor.sources.base import USER_AGENT
from distributor.store import Store
from distributor.store.web import WebStore
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


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What a "send now" did, or, for a repeated key, what the first call did."""

    key: str
    replayed: bool
    in_progress: bool
    response: dict[str, Any] | None
    conflict: bool = False


def make_context(settings: Settings, store: Store, clock: Clock) -> Context:
    session = requests.Session()
    session.headers["User-Agent"] = USER_AGENT
    return Context(settings=settings, store=store, session=session, clock=clock)


def close_context(ctx: Context) -> None:
    ctx.close()
    ctx.session.close()


def next_editions(settings: Settings, store: Store, clock: Clock) -> list[NextEdition]:
    """Per list and reader language: what the next run would send, with its recipients."""
    ctx = make_context(settings, store, clock)
    try:
        out = []
        now = clock()
        for list_name, cfg in settings.lists.items():
            key = store.next_edition_key(list_name, edition_date_key(now, cfg))
            for plan in select_stories(ctx, list_name, cfg):
                out.append(NextEdition(list_name, key, plan.language, plan))
        return out
    finally:
        close_context(ctx)


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
    links = make_links(stories, campaign=f"{ne.list_name}-{ne.key}")
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


def request_hash(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


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
    """Run the job for one list, at most once per (scope, key).

    The key is claimed in the database (unique constraint) before anything
    runs: a double click or a retry with the same key gets the first call's
    result, never a second run: it waits up to ``wait`` seconds (the dashboard:
    a minute; the API: none, it answers 409) for a first
    call still running, then answers "in progress".  The delivery ledger
    prevents duplicate mail even across different keys.
    """
    if list_name not in settings.lists:
        known = ", ".join(sorted(settings.lists))
        raise ConfigError(f"no list named {list_name!r} (known: {known})")
    web = WebStore(store)
    digest = request_hash({"list": list_name})
    earlier = web.claim_idempotency_key(scope, idempotency_key, digest, clock())
    if earlier is not None and earlier.status != "done" and earlier.request_hash == digest:
        # a double click or an impatient retry: show the first call's result when it ends
        deadline = time.monotonic() + wait
        while earlier is not None and earlier.status != "done" and time.monotonic() < deadline:
            time.sleep(0.2)
            earlier = web.idempotency_record(scope, idempotency_key)
    if earlier is not None:
        return SendOutcome(
            idempotency_key,
            replayed=True,
            in_progress=earlier.status != "done",
            response=earlier.response,
            conflict=earlier.request_hash != digest,
        )
    ctx = make_context(settings, store, clock)
    try:
        report = run(ctx, list_names=[list_name])
        response = {"list": list_name, "ok": report.ok, "report": report.to_dict()}
    except Exception as err:
        response = {"list": list_name, "ok": False, "error": f"{type(err).__name__}: {err}"}
        web.finish_idempotency_key(scope, idempotency_key, response)
        raise
    finally:
        close_context(ctx)
    web.finish_idempotency_key(scope, idempotency_key, response)
    return SendOutcome(idempotency_key, replayed=False, in_progress=False, response=response)
