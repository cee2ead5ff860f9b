"""Readers, editors and API tokens: what the reader pages, the dashboard, the JSON API
and ``distributor subscribers|editors|tokens`` do with them, on one :class:`Context`.

Each function is one step of those doors' use cases (sign up, confirm, change
preferences, unsubscribe, import, forget; an editor's login; a token's check), over the
web area's repository (``store/web/``).  The values it takes and gives are plain:
:class:`~distributor.models.Subscriber`, :class:`Preferences`, :class:`SubscriberEntry`,
:class:`EditionFigures`, :class:`Editor`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Literal

from distributor.models import Subscriber
from distributor.service.context import Context
from distributor.store.web import (
    FREQUENCIES,
    ROLES,
    SUPPRESSED,
    EditionFigures,
    Editor,
    ImportResult,
    Preferences,
    StoryRow,
    SubscriberEntry,
    WebStore,
    email_hash,
    preferences_from,
)

__all__ = [
    "FREQUENCIES",
    "ROLES",
    "SUPPRESSED",
    "EditionFigures",
    "Editor",
    "ImportResult",
    "Preferences",
    "StoryRow",
    "SubscriberEntry",
    "email_hash",
    "preferences_from",
]


def _web(ctx: Context) -> WebStore:
    return WebStore(ctx.store)


# ------------------------------------------------------------------ readers
def subscriber(ctx: Context, subscriber_id: int) -> Subscriber | None:
    """One reader by id."""
    return _web(ctx).subscriber(subscriber_id)


def subscriber_by_email(ctx: Context, email: str) -> Subscriber | None:
    """One reader by address."""
    return _web(ctx).subscriber_by_email(email)


def entries(
    ctx: Context,
    *,
    list_name: str | None = None,
    query: str | None = None,
    status: str | None = None,
    limit: int | None = None,
    offset: int = 0,
) -> list[SubscriberEntry]:
    """Readers with their status per list, filtered (the dashboard, the API, export)."""
    return _web(ctx).entries(
        list_name=list_name, query=query, status=status, limit=limit, offset=offset
    )


def count_by_status(ctx: Context, list_name: str) -> dict[str, int]:
    """How many readers of a list are pending, subscribed, unsubscribed, suppressed."""
    return _web(ctx).count_by_status(list_name)


def membership(ctx: Context, subscriber_id: int, list_name: str) -> str | None:
    """A reader's status on one list (``None``: never on it)."""
    return _web(ctx).membership(subscriber_id, list_name)


def frequency(ctx: Context, subscriber_id: int) -> str:
    """``daily`` or ``weekly``."""
    return _web(ctx).frequency(subscriber_id)


def suppression_reason(ctx: Context, email: str) -> str | None:
    """Why an address is suppressed (a bounce, a complaint, forgotten), or ``None``."""
    return _web(ctx).suppression_reason(email)


def add(ctx: Context, list_name: str, sub: Subscriber, frequency: str) -> tuple[str, int | None]:
    """Add a reader (never re-adds a suppressed or unsubscribed one): the outcome and id."""
    return _web(ctx).add(list_name, sub, frequency, ctx.clock())


def import_rows(
    ctx: Context, list_name: str, rows: Iterable[Subscriber], frequency: str = "daily"
) -> ImportResult:
    """Import readers; duplicates, suppressed and unsubscribed addresses are refused."""
    return _web(ctx).import_rows(list_name, rows, ctx.clock(), frequency)


def start_signup(ctx: Context, list_name: str, email: str, prefs: Preferences) -> tuple[int, str]:
    """A pending sign-up (double opt-in): the reader's id and their status before."""
    return _web(ctx).start_signup(list_name, email, prefs, ctx.clock())


def confirm(ctx: Context, subscriber_id: int, list_name: str, prefs: Preferences | None) -> str:
    """Subscribe a reader who confirmed; the new status (``suppressed`` when the address
    is)."""
    return _web(ctx).confirm(subscriber_id, list_name, prefs, ctx.clock())


def lift_forgotten(ctx: Context, email: str) -> None:
    """A forgotten address whose reader came back and confirmed again."""
    _web(ctx).lift_forgotten(email)


def update_preferences(ctx: Context, subscriber_id: int, prefs: Preferences) -> None:
    """A reader's language, time zone, topics, frequency and name."""
    _web(ctx).update_preferences(subscriber_id, prefs)


def unsubscribe(ctx: Context, subscriber_id: int, list_name: str) -> bool:
    """Unsubscribe a reader from one list; False when they were not on it."""
    return _web(ctx).unsubscribe(subscriber_id, list_name, ctx.clock())


def forget(ctx: Context, email: str) -> bool:
    """Erase a reader (GDPR): the address is kept only as a suppressed hash."""
    return _web(ctx).forget(email, ctx.clock())


def rate_limited_hit(ctx: Context, bucket: str, *, limit: int, window: timedelta) -> bool:
    """Count one hit in ``bucket``; False when it is over ``limit`` in ``window``."""
    return _web(ctx).rate_limited_hit(bucket, limit=limit, window=window, now=ctx.clock())


# ---------------------------------------------------------- the newsroom's view
def edition_figures(
    ctx: Context, *, list_name: str | None = None, edition_id: int | None = None, limit: int = 100
) -> list[EditionFigures]:
    """Sent editions with their delivery figures, newest first."""
    return _web(ctx).edition_figures(list_name=list_name, edition_id=edition_id, limit=limit)


def edition_story_ids(ctx: Context, edition_id: int) -> list[str]:
    """The stories of one sent edition, in order."""
    return list(ctx.store.edition(edition_id).story_ids)


def recent_stories(ctx: Context, since: datetime, limit: int = 200) -> list[StoryRow]:
    """Stories seen since ``since``, with their pin and exclusion flags."""
    return _web(ctx).recent_stories(since, limit)


def set_story_flag(
    ctx: Context, story_id: str, flag: Literal["pinned", "excluded"], on: bool
) -> bool:
    """Pin a story or keep it out of the next edition; False for an unknown story."""
    return _web(ctx).set_story_flag(story_id, flag, on)


# ------------------------------------------------------------ editors, tokens
def editor(ctx: Context, editor_id: int) -> Editor | None:
    return _web(ctx).editor(editor_id)


def editor_by_email(ctx: Context, email: str) -> Editor | None:
    return _web(ctx).editor_by_email(email)


def editor_logged_in(ctx: Context, editor_id: int) -> None:
    """Record an editor's login time."""
    _web(ctx).editor_logged_in(editor_id, ctx.clock())


def add_editor(ctx: Context, email: str, password_hash: str, role: str) -> bool:
    """A new editor account; False when the address has one."""
    return _web(ctx).add_editor(email, password_hash, role, ctx.clock())


def create_api_token(ctx: Context, name: str) -> str:
    """A new API token (shown once; only its hash is kept)."""
    return _web(ctx).create_api_token(name, ctx.clock())


def api_token_name(ctx: Context, token: str) -> str | None:
    """The name of a valid token (its use recorded), or ``None``."""
    return _web(ctx).api_token_name(token, ctx.clock())
