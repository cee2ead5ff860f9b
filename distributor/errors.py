"""Typed errors, all under one root.

::

    DistributorError
    ├── ConfigError              the configuration is invalid (names the key)
    ├── SourceError              one source could not be fetched or parsed
    │   └── HttpStatusError          the server answered an HTTP error status (``status``)
    ├── StoreError               the database could not be opened or migrated
    ├── RenderError              a template failed to render
    ├── ShareError               a share card or link could not be made
    └── ProviderError            a mail transport or social channel failed as a whole
        ├── TransientProviderError   worth retrying later (timeouts, 4xx SMTP, 429, 5xx)
        ├── AuthenticationError      credentials refused: stop using this provider now
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


class SourceError(DistributorError):
    """A source could not be fetched or parsed."""

    def __init__(self, source: str, message: str) -> None:
        super().__init__(f"source {source!r}: {message}")
        self.source = source
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


class AuthenticationError(ProviderError):
    """The provider refused our credentials; every further call would fail too."""


class PermanentRecipientError(ProviderError):
    """One recipient can never be delivered (bad address, hard bounce)."""
