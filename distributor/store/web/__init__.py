"""Repository code of the web app and its CLI: subscribers' life cycle, editors, API tokens,
rate limits, idempotency keys, story flags and edition figures.

Everything takes the :class:`~distributor.store.Store` (its engine) and a time ``now``;
nothing here reads a clock.

:class:`WebStore` is one object over three groups of queries, one module each:
``readers`` (subscribers, suppressions, forgetting), ``access`` (rate limits, editors,
API tokens, idempotency keys) and ``desk`` (story flags, edition figures, posts); the
values they take and return are in ``values``.  Import from ``distributor.store.web``.
"""

from __future__ import annotations

from distributor.store.web.access import AccessQueries
from distributor.store.web.desk import DeskQueries
from distributor.store.web.readers import ReaderQueries
from distributor.store.web.values import (
    FORGOTTEN_PREFIX,
    FREQUENCIES,
    ROLES,
    SUPPRESSED,
    EditionFigures,
    Editor,
    Frequency,
    IdempotencyRecord,
    ImportResult,
    Preferences,
    Role,
    StoryRow,
    SubscriberEntry,
    email_hash,
    preferences_from,
    token_hash,
)


class WebStore(ReaderQueries, AccessQueries, DeskQueries):
    """The web app's queries over one :class:`Store`."""


__all__ = [
    "FORGOTTEN_PREFIX",
    "FREQUENCIES",
    "ROLES",
    "SUPPRESSED",
    "EditionFigures",
    "Editor",
    "Frequency",
    "IdempotencyRecord",
    "ImportResult",
    "Preferences",
    "Role",
    "StoryRow",
    "SubscriberEntry",
    "WebStore",
    "email_hash",
    "preferences_from",
    "token_hash",
]
