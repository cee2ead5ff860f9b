"""``distributor stats``: figures of what went out.

``stats editions`` lists the newest editions (delivered, unique readers, click rate,
clicks, machine requests); ``stats edition LIST KEY`` shows one per language, its top
stories, its share clicks per network and its first 48 hours (issue 17).  Both take
``--json`` and ``--csv`` (one row per variant and per story of each variant).
``stats posts`` (issue 18): the posts that went out with the counts each network
exposes (Mastodon, Bluesky), as last read; ``--refresh`` reads the due ones first.
"""

from __future__ import annotations

import re
from datetime import timedelta

import click
from rich.console import Console
from rich.table import Table
from rich.text import Text

from distributor.cli import tables
from distributor.cli.common import CliState, errors_as_one_line, print_json, print_table
from distributor.service import Context, post_metrics
from distributor.service import stats as service
from distributor.service.stats import EditionStats


def _console() -> Console:
    return tables.console()  # piped output is not cut


_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]+")


def _plain(value: str) -> Text:
    """A story's title for the terminal: no markup, no control characters."""
    return Text(_CONTROL.sub(" ", value))


def _pct(rate: float) -> str:
    return f"{rate * 100:.1f}%"


def _emit(found: list[EditionStats], as_json: bool, as_csv: bool, one: bool) -> bool:
    if as_json:
        data = found[0].to_dict() if one else {"editions": [e.to_dict() for e in found]}
        print_json(data)
        return True
    if as_csv:
        click.echo(service.to_csv(found), nl=False)
        return True
    return False


@click.group()
def stats() -> None:
    """Figures of what went out: reach per edition, language and story; posts' counts."""


@stats.command("editions")
@click.option("--list", "list_name", metavar="NAME", help="Only this list.")
@click.option("--limit", default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (a row per variant and story).")
@click.pass_obj
def stats_editions(
    state: CliState, list_name: str | None, limit: int, as_json: bool, as_csv: bool
) -> None:
    """The newest editions' figures, newest first."""
    with errors_as_one_line(state), Context.open(state.settings(), clock=state.clock) as ctx:
        found = service.editions(ctx, list_name=list_name, limit=limit)
    if _emit(found, as_json, as_csv, one=False):
        return
    print_table(
        ("list", "key", "languages", "delivered", "unique", "rate", "clicks", "machine"),
        (
            (
                e.list_name,
                e.key,
                ", ".join(e.languages()),
                str(e.delivered),
                str(e.unique_readers),
                _pct(e.click_rate),
                str(e.clicks),
                str(e.machine),
            )
            for e in found
        ),
        title="reach",
        console=_console(),
    )


@stats.command("edition")
@click.argument("list_name")
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--csv", "as_csv", is_flag=True, help="Print CSV (a row per variant and story).")
@click.pass_obj
def stats_edition(state: CliState, list_name: str, key: str, as_json: bool, as_csv: bool) -> None:
    """One edition per language, its top stories, share clicks and first 48 hours."""
    with errors_as_one_line(state), Context.open(state.settings(), clock=state.clock) as ctx:
        found = service.edition(ctx, list_name, key)
    if _emit([found], as_json, as_csv, one=True):
        return
    console = _console()
    print_table(
        ("language", "delivered", "unique", "rate", "clicks", "machine"),
        (
            (
                lang,
                str(row["delivered"]),
                str(row["unique_readers"]),
                _pct(row["click_rate"]),
                str(row["clicks"]),
                str(row["machine"]),
            )
            for lang, row in found.languages().items()
        ),
        title=f"{list_name} {key} per language",
        console=console,
    )
    print_table(
        ("story", "clicks", "unique", "per language"),
        (
            (
                _plain(st["title"]),
                str(st["clicks"]),
                str(st["unique_clicks"]),
                " ".join(f"{lang} {n}" for lang, n in st["by_language"].items()),
            )
            for st in found.top_stories()
        ),
        title="top stories",
        console=console,
    )
    shares = ", ".join(f"{net} {n}" for net, n in found.shares.items()) or "none"
    console.print(f"share clicks: {shares}", markup=False)
    console.print(f"first 48 hours: {' '.join(map(str, found.hourly))}", markup=False)
    if found.social:
        print_table(
            ("story", "channel", "language", "likes", "reposts", "replies", "quotes"),
            (
                (
                    _plain(p.title),
                    p.channel,
                    p.language,
                    *(
                        "-" if n is None else str(n)
                        for n in (p.likes, p.reposts, p.replies, p.quotes)
                    ),
                )
                for p in found.social
            ),
            title="social posts",
            console=console,
        )


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
        print_json(doc)
        return
    if read is not None:
        for line in read.errors:
            click.echo(f"error: {line}", err=True)
    if not rows:
        click.echo("no posts went out in that time")
        return
    table = Table(title="posts", header_style="bold")
    for col in ("posted", "channel", "lang"):
        table.add_column(col)
    for col in ("likes", "reposts", "replies"):
        table.add_column(col, justify="right")
    for r in rows:
        figures = [str(r[k]) if r[k] is not None else "-" for k in ("likes", "reposts", "replies")]
        table.add_row((r["posted_at"] or "")[:16], r["channel"], r["language"], *figures)
    _console().print(tables.fit(table))
