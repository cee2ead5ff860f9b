"""Store queries of the digest area (issue 4): the latest edition of a list."""

from __future__ import annotations

from sqlalchemy import select

from distributor.models import Edition
from distributor.store import schema as s
from distributor.store.repository import Store


def latest_edition(store: Store, list_name: str, language: str | None = None) -> Edition | None:
    """The newest edition of a list (in one language, if given), or None."""
    q = select(s.editions.c.id).where(s.editions.c.list_name == list_name)
    if language is not None:
        q = q.where(s.editions.c.language == language)
    q = q.order_by(s.editions.c.created_at.desc(), s.editions.c.id.desc()).limit(1)
    with store.engine.connect() as conn:
        found = conn.execute(q).scalar()
    return None if found is None else store.edition(int(found))


def latest_edition_of_subscriber(
    store: Store, list_name: str, subscriber_id: int
) -> Edition | None:
    """The newest edition of a list that has a delivery row for this subscriber, or None."""
    q = (
        select(s.editions.c.id)
        .join(s.deliveries, s.deliveries.c.edition_id == s.editions.c.id)
        .where(s.editions.c.list_name == list_name, s.deliveries.c.subscriber_id == subscriber_id)
        .order_by(s.editions.c.created_at.desc(), s.editions.c.id.desc())
        .limit(1)
    )
    with store.engine.connect() as conn:
        found = conn.execute(q).scalar()
    return None if found is None else store.edition(int(found))
