"""The ledger-driven delivery loop.

For mail: claim a batch of pending ledger rows (``pending -> sending``),
build each message, hand the batch to the transport, write every result.
For posts: the same, one post at a time, per channel.

A crash between claim and record leaves rows in ``sending``; the next run
turns them back to ``pending`` for idempotent transports and to ``unknown``
for the others, so nothing is resent blindly.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import partial
from typing import Any

from distributor.addresses import PLAIN_ADDRESS, sending_form
from distributor.config import ListConfig
from distributor.errors import (
    AddressError,
    AuthenticationError,
    OutcomeUnknown,
    ProviderConfigError,
    ProviderError,
    ProviderStopped,
    RenderError,
)
from distributor.mail.base import MailBackend
from distributor.mail.merge import TemplateBatch
from distributor.models import (
    DeliveryResult,
    DeliveryState,
    Edition,
    Message,
    Post,
    ShareLink,
    Story,
    Subscriber,
)
from distributor.render.batch import BatchTemplates
from distributor.render.digest import DigestRenderer, Variant
from distributor.social.base import SocialChannel
from distributor.store import ClaimedDelivery, ClaimedPost, Store

Clock = Callable[[], datetime]
Progress = Callable[[int], None]
MAX_ATTEMPTS = 5
#: the largest ledger row id (the column is a 32-bit integer): a bound for forward claims
_LAST_ID = 2**31 - 1
#: per-recipient error lines an outcome keeps; the rest are only counted
MAX_ERROR_LINES = 100


@dataclass
class DispatchOutcome:
    """What one delivery loop did; errors are one line each, with their cause."""

    sent: int = 0
    failed: int = 0
    unknown: int = 0
    recovered: int = 0
    left_pending: int = 0
    stopped: str | None = None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    #: error lines not kept (beyond :data:`MAX_ERROR_LINES`): memory stays bounded
    errors_left_out: int = 0

    def error(self, line: str) -> None:
        if len(self.errors) < MAX_ERROR_LINES:
            self.errors.append(line)
        else:
            self.errors_left_out += 1

    def add(self, result: DeliveryResult, subject: str) -> None:
        if result.state == "sent":
            self.sent += 1
        elif result.state == "unknown":
            self.unknown += 1
            self.error(f"{subject}: outcome unknown: {result.error}")
        else:
            self.failed += 1
            retry = " (will retry next run)" if result.retryable else ""
            self.error(f"{subject}: {result.error}{retry}")


@dataclass
class PreparedBatch:
    """One claimed batch made ready for its transport.

    ``results`` holds the outcomes known before sending (suppressed addresses,
    messages that cannot be rendered); ``messages`` are whole personalized
    messages and ``batch`` the readers a template API takes as values only.
    """

    results: list[DeliveryResult]
    messages: list[Message]
    batch: TemplateBatch | None

    @property
    def to_send(self) -> int:
        return len(self.messages) + (len(self.batch) if self.batch is not None else 0)


class BatchMaker:
    """Turns claimed ledger rows of one edition variant into a :class:`PreparedBatch`.

    Made once per edition (the batch template is built once); used by the
    in-process loop below and by the workers' batch tasks alike.
    """

    def __init__(
        self,
        store: Store,
        backend: MailBackend,
        renderer: DigestRenderer,
        variant: Variant,
        list_config: ListConfig,
    ) -> None:
        self.store, self.backend, self.renderer = store, backend, renderer
        self.variant, self.list_config = variant, list_config
        self.templates = (
            BatchTemplates(renderer, variant, list_config, getattr(backend, "forbidden", ()))
            if backend.templates
            else None
        )

    def prepare(self, claimed: Sequence[ClaimedDelivery], now: datetime) -> PreparedBatch:
        messages: list[Message] = []
        results: list[DeliveryResult] = []
        templates = self.templates
        batch = templates.batch() if templates is not None else None
        add = templates.add_reader if templates is not None else None
        plain = PLAIN_ADDRESS.fullmatch
        for c in claimed:
            email = c.email
            # an address suppressed since the edition was made (bounce, complaint) is not
            # sent: the claim read its suppression with the row (no look-up per batch)
            if c.suppressed is not None:
                reason = f"suppressed: {c.suppressed}"
                results.append(DeliveryResult.failed(c.key, reason, retryable=False))
                continue
            # nearly every address is plain ASCII: it is its own sending form
            simple = plain(email) is not None
            if not simple:
                # one bad row never stops a list: an address that cannot be sent fails alone
                try:
                    address = sending_form(email)
                except AddressError as err:
                    results.append(DeliveryResult.failed(c.key, str(err), retryable=False))
                    continue
                if address.smtputf8 and not self.backend.smtputf8:
                    reason = (
                        f"address {email!r}: its local part is not ASCII and "
                        f"{self.backend.provider} cannot send internationalized addresses "
                        "(SMTPUTF8)"
                    )
                    results.append(DeliveryResult.failed(c.key, reason, retryable=False))
                    continue
                email = address.address
            if (
                add is not None
                and batch is not None
                and add(batch, c.subscriber_id, email, c.name, c.key, simple)
            ):
                continue
            subscriber = Subscriber(c.subscriber_id, email, c.name, c.language)
            try:
                messages.append(
                    self.renderer.personalize(
                        self.variant,
                        subscriber,
                        c.key,
                        self.list_config,
                        now,
                        parts=self.backend.needs_parts,
                    )
                )
            except RenderError as err:
                results.append(DeliveryResult.failed(c.key, str(err), retryable=False))
        return PreparedBatch(results, messages, batch)

    def send(self, prepared: PreparedBatch) -> tuple[list[DeliveryResult], ProviderError | None]:
        """Hand the batch over: the results of the calls made, and the error that stopped
        the rest (nothing of a failed call was handed over; its rows have no result)."""
        results = list(prepared.results)
        calls: list[Callable[[], list[DeliveryResult]]] = []
        if prepared.messages:
            calls.append(partial(self.backend.send_batch, prepared.messages))
        if prepared.batch is not None and len(prepared.batch):
            calls.append(partial(self.backend.send_template, prepared.batch))
        for call in calls:
            try:
                results += call()
            except ProviderError as err:
                return results, err
            if self.backend.stopped is not None:
                # refused part way: what has no result was not handed over
                return results, self.backend.stopped
        return results, None


def deliver_edition(
    *,
    store: Store,
    backend: MailBackend,
    renderer: DigestRenderer,
    edition: Edition,
    stories: Sequence[Story],
    links: Mapping[str, Sequence[ShareLink]],
    list_config: ListConfig,
    clock: Clock,
    progress: Progress | None = None,
    pipelined: bool = True,
) -> DispatchOutcome:
    """Deliver every pending ledger row of one edition through one transport.

    ``pipelined``: the next batch is claimed and prepared while the one before is
    sent (False: one batch at a time, e.g. for a database only one thread can use).
    """
    out = DispatchOutcome()
    out.recovered = store.recover_deliveries(edition.id, idempotent=backend.idempotent, now=clock())
    variant = renderer.render(edition, stories, links, list_config)
    if variant.shortening:
        out.warnings.append(variant.shortening.describe())
    maker = BatchMaker(store, backend, renderer, variant, list_config)
    pipelined = pipelined and store.shared_by_threads

    def send_and_record(
        claimed: list[ClaimedDelivery], prepared: PreparedBatch
    ) -> tuple[list[ClaimedDelivery], list[DeliveryResult], ProviderError | None]:
        results, stopped = maker.send(prepared)
        if stopped is not None:
            done = {r.key for r in results}
            store.release_deliveries([c for c in claimed if c.key not in done], clock())
            claimed = [c for c in claimed if c.key in done]
        store.record_deliveries(claimed, results, clock())
        return claimed, results, stopped

    def account(
        done: tuple[list[ClaimedDelivery], list[DeliveryResult], ProviderError | None],
    ) -> bool:
        """Count one sent and recorded batch; True when its transport stopped."""
        claimed, results, stopped = done
        if stopped is not None:
            out.stopped = str(stopped)
            out.error(f"mail transport {backend.name} {_stop_kind(stopped)}: {stopped.reason}")
        by_key: dict[str, ClaimedDelivery] | None = None
        sent = DeliveryState.SENT
        for r in results:
            if r.state is sent:
                out.sent += 1
                continue
            if by_key is None:
                by_key = {c.key: c for c in claimed}
            out.add(r, by_key[r.key].email if r.key in by_key else r.key)
        if progress:
            progress(len(claimed))
        return stopped is not None

    # A pipeline two batches deep: while one batch is sent and recorded (in a thread
    # that mostly waits on the provider and the database), the next is claimed and
    # prepared here. Each row is still claimed (committed) before its send and
    # recorded after it; a batch waits for the one before to be recorded before it is
    # handed over, and a stopped transport gives the waiting batch back unsent.
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="send") as sender:
        in_flight: Future[Any] | None = None
        # Claims go forward from the last claimed id (keyset): the index scan then starts
        # past the rows already claimed (on PostgreSQL their old index entries linger
        # until vacuum, and a scan from the start would pass them all, batch after batch).
        # When nothing is left ahead, one claim from the start picks up rows given back
        # behind (released, recovered); the loop ends when that finds nothing either.
        after = 0
        while True:
            ahead = (after + 1, _LAST_ID) if after else None
            claimed = store.claim_deliveries(edition, backend.batch_size, clock(), id_range=ahead)
            if not claimed:
                if after:
                    after = 0
                    continue
                break
            after = max(c.id for c in claimed)
            try:
                prepared = maker.prepare(claimed, clock())
            except BaseException:
                store.release_deliveries(claimed, clock())
                raise
            if in_flight is not None:
                try:
                    stop = account(in_flight.result())
                except BaseException:  # the batch before failed to record: this one waits
                    store.release_deliveries(claimed, clock())
                    raise
                in_flight = None
                if stop:
                    store.release_deliveries(claimed, clock())
                    break
            in_flight = sender.submit(send_and_record, claimed, prepared)
            if not pipelined:
                stop = account(in_flight.result())
                in_flight = None
                if stop:
                    break
        if in_flight is not None:
            account(in_flight.result())
    out.left_pending = store.delivery_counts([edition.id]).pending
    return out


def _stop_kind(err: ProviderError) -> str:
    """How the run report names why a transport or channel stopped."""
    if isinstance(err, AuthenticationError):
        return "credentials refused"
    if isinstance(err, ProviderConfigError):
        return "configuration refused (its rows stay pending)"
    return "unavailable"


def publish_posts(
    *,
    store: Store,
    channel: SocialChannel,
    compose: Callable[[ClaimedPost], Post | None],
    clock: Clock,
    progress: Progress | None = None,
) -> DispatchOutcome:
    """Publish every pending post of one channel; one failing post never stops the rest."""
    out = DispatchOutcome()
    out.recovered = store.recover_posts(
        channel.name, idempotent=channel.idempotent, max_attempts=MAX_ATTEMPTS, now=clock()
    )
    redact: Callable[[str], str] | None = getattr(channel, "redact", None)
    while claimed := store.claim_posts(channel.name, 50, clock()):
        for i, c in enumerate(claimed):
            post = compose(c)
            if post is None:
                result = DeliveryResult.failed(
                    c.key, f"story {c.story_id} is gone", retryable=False
                )
            else:
                try:
                    result = channel.publish(post)
                except ProviderStopped as err:
                    # refused credentials or configuration: nothing of this post or the
                    # rest of the claimed batch went out; every row goes back to pending
                    store.release_posts(claimed[i:], clock())
                    out.left_pending += len(claimed) - i
                    out.stopped = str(err)
                    out.error(f"channel {channel.name} {_stop_kind(err)}: {err.reason}")
                    return out
                except OutcomeUnknown as err:
                    # sent, no reply: never posted again without an editor's decision
                    result = DeliveryResult.unknown(c.key, err.reason)
                except ProviderError as err:
                    result = DeliveryResult.failed(c.key, err.reason, retryable=err.retryable)
            if result.error and redact is not None:  # never a webhook URL or token stored
                result = replace(result, error=redact(result.error))
            store.record_post(c, result, clock())
            out.add(result, f"{channel.name} post of {c.story_id} ({c.language})")
            if progress:
                progress(1)
    return out
