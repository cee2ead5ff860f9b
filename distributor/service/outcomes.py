"""One line per scheduler slot and per poll, saying what happened and why.

The scheduler logged that a slot ran, never its result; these lines are what it logs
now, made from the slot's summary (:func:`distributor.service.daily.slot_summary`) and
the poll's report.  The outcome is the first word: ``sent``, ``failed``, ``held``,
``enqueued`` or ``skipped``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from distributor.report import RunReport


def slot_outcome(summary: Mapping[str, Any]) -> str:
    """``sent: 24 emails (0 failed, 0 unknown, 0 pending), 18 posts, 15 editions`` and the like."""
    errors = list(summary.get("errors") or [])
    held = list(summary.get("held") or [])
    editions = int(summary.get("editions") or 0)
    sent, failed = int(summary.get("sent") or 0), int(summary.get("failed") or 0)
    unknown, pending = int(summary.get("unknown") or 0), int(summary.get("pending") or 0)
    counts = f"{sent} emails ({failed} failed, {unknown} unknown, {pending} pending)"
    posts = int(summary.get("posts") or 0)
    if errors or failed or unknown:
        why = f"; {errors[0]}" if errors else ""
        return f"failed: {counts}, {posts} posts, {editions} editions{why}"
    if held:
        ids = ", ".join(str(i) for i in held)
        return f'held: edition {ids} waits for an editor\'s approval (approval = "editor")'
    if summary.get("tasks_enqueued"):
        return f"enqueued: {summary['tasks_enqueued']} batch tasks for the workers"
    if editions or sent or posts:
        return f"sent: {counts}, {posts} posts, {editions} editions"
    notes = list(summary.get("notes") or [])
    return "skipped: " + (notes[0] if notes else "nothing to send")


def poll_outcome(report: RunReport) -> str:
    """``fetched 20 stories from 1 source (3 new, 0 updated), 0 posts, 0 errors`` and the like."""
    new = sum(s.new for s in report.sources)
    updated = sum(s.updated for s in report.sources)
    sources = len(report.sources)
    return (
        f"fetched {report.stories_fetched} stories from {sources} "
        f"source{'s' if sources != 1 else ''} ({new} new, {updated} updated), "
        f"{report.posts.sent} posts, {report.emails.sent} emails of scheduled editions, "
        f"{len(report.warnings)} warnings, {len(report.errors)} errors"
    )
