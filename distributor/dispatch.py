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
from dataclasses import dataclass, field
from datetime import datetime

from distributor.config import ListConfig
from distributor.errors import AuthenticationError, ProviderError, RenderError
from distributor.mail.base import MailBackend
from distributor.models import DeliveryResult, Edition, Post, ShareLink, Story
from distributor.render.digest import DigestRenderer
from distributor.social.base import SocialChannel
from distributor.store import ClaimedPost, Store
from distributor.store.mail import suppressed_among

Clock = Callable[[], datetime]
Progress = Callable[[int], None]
MAX_ATTEMPTS = 5


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

    def add(self, result: DeliveryResult, subject: str) -> None:
        if result.state == "sent":
            self.sent += 1
        elif result.state == "unknown":
            self.unknown += 1
            self.errors.append(f"{subject}: outcome unknown: {result.error}")
        else:
            self.failed += 1
            retry = " (will retry next run)" if result.retryable else ""
            self.errors.append(f"{subject}: {result.error}{retry}")


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
) -> DispatchOutcome:
    """Deliver every pending ledger row of one edition through one transport."""
    out = DispatchOutcome()
    out.recovered = store.recover_deliveries(edition.id, idempotent=backend.idempotent, now=clock())
    variant = renderer.render(edition, stories, links, list_config)
    if variant.shortening:
        out.warnings.append(variant.shortening.describe())
    while True:
        claimed = store.claim_deliveries(edition, backend.batch_size, clock())
        if not claimed:
            break
        messages = []
        results: list[DeliveryResult] = []
        by_key = {c.key: c for c in claimed}
        # an address suppressed since the edition was made (bounce, complaint) is not sent
        suppressed = suppressed_among(store, [c.subscriber.email for c in claimed])
        for c in claimed:
            if c.subscriber.email.lower() in suppressed:
                reason = f"suppressed: {suppressed[c.subscriber.email.lower()]}"
                results.append(DeliveryResult.failed(c.key, reason, retryable=False))
                continue
            try:
                messages.append(
                    renderer.personalize(
                        variant,
                        c.subscriber,
                        c.key,
                        list_config,
                        clock(),
                        parts=backend.needs_parts,
                    )
                )
            except RenderError as err:
                results.append(DeliveryResult.failed(c.key, str(err), retryable=False))
        try:
            results += backend.send_batch(messages)
        except ProviderError as err:
            # nothing of this batch was handed over: give the rows back and stop
            store.release_deliveries(claimed, clock())
            out.stopped = str(err)
            kind = "credentials refused" if isinstance(err, AuthenticationError) else "unavailable"
            out.errors.append(f"mail transport {backend.name} {kind}: {err.reason}")
            break
        store.record_deliveries(claimed, results, {m.key: m.message_id for m in messages}, clock())
        for r in results:
            out.add(r, by_key[r.key].subscriber.email if r.key in by_key else r.key)
        if progress:
            progress(len(claimed))
    out.left_pending = store.delivery_counts([edition.id]).pending
    return out


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
    while claimed := store.claim_posts(channel.name, 50, clock()):
        for c in claimed:
            post = compose(c)
            if post is None:
                result = DeliveryResult.failed(
                    c.key, f"story {c.story_id} is gone", retryable=False
                )
            else:
                try:
                    result = channel.publish(post)
                except AuthenticationError as err:
                    store.record_post(
                        c, DeliveryResult.failed(c.key, err.reason, retryable=True), clock()
                    )
                    out.failed += 1
                    out.stopped = str(err)
                    out.errors.append(f"channel {channel.name} credentials refused: {err.reason}")
                    return out
                except ProviderError as err:
                    result = DeliveryResult.failed(c.key, err.reason, retryable=err.retryable)
            store.record_post(c, result, clock())
            out.add(result, f"{channel.name} post of {c.story_id} ({c.language})")
            if progress:
                progress(1)
    return out
