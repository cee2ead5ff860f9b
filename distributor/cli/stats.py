"""``distributor stats``: figures of what went out.

``stats posts`` (issue 18): the posts that went out with the counts each network
exposes (Mastodon, Bluesky), as last read; ``--refresh`` reads the due ones first.
"""

from __future__ import annotations

import json
from datetime import timedelta

import click

from distributor.cli.common import CliState, errors_as_one_line
from distributor.service import Context, post_metrics


@click.group()
def stats() -> None:
    """Figures of what went out."""


@stats.command("posts")
@click.option("--channel", metavar="NAME", help="Only this channel.")
@click.option("--days", default=30, show_default=True, help="Posts of the last N days.")
@click.option("--refresh", is_flag=True, help="Read the counts that are due from the networks.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_obj
def stats_posts(
    state: CliState, channel: str | None, days: int, refresh: bool, as_json: bool
) -> None:
    """Posts that went out, newest first, with their likes, reposts and replies."""
    with errors_as_one_line(state), Context.open(state.settings(), clock=state.clock) as ctx:
        read = post_metrics.read_counts(ctx) if refresh else None
        rows = post_metrics.stats(ctx, channel=channel, since=ctx.clock() - timedelta(days=days))
    if as_json:
        doc = {"posts": rows, "refreshed": read.to_dict() if read else None}
        click.echo(json.dumps(doc, ensure_ascii=False, indent=2))
        return
    if read is not None:
        for line in read.errors:
            click.echo(f"error: {line}", err=True)
    if not rows:
        click.echo("no posts went out in that time")
    for r in rows:
        figures = "  ".join(
            f"{r[k] if r[k] is not None else '-':>5} {k}" for k in ("likes", "reposts", "replies")
        )
        click.echo(
            f"{(r['posted_at'] or '')[:16]:16}  {r['channel']:12} {r['language']:5} {figures}"
        )
