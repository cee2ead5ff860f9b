"""What every group of the web app's queries holds: the store and its engine."""

from __future__ import annotations

from distributor.store.repository import Store


class WebQueries:
    """Queries over one :class:`Store`; :class:`~distributor.store.web.WebStore` joins
    the groups."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.engine = store.engine
