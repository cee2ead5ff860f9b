"""Typed errors, all under one root.

::

    DistributorError
    ├── ConfigError              the configuration is invalid (names the key)
    │   └── UnknownListError         a list name the configuration does not have
    ├── SourceError              one source could not be fetched or parsed
    │   └── HttpStatusError          the server answered an HTTP error status (``status``)
    ├── StoreError               the database could not be opened or migrated
    ├── RenderError              a template failed to render
    ├── ShareError               a share card or link could not be made
    ├── LinkError                a click link (``/r/<token>``) is forged, cut or too old
    ├── EditionError             an edition cannot do what was asked in its state
    │   ├── NotFoundError            no such edition (or story, list, ...)
    │   ├── EditionStateError        its state forbids it (approving a sent edition)
    │   └── ConflictError            someone else changed it first (optimistic versioning)
    ├── PostError                a queued social post cannot do what was asked
    │   ├── PostStateError           its state forbids it (editing a posted post)
    │   └── PostTextError            the network would refuse the text (over its limit)
    ├── AccountError             an editor account or API token cannot be changed as asked
    │                            (no such one; the last admin cannot go)
    ├── AddressError             one recipient's address cannot be sent (that recipient only)
    └── ProviderError            a mail transport or social channel failed as a whole
        ├── TransientProviderError   worth retrying later (timeouts, 4xx SMTP, 429, 5xx)
        ├── ProviderStopped          every further call would fail too: stop the provider
        │   │                        now and leave its unsent rows pending
        │   ├── AuthenticationError  credentials refused (401, 403)
        │   └── ProviderConfigError  the call itself is wrong (404, a missing endpoint)
        ├── OutcomeUnknown           sent, but no reply: it may have been accepted
        └── PermanentRecipientError  this one recipient can never be delivered

Per-recipient outcomes are *not* exceptions: transports return
:class:`distributor.models.DeliveryResult` values.  Exceptions are for failures
that stop a whole batch, a whole source or the whole command.
"""

from __future__ import annotations


class DistributorError(Exception):
    """Root of every error distributor raises on purpose."""


class ConfigError(DistributorError):
    """The configuration is invalid; the message names the offending key."""


class UnknownListError(ConfigError):
    """A list was asked for by a name the configuration does not have (a door answers 404)."""


class SourceError(DistributorError):
    """A source could not be fetched or parsed."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"source {source!r}: {message}")
        self.source = source
        self.reason = message


class AddressError(DistributorError):
    """One recipient's address cannot be sent; the rest of the edition goes on."""

    def __init__(self, address: str, message: str) -> None:
        super().__init__(f"address {address!r}: {message}")
        self.address = address
        self.reason = message


class HttpStatusError(SourceError):
    """A source's server answered with an HTTP error status (kept in ``status``)."""

    def __init__(self, source: str, message: str, status: int) -> None:
        super().__init__(source, message)
        self.status = status


class StoreError(DistributorError):
    """The database could not be opened or used."""


class RenderError(DistributorError):
    """A template could not be rendered."""


class ShareError(DistributorError):
    """A share card or share link could not be made."""


class LinkError(DistributorError):
    """A click link that cannot be followed; ``reason`` is ``bad``, ``expired`` or ``gone``."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class EditionError(DistributorError):
    """An edition cannot do what was asked: its state forbids it, or the input is wrong."""


class NotFoundError(EditionError):
    """No such edition (or story) exists."""


class EditionStateError(EditionError):
    """The edition's state forbids what was asked (editing one that is sending...)."""


class ConflictError(EditionError):
    """The edition changed since it was read: the caller's version is stale."""


class PostError(DistributorError):
    """A queued social post cannot do what was asked (issue 18).

    A missing post raises :class:`NotFoundError` and a stale version
    :class:`ConflictError`, as for editions."""


class PostStateError(PostError):
    """The post's state forbids what was asked (editing a post that went out)."""


class PostTextError(PostError):
    """The network would refuse this text: over its limit, or empty."""


class AccountError(DistributorError):
    """An editor account or API token cannot be changed as asked (no such one, the last
    admin)."""


class ProviderError(DistributorError):
    """A transport or channel failed for a whole batch.

    ``retryable`` says whether trying the same batch later may succeed;
    ``retry_after`` (seconds) is the provider's own hint when it gave one.
    """

    retryable: bool = False

    def __init__(
        self,
        provider: str,
        message: str,
        *,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{provider}: {message}")
        self.provider = provider
        self.reason = message
        self.retry_after = retry_after


class TransientProviderError(ProviderError):
    """A failure worth retrying later: connection refused, timeout, 4xx SMTP, 429, 5xx."""

    retryable = True


class ProviderStopped(ProviderError):
    """Every further call would fail the same way: stop using this provider now.

    Nothing is wrong with the recipients or posts, so none is failed for it: the
    rows not handed over go back to ``pending`` for a run after the fix.
    """


class AuthenticationError(ProviderStopped):
    """The provider refused our credentials; every further call would fail too."""


class ProviderConfigError(ProviderStopped):
    """The provider refused the call itself: a wrong ``base_url``, a region without
    the endpoint, a missing permission (HTTP 404, 405, 410, 401, 403).

    Every later call would fail the same way, so the provider is stopped and
    its rows stay ``pending`` for the next run once the configuration is fixed;
    no recipient is failed for it.  ``status`` is the HTTP status when there
    was one.
    """

    def __init__(self, provider: str, message: str, *, status: int | None = None) -> None:
        super().__init__(provider, message)
        self.status = status


class OutcomeUnknown(ProviderError):
    """The request was sent but no reply came: it may or may not have been accepted.

    Never retried for a call without an idempotency key; the post or message is
    recorded ``unknown`` and waits for an editor's decision.
    """


class PermanentRecipientError(ProviderError):
    """One recipient can never be delivered (bad address, hard bounce)."""
