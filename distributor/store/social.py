"""Queries of the social area (issue 6): the translations of a story."""

from __future__ import annotations

from sqlalchemy import or_, select

from distributor.models import Story, StoryStatus
from distributor.store import schema as s
from distributor.store.repository import Store, _row_to_story


def translations_of(store: Store, story: Story) -> list[Story]:
    """The published stories of ``story``'s translation group, ``story`` included,
    ordered by language then id."""
    group = story.group
    q = (
        select(s.stories)
        .where(
            or_(s.stories.c.translation_group == group, s.stories.c.id == group),
            s.stories.c.status == StoryStatus.PUBLISHED.value,
        )
        .order_by(s.stories.c.language, s.stories.c.id)
    )
    with store.engine.connect() as conn:
        found = [_row_to_story(r) for r in conn.execute(q)]
    if all(t.id != story.id for t in found):
        found.append(story)
    return found
