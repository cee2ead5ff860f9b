"""The store: one object over one SQLAlchemy engine, passed to whoever needs it.

SQLite (a file under the data directory) is the default; any SQLAlchemy URL
works, PostgreSQL included.  Ledger claims use ``FOR UPDATE SKIP LOCKED``
where the database supports it.

:class:`Store` is one object over groups of queries, one module each, over one base
(``base``: the engine, transactions, opening a database): ``stories``, ``subscribers``
(subscribers and lists, suppressions, reader profiles), ``editions`` (editions made with
their ledger), ``deliveries`` (the delivery ledger and its bulk writer), ``posts`` (the
posts ledger) and ``runs``; the values they take and return are in ``values``.  Import
from ``distributor.store.repository`` (or ``distributor.store``).
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import create_engine, event
from sqlalchemy.exc import SQLAlchemyError

from distributor.errors import StoreError
from distributor.store.repository.base import (
    StoreBase,
    _bring_schema_to_head,
    _safe_url,
    _sqlite_pragmas,
)
from distributor.store.repository.deliveries import LedgerQueries
from distributor.store.repository.editions import EditionQueries, edition_of_row
from distributor.store.repository.posts import PostQueries
from distributor.store.repository.runs import RunQueries
from distributor.store.repository.stories import StoryQueries, _row_to_story
from distributor.store.repository.subscribers import (
    SubscriberQueries,
    add_membership,
    membership_status,
    subscriber_row,
)
from distributor.store.repository.values import (
    ClaimedDelivery,
    ClaimedPost,
    IdRange,
    LedgerCounts,
    NewVariant,
    NotBefore,
    ReaderProfile,
    UpsertCounts,
    VariantOf,
    delivery_key,
    post_key,
)


class Store(
    StoryQueries, SubscriberQueries, EditionQueries, LedgerQueries, PostQueries, RunQueries
):
    """Repository over one engine. Create with :meth:`open`; close with :meth:`close`."""

    @classmethod
    def open(cls, url: str, *, upgrade: bool = True) -> Store:
        """Open the database at ``url`` and bring its schema to the newest revision.

        ``upgrade=False`` migrates nothing and refuses a database that is behind (for
        deployments that run ``distributor db upgrade`` themselves).
        """
        store = cls.connect(url)
        try:
            _bring_schema_to_head(store.engine, upgrade=upgrade)
        except StoreError as err:
            store.close()
            raise StoreError(f"cannot open database {_safe_url(url)}: {err}") from err
        return store

    @classmethod
    def connect(cls, url: str) -> Store:
        """The store over ``url`` without touching its schema (``distributor db`` uses it)."""
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        try:
            engine = create_engine(url, future=True)
        except (SQLAlchemyError, ImportError, ValueError) as err:
            raise StoreError(f"cannot open database {_safe_url(url)}: {err}") from err
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        return cls(engine)


__all__ = [
    "ClaimedDelivery",
    "ClaimedPost",
    "EditionQueries",
    "IdRange",
    "LedgerCounts",
    "LedgerQueries",
    "NewVariant",
    "NotBefore",
    "PostQueries",
    "ReaderProfile",
    "RunQueries",
    "Store",
    "StoreBase",
    "StoryQueries",
    "SubscriberQueries",
    "UpsertCounts",
    "VariantOf",
    "_row_to_story",
    "add_membership",
    "delivery_key",
    "edition_of_row",
    "membership_status",
    "post_key",
    "subscriber_row",
]
