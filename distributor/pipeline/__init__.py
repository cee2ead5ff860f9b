"""The daily job: sources -> selection -> share -> render -> dispatch -> ledger.

One function per stage; :func:`run` composes them and returns a
:class:`~distributor.report.RunReport`.  Nothing here prints: the CLI, the
scheduler and the web app are thin doors onto these functions.

The package, by stage (import from ``distributor.pipeline``; the modules are its rooms):

- ``runs``: :class:`RunCache` (what one run already made) and :func:`run`, kept for old
  callers (the daily job is :func:`distributor.service.daily.run`)
- ``fetching``: :func:`fetch_sources`, :func:`fetch_source`, :func:`sync_subscribers`
- ``selecting``: :func:`select`, :func:`plan_list` and :class:`Selection`, the editions'
  languages, keys and (unsaved) values
- ``cards``: share cards, story archive pages, share links and their UTM tags
- ``social``: :func:`compose_for`, :func:`social_stories`, :func:`excluded_stories`,
  :func:`publish_social`
- ``editions``: :func:`resume_editions`, :func:`deliver_editions`,
  :func:`enqueue_for_workers`, :func:`dry_render`

``Context``, ``Progress`` and ``system_clock`` are re-exported for old callers.
"""

from __future__ import annotations

from distributor.clock import system_clock
from distributor.pipeline.cards import (
    card_maker,
    make_cards,
    make_links,
    utm_policy,
    write_story_pages,
)
from distributor.pipeline.editions import (
    deliver_editions,
    dry_render,
    enqueue_for_workers,
    resume_editions,
)
from distributor.pipeline.fetching import fetch_source, fetch_sources, sync_subscribers
from distributor.pipeline.runs import RunCache, run
from distributor.pipeline.selecting import (
    Selection,
    edition_date_key,
    edition_languages,
    edition_value,
    list_default_language,
    plan_list,
    select,
)
from distributor.pipeline.social import (
    compose_for,
    excluded_stories,
    publish_social,
    social_stories,
)
from distributor.service.context import Context, Progress

__all__ = [
    "Context",
    "Progress",
    "RunCache",
    "Selection",
    "card_maker",
    "compose_for",
    "deliver_editions",
    "dry_render",
    "edition_date_key",
    "edition_languages",
    "edition_value",
    "enqueue_for_workers",
    "excluded_stories",
    "fetch_source",
    "fetch_sources",
    "list_default_language",
    "make_cards",
    "make_links",
    "plan_list",
    "publish_social",
    "resume_editions",
    "run",
    "select",
    "social_stories",
    "sync_subscribers",
    "system_clock",
    "utm_policy",
    "write_story_pages",
]
