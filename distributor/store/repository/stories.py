"""Stories: upserted from the sources, read back for editions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select, update

from distributor.models import Story, StoryStatus
from distributor.store import schema as s
from distributor.store.repository.base import StoreBase
from distributor.store.repository.values import UpsertCounts


class StoryQueries(StoreBase):
    def upsert_stories(self, stories: Iterable[Story], now: datetime) -> UpsertCounts:
        """Insert new stories, update changed ones in place, leave the rest."""
        new = updated = unchanged = 0
        with self._tx() as conn:
            for story in stories:
                digest = _story_hash(story)
                values = {
                    "source": story.source,
                    "url": story.url,
                    "title": story.title,
                    "language": story.language,
                    "status": story.status.value,
                    "published_at": story.published_at,
                    "updated_at": story.updated_at,
                    "summary_html": story.summary_html,
                    "summary_text": story.summary_text,
                    "body_html": story.body_html,
                    "image_url": story.image_url,
                    "author": story.author,
                    "sections": list(story.sections),
                    "translation_group": story.translation_group,
                    "content_hash": digest,
                    "last_seen_at": now,
                }
                old = conn.execute(
                    select(s.stories.c.content_hash).where(s.stories.c.id == story.id)
                ).scalar_one_or_none()
                if old is None:
                    conn.execute(insert(s.stories).values(id=story.id, first_seen_at=now, **values))
                    new += 1
                elif old != digest:
                    conn.execute(
                        update(s.stories).where(s.stories.c.id == story.id).values(**values)
                    )
                    updated += 1
                else:
                    unchanged += 1
        return UpsertCounts(new, updated, unchanged)

    def published_stories(self, *, now: datetime, since: datetime) -> list[Story]:
        """Published stories whose publish time is in ``[since, now]``, newest first."""
        q = (
            select(s.stories)
            .where(
                s.stories.c.status == StoryStatus.PUBLISHED.value,
                s.stories.c.published_at.is_not(None),
                s.stories.c.published_at <= now,
                s.stories.c.published_at >= since,
            )
            .order_by(s.stories.c.published_at.desc(), s.stories.c.id)
        )
        with self.engine.connect() as conn:
            return [_row_to_story(r) for r in conn.execute(q)]

    def stories_by_id(self, ids: Sequence[str]) -> dict[str, Story]:
        if not ids:
            return {}
        with self.engine.connect() as conn:
            rows = conn.execute(select(s.stories).where(s.stories.c.id.in_(list(ids))))
            return {r.id: _row_to_story(r) for r in rows}

    def last_edition_at(self, list_name: str) -> datetime | None:
        q = select(func.max(s.editions.c.created_at)).where(s.editions.c.list_name == list_name)
        with self.engine.connect() as conn:
            return conn.execute(q).scalar_one_or_none()


def _story_hash(story: Story) -> str:
    payload = json.dumps(
        [
            story.url,
            story.title,
            story.language,
            story.status.value,
            story.published_at.isoformat() if story.published_at else None,
            story.summary_html,
            story.body_html,
            story.image_url,
            story.author,
            list(story.sections),
            story.translation_group,
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()


def _row_to_story(row: Any) -> Story:
    return Story(
        id=row.id,
        source=row.source,
        url=row.url,
        title=row.title,
        language=row.language,
        status=StoryStatus(row.status),
        published_at=row.published_at,
        updated_at=row.updated_at,
        summary_html=row.summary_html,
        summary_text=row.summary_text,
        body_html=row.body_html,
        image_url=row.image_url,
        author=row.author,
        sections=tuple(row.sections or ()),
        translation_group=row.translation_group,
    )
