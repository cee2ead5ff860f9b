"""The desk's views: recent stories and their flags, edition figures, the posts ledger."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from sqlalchemy import and_, func, or_, select, update

from distributor.models import SubscriberStatus
from distributor.store import schema as s
from distributor.store.web.base import WebQueries
from distributor.store.web.values import (
    EditionFigures,
    StoryRow,
)


class DeskQueries(WebQueries):
    # ----------------------------------------------------------------- stories
    def recent_stories(self, since: datetime, limit: int = 200) -> list[StoryRow]:
        q = (
            select(s.stories)
            .where(or_(s.stories.c.published_at >= since, s.stories.c.pinned.is_(True)))
            .order_by(s.stories.c.published_at.desc(), s.stories.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [
                StoryRow(
                    r.id,
                    r.title,
                    r.url,
                    r.language,
                    r.published_at,
                    tuple(r.sections or ()),
                    bool(r.pinned),
                    bool(r.excluded),
                )
                for r in conn.execute(q)
            ]

    def set_story_flag(self, story_id: str, flag: Literal["pinned", "excluded"], on: bool) -> bool:
        values: dict[str, bool] = {flag: on}
        if on:  # pinned and excluded exclude each other
            values["excluded" if flag == "pinned" else "pinned"] = False
        with self.engine.begin() as conn:
            res = conn.execute(update(s.stories).where(s.stories.c.id == story_id).values(values))
        return bool(res.rowcount)

    def story_flags(self) -> tuple[set[str], set[str]]:
        """(pinned, excluded): story ids and translation groups, so a flag set on one
        version applies to its translations too."""
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(
                    s.stories.c.id,
                    s.stories.c.translation_group,
                    s.stories.c.pinned,
                    s.stories.c.excluded,
                ).where(or_(s.stories.c.pinned.is_(True), s.stories.c.excluded.is_(True)))
            ).all()
        pinned: set[str] = set()
        excluded: set[str] = set()
        for r in rows:
            keys = {r.id, r.translation_group or r.id}
            (pinned if r.pinned else excluded).update(keys)
        return pinned, excluded

    # ---------------------------------------------------------------- editions
    def edition_figures(
        self, *, list_name: str | None = None, edition_id: int | None = None, limit: int = 100
    ) -> list[EditionFigures]:
        """Editions, newest first, with their delivery figures.

        ``bounced``/``complained``: recipients now on the suppression list for
        that reason; ``unsubscribed``: recipients who left the list after this
        edition and before the next one of the same list and language.
        """
        q = select(s.editions).order_by(s.editions.c.created_at.desc(), s.editions.c.id.desc())
        if list_name:
            q = q.where(s.editions.c.list_name == list_name)
        if edition_id is not None:
            q = q.where(s.editions.c.id == edition_id)
        with self.engine.connect() as conn:
            eds = conn.execute(q.limit(limit)).all()
            out = []
            for e in eds:
                states: dict[str, int] = dict(
                    conn.execute(
                        select(s.deliveries.c.state, func.count())
                        .where(s.deliveries.c.edition_id == e.id)
                        .group_by(s.deliveries.c.state)
                    ).all()
                )
                n_stories = conn.execute(
                    select(func.count()).where(s.edition_stories.c.edition_id == e.id)
                ).scalar_one()
                reasons = conn.execute(
                    select(s.suppressions.c.reason)
                    .join(s.deliveries, s.deliveries.c.email == s.suppressions.c.email)
                    .where(s.deliveries.c.edition_id == e.id)
                ).scalars()
                bounced = complained = 0
                for reason in reasons:
                    low = reason.lower()
                    if low.startswith("bounce") or "hard bounce" in low:
                        bounced += 1
                    elif low.startswith("complain") or "spam" in low:
                        complained += 1
                next_at = conn.execute(
                    select(func.min(s.editions.c.created_at)).where(
                        s.editions.c.list_name == e.list_name,
                        s.editions.c.language == e.language,
                        s.editions.c.created_at > e.created_at,
                    )
                ).scalar_one_or_none()
                left = select(func.count()).select_from(
                    s.deliveries.join(
                        s.memberships,
                        and_(
                            s.memberships.c.subscriber_id == s.deliveries.c.subscriber_id,
                            s.memberships.c.list_name == e.list_name,
                        ),
                    )
                )
                left = left.where(
                    s.deliveries.c.edition_id == e.id,
                    s.memberships.c.status == SubscriberStatus.UNSUBSCRIBED.value,
                    s.memberships.c.updated_at >= e.created_at,
                )
                if next_at is not None:
                    left = left.where(s.memberships.c.updated_at < next_at)
                out.append(
                    EditionFigures(
                        id=e.id,
                        list_name=e.list_name,
                        key=e.key,
                        language=e.language,
                        created_at=e.created_at,
                        stories=n_stories,
                        recipients=sum(states.values()),
                        pending=states.get("pending", 0) + states.get("sending", 0),
                        sent=states.get("sent", 0),
                        failed=states.get("failed", 0),
                        unknown=states.get("unknown", 0),
                        bounced=bounced,
                        complained=complained,
                        unsubscribed=conn.execute(left).scalar_one(),
                    )
                )
        return out

    def posts(self, limit: int = 100) -> list[dict[str, Any]]:
        """The posts ledger, newest first, with each story's title and URL."""
        q = (
            select(
                s.posts,
                s.stories.c.title,
                s.stories.c.url,
                s.stories.c.language.label("story_language"),
            )
            .join(s.stories, s.stories.c.id == s.posts.c.story_id)
            .order_by(s.posts.c.updated_at.desc(), s.posts.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(q)]
