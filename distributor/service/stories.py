"""Stories: fetch the sources, list and show what is stored, inspect one location
(``distributor stories fetch|list|show|inspect``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from distributor import pipeline
from distributor.config import Settings
from distributor.errors import ConfigError
from distributor.models import Story
from distributor.report import RunReport
from distributor.service.context import Context, http_session
from distributor.sources.inspect import Inspection, inspect_location, story_dict
from distributor.store import sources as source_store

__all__ = ["Inspection", "fetch", "inspect", "listing", "show", "story_dict"]


def fetch(ctx: Context, only: str | None = None) -> RunReport:
    """Fetch every enabled source (or ``only`` this one, even if disabled) and store its
    stories; the per-source report."""
    report = RunReport(started_at=ctx.clock().isoformat(), dry_run=False)
    pipeline.fetch_sources(ctx, report, only)
    return report


def listing(
    ctx: Context, *, language: str | None = None, source: str | None = None, limit: int = 50
) -> list[tuple[Story, datetime]]:
    """Stored stories, newest first, with when each was first seen."""
    return source_store.list_stories(ctx.store, language=language, source=source, limit=limit)


def editor_flags(ctx: Context, story_ids: list[str]) -> dict[str, dict[str, Any]]:
    """The editor's flags of each story (pinned, excluded, priority, resend_updates), typed
    as ``show`` gives them."""
    return source_store.editor_flags(ctx.store, story_ids)


def show(ctx: Context, story_id: str) -> dict[str, Any] | None:
    """Everything stored about one story, and the editions that carried it."""
    return source_store.story_row(ctx.store, story_id)


def inspect(
    settings: Settings,
    location: str,
    *,
    now: datetime,
    kind: str | None = None,
    like: str | None = None,
) -> Inspection:
    """Read one feed, API page or folder as distributor would; stores nothing (no
    database is opened)."""
    if like is not None and like not in settings.sources:
        known = ", ".join(sorted(settings.sources))
        raise ConfigError(f"no source named {like!r} (known: {known})")
    with http_session() as session:
        return inspect_location(
            location, settings=settings, session=session, now=now, kind=kind, like=like
        )
