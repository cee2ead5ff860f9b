"""Sources and readers: fetch every source into the store, import a list's subscribers file."""

from __future__ import annotations

from distributor.config import ListConfig
from distributor.errors import ConfigError, SourceError
from distributor.report import RunReport, SourceReport
from distributor.service.context import Context
from distributor.sources.base import build_source, contained
from distributor.sources.normalize import held_far_ahead
from distributor.store import sources as source_store
from distributor.subscribers import read_subscribers_csv


def fetch_sources(ctx: Context, report: RunReport, only: str | None = None) -> None:
    """Fetch every enabled source and store its stories; a broken source never stops the run.

    Each source is asked only for changes (conditional GET); a 304 costs
    nothing and keeps what is stored.  Nothing stored is ever deleted here.
    """
    if only is not None and only not in ctx.settings.sources:
        known = ", ".join(sorted(ctx.settings.sources))
        raise ConfigError(f"no source named {only!r} (known: {known})")
    names = [
        n for n, c in ctx.settings.sources.items() if (c.enabled or only) and only in (None, n)
    ]
    ctx.progress.start("sources", len(names))
    for name in names:
        report.sources.append(fetch_source(ctx, name, report))
        ctx.progress.advance("sources")


def fetch_source(ctx: Context, name: str, report: RunReport) -> SourceReport:
    """Fetch one source, store its stories, and say what happened."""
    cfg = ctx.settings.sources[name]
    sr = SourceReport(name, kind=cfg.kind)
    location = str(getattr(cfg, "url", None) or getattr(cfg, "path", ""))
    try:
        with contained(name):
            source = build_source(name, cfg, ctx.settings, ctx.session)
            result = source.fetch(ctx.clock(), source_store.validators(ctx.store, name, location))
        if result.not_modified:
            sr.not_modified = True
            source_store.record_fetch(ctx.store, name, location, now=ctx.clock(), outcome="304")
            return sr
        counts = ctx.store.upsert_stories(result.stories, ctx.clock())
    except SourceError as err:
        sr.error = err.reason
        report.error("source", name, err.reason)
        source_store.record_fetch(ctx.store, name, location, now=ctx.clock(), outcome=err.reason)
        return sr
    source_store.record_fetch(
        ctx.store,
        name,
        location,
        now=ctx.clock(),
        outcome="ok",
        kept=result.validators,
    )
    sr.fetched, sr.new, sr.updated = len(result.stories), counts.new, counts.updated
    sr.problems = list(result.problems)
    report.stories_fetched += sr.fetched
    for problem in result.problems:
        report.warn("source", name, problem)
    report.notes.extend(f"{name}: {note}" for note in held_far_ahead(result.stories, ctx.clock()))
    return sr


def sync_subscribers(ctx: Context, list_name: str, cfg: ListConfig, report: RunReport) -> None:
    """Import the list's subscribers file, if it has one: new addresses only."""
    if not cfg.subscribers_file:
        return
    path = ctx.settings.resolve(cfg.subscribers_file)
    subs, rejected = read_subscribers_csv(
        path, default_language=ctx.settings.newsroom.default_language
    )
    added, _kept = ctx.store.add_subscribers(list_name, subs, ctx.clock())
    report.subscribers_added += added
    for r in rejected:
        report.warn("subscribers", f"{path.name} line {r.line}", f"{r.value!r}: {r.reason}")
