"""Store queries of the sources and selection stages.

Functions over a :class:`~distributor.store.Store`: conditional-GET state per
source, selection candidates with their editorial flags, what each edition
variant already carried, and story listings for the CLI.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, insert, or_, select, update

from distributor.models import Story, StoryStatus
from distributor.selection import Candidate, SentHistory
from distributor.sources.base import Validators
from distributor.sources.normalize import normalized_title
from distributor.store import schema as s
from distributor.store.repository import Store, _row_to_story


def validators(store: Store, source: str, url: str) -> Validators | None:
    """The ETag / Last-Modified kept for ``source`` when it last read ``url``."""
    t = s.source_state
    with store.engine.connect() as conn:
        row = conn.execute(select(t).where(t.c.source == source, t.c.url == url)).first()
    if row is None:
        return None
    found = Validators(row.etag, row.last_modified)
    return found or None


def record_fetch(
    store: Store,
    source: str,
    url: str,
    *,
    now: datetime,
    outcome: str,
    kept: Validators | None = None,
) -> None:
    """Remember one fetch.  ``kept`` replaces the validators (``None`` keeps the old ones).

    Validators are only kept after the stories were stored, so a failed parse
    is fetched in full next time rather than answered 304.
    """
    t = s.source_state
    values: dict[str, Any] = {"url": url, "checked_at": now, "outcome": outcome[:500]}
    if kept is not None:
        values.update(etag=kept.etag, last_modified=kept.last_modified, changed_at=now)
    with store.engine.begin() as conn:
        row = conn.execute(select(t.c.url).where(t.c.source == source)).first()
        if row is None:
            conn.execute(insert(t).values(source=source, **values))
        else:
            if row.url != url and kept is None:
                values.update(etag=None, last_modified=None)
            conn.execute(update(t).where(t.c.source == source).values(**values))


def source_states(store: Store) -> dict[str, dict[str, Any]]:
    """The last fetch of every source, by name."""
    with store.engine.connect() as conn:
        return {r.source: dict(r._mapping) for r in conn.execute(select(s.source_state))}


def candidates(store: Store, *, now: datetime, since: datetime) -> list[Candidate]:
    """Published stories not in the future that selection may want.

    Those published since ``since``, first seen since then, or flagged for
    resending and updated since then.  Selection applies the exact rules.
    """
    t = s.stories
    q = select(t).where(
        t.c.status == StoryStatus.PUBLISHED.value,
        t.c.published_at.is_not(None),
        t.c.published_at <= now,
        or_(
            t.c.published_at >= since,
            t.c.first_seen_at >= since,
            and_(t.c.resend_updates.is_(True), t.c.updated_at >= since),
        ),
    )
    with store.engine.connect() as conn:
        return [
            Candidate(
                story=_row_to_story(r),
                first_seen_at=r.first_seen_at,
                pinned=bool(r.pinned),
                priority=int(r.priority or 0),
                resend=bool(r.resend_updates),
            )
            for r in conn.execute(q.order_by(t.c.published_at.desc(), t.c.id))
        ]


def last_weekly_edition_at(store: Store, list_name: str) -> datetime | None:
    """When the list last made a weekly variant (segments ``weekly`` and ``weekly/...``)."""
    e = s.editions
    q = select(func.max(e.c.created_at)).where(
        e.c.list_name == list_name, or_(e.c.segment == "weekly", e.c.segment.like("weekly/%"))
    )
    with store.engine.connect() as conn:
        result: datetime | None = conn.execute(q).scalar_one_or_none()
        return result


def sent_history(store: Store, list_name: str, language: str, segment: str) -> SentHistory:
    """What the earlier editions of one list variant carried."""
    e, es, st = s.editions, s.edition_stories, s.stories
    q = (
        select(es.c.group_key, e.c.created_at, st.c.url, st.c.title)
        .join(e, e.c.id == es.c.edition_id)
        .join(st, st.c.id == es.c.story_id)
        .where(e.c.list_name == list_name, e.c.language == language, e.c.segment == segment)
    )
    groups: dict[str, datetime] = {}
    urls: set[str] = set()
    titles: set[str] = set()
    with store.engine.connect() as conn:
        for group, created, url, title in conn.execute(q):
            if group not in groups or created > groups[group]:
                groups[group] = created
            urls.add(url)
            titles.add(normalized_title(title))
    return SentHistory(groups, frozenset(urls), frozenset(titles))


def set_flags(
    store: Store,
    story_id: str,
    *,
    pinned: bool | None = None,
    priority: int | None = None,
    resend: bool | None = None,
) -> bool:
    """Set editorial flags on a story (for editors' tools). False when there is no such story."""
    values: dict[str, Any] = {}
    if pinned is not None:
        values["pinned"] = pinned
    if priority is not None:
        values["priority"] = priority
    if resend is not None:
        values["resend_updates"] = resend
    if not values:
        return True
    with store.engine.begin() as conn:
        res = conn.execute(update(s.stories).where(s.stories.c.id == story_id).values(**values))
    return bool(res.rowcount)


def list_stories(
    store: Store, *, language: str | None = None, source: str | None = None, limit: int = 50
) -> list[tuple[Story, datetime]]:
    """Stored stories, newest first, with when each was first seen."""
    t = s.stories
    q = select(t).order_by(t.c.published_at.desc(), t.c.id).limit(limit)
    if language:
        q = q.where(or_(t.c.language == language, t.c.language.like(f"{language}-%")))
    if source:
        q = q.where(t.c.source == source)
    with store.engine.connect() as conn:
        return [(_row_to_story(r), r.first_seen_at) for r in conn.execute(q)]


EDITOR_FLAGS = ("pinned", "excluded", "priority", "resend_updates")


def editor_flags(store: Store, story_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The editors' flags of each story (``pinned``, ``excluded``, ``priority``,
    ``resend_updates``), typed as ``stories show`` shows them (booleans, a number)."""
    t = s.stories
    q = select(t.c.id, *(t.c[name] for name in EDITOR_FLAGS)).where(t.c.id.in_(story_ids))
    with store.engine.connect() as conn:
        return {
            r.id: {
                "pinned": bool(r.pinned),
                "excluded": bool(r.excluded),
                "priority": int(r.priority or 0),
                "resend_updates": bool(r.resend_updates),
            }
            for r in conn.execute(q)
        }


def story_row(store: Store, story_id: str) -> dict[str, Any] | None:
    """Everything stored about one story, and the editions that carried it."""
    with store.engine.connect() as conn:
        row = conn.execute(select(s.stories).where(s.stories.c.id == story_id)).first()
        if row is None:
            return None
        editions = conn.execute(
            select(
                s.editions.c.list_name,
                s.editions.c.key,
                s.editions.c.language,
                s.editions.c.segment,
            )
            .join(s.edition_stories, s.edition_stories.c.edition_id == s.editions.c.id)
            .where(s.edition_stories.c.story_id == story_id)
            .order_by(s.editions.c.id)
        ).all()
    data = dict(row._mapping)
    data.update(editor_flags(store, [story_id]).get(story_id, {}))  # typed like stories list
    data["editions"] = [
        "/".join(p for p in (r.list_name, r.key, r.language, r.segment) if p) for r in editions
    ]
    return data
