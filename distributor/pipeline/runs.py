"""What one run shares: the run cache (cards, story pages, the renderer) and :func:`run`,
the daily job kept here for old callers.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from distributor.render.digest import DigestRenderer
from distributor.report import RunReport
from distributor.service.context import Context
from distributor.share.cards import CardSet


@dataclass
class RunCache:
    """What one run already made: cards and story archive pages (story id -> URL)."""

    cards: dict[str, CardSet] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    renderer: DigestRenderer | None = None


def run(
    ctx: Context,
    *,
    list_names: Sequence[str] | None = None,
    dry_run: bool = False,
    edition_key: str | None = None,
) -> RunReport:
    """The daily job: :func:`distributor.service.daily.run` (kept here for old callers)."""
    from distributor.service.daily import run as run_daily

    return run_daily(ctx, list_names=list_names, dry_run=dry_run, edition_key=edition_key)
