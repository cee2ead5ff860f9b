"""The database schema: where it stands and its migrations (``distributor db``).

Each function connects without migrating (unlike :meth:`Context.open`, which upgrades
when ``database_auto_upgrade`` is set), does what it says, and closes the connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from distributor.config import Settings
from distributor.store import Store, migrate
from distributor.store.migrate import SchemaStatus

__all__ = ["SchemaStatus", "differences", "stamp", "status", "upgrade"]


@contextmanager
def _connected(settings: Settings) -> Iterator[Store]:
    store = Store.connect(settings.database_url)
    try:
        yield store
    finally:
        store.close()


def status(settings: Settings) -> SchemaStatus:
    """The database's revision and the newest one this version knows."""
    with _connected(settings) as store:
        return migrate.status(store.engine)


def upgrade(settings: Settings) -> tuple[SchemaStatus, SchemaStatus]:
    """Bring the schema to the newest revision; the status before and after."""
    with _connected(settings) as store:
        before = migrate.status(store.engine)
        return before, migrate.upgrade(store.engine)


def differences(settings: Settings) -> list[Any]:
    """Where the schema differs from this version's tables (empty: it matches)."""
    with _connected(settings) as store:
        return migrate.differences(store.engine)


def stamp(settings: Settings, revision: str) -> SchemaStatus:
    """Record ``revision`` as the schema's revision without running migrations."""
    with _connected(settings) as store:
        return migrate.stamp(store.engine, revision)
