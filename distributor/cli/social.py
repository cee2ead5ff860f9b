"""``distributor cards``, ``distributor links`` and ``distributor post``."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click

from distributor.cli.common import (
    EXIT_PARTIAL,
    CliState,
    errors_as_one_line,
    open_context,
    print_json,
    print_json_line,
)
from distributor.errors import ConfigError
from distributor.service import sharing as service
from distributor.text_safety import visible


@click.command()
@click.argument("story_id")
@click.option(
    "--out", "out_dir", metavar="DIR", help="Write the cards here (default: data_dir/cards)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the cards as JSON.")
@click.pass_obj
def cards(state: CliState, story_id: str, out_dir: str | None, as_json: bool) -> None:
    """Make the share cards of one story (Open Graph, square, Bluesky thumbnail)."""
    with errors_as_one_line(state):
        settings = state.settings()
        with open_context(settings, clock=state.clock) as ctx:
            story, made = service.cards(ctx, story_id, Path(out_dir) if out_dir else None)
    doc: dict[str, Any] = {
        "story": story.id,
        "language": story.language,
        "alt_text": made.og.alt_text,
        "cached": made.cached,
        "image_problem": made.image_problem,
        "cards": {
            kind: {
                "path": c.path,
                "width": c.width,
                "height": c.height,
                "bytes": Path(c.path).stat().st_size,
            }
            for kind, c in (("og", made.og), ("square", made.square), ("thumb", made.thumb))
        },
    }
    if as_json:
        print_json(doc)
        return
    for kind, card in doc["cards"].items():
        click.echo(
            f"{kind:6} {card['width']}x{card['height']} {card['bytes']:>8} B  {card['path']}"
        )
    click.echo(f"alt    {made.og.alt_text}")
    if made.cached:
        click.echo("(from the cache: nothing changed)")
    if made.image_problem:
        click.echo(f"note: {made.image_problem}", err=True)


@click.command()
@click.argument("story_id")
@click.option("--campaign", default="share", show_default=True, help="The utm_campaign value.")
@click.option("--json", "as_json", is_flag=True, help="Print the links as JSON.")
@click.pass_obj
def links(state: CliState, story_id: str, campaign: str, as_json: bool) -> None:
    """Print the share links of one story, per network."""
    with errors_as_one_line(state):
        settings = state.settings()
        with open_context(settings, clock=state.clock) as ctx:
            found = service.links(ctx, story_id, campaign)
    if as_json:
        print_json({link.network: link.url for link in found})
        return
    for link in found:
        click.echo(f"{link.network:9} {link.url}")


@click.command()
@click.option("--channel", metavar="NAME", help="Only this channel.")
@click.option("--story", "story_id", metavar="ID", help="Only this story.")
@click.option(
    "--dry-run",
    is_flag=True,
    help="Compose for every defined channel (enabled or not); send and record nothing.",
)
@click.option(
    "--resolve-unknown",
    "decision",
    type=click.Choice(["sent", "repost"]),
    help="An editor's decision on the channel's posts whose outcome is unknown: 'sent' "
    "(found on the network) or 'repost' (not there: post again). Needs --channel.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_obj
def post(
    state: CliState,
    channel: str | None,
    story_id: str | None,
    dry_run: bool,
    decision: str | None,
    as_json: bool,
) -> None:
    """Post the stories to the social channels (each once per story, channel and language)."""
    with errors_as_one_line(state):
        settings = state.settings()
        if decision is not None:
            if channel is None or channel not in settings.social:
                raise ConfigError("--resolve-unknown needs --channel NAME of a social channel")
            with open_context(settings, clock=state.clock) as ctx:
                n = service.resolve_unknown(ctx, channel, decision=decision, story_id=story_id)
            what = "marked sent" if decision == "sent" else "put back to be posted on the next run"
            if as_json:
                print_json_line({"channel": channel, "decision": decision, "posts": n})
            else:
                click.echo(f"{n} posts of {channel} with an unknown outcome {what}")
            return
        with open_context(settings, clock=state.clock) as ctx:
            report, previews = service.publish(
                ctx, story_id=story_id, channel=channel, dry_run=dry_run
            )
    if dry_run:
        rows = [
            {"channel": name, "story": story.id, "language": story.language, **view.to_dict()}
            for name, story, view in previews
        ]
        if as_json:
            print_json(rows)
        else:
            _print_previews(rows)
        return
    report.redact(state.redactor)
    full = report.to_dict()
    summary: dict[str, Any] = {
        "posts": {
            "sent": report.posts.sent,
            "failed": report.posts.failed,
            "unknown": report.posts.unknown,
        },
        "cards_made": report.cards_made,
        "cards_cached": report.cards_cached,
        "warnings": full.get("warnings", []),
        "errors": full.get("errors", []),
        "notes": report.notes,
    }
    if as_json:
        print_json(summary)
    else:
        p = summary["posts"]
        click.echo(f"posts sent {p['sent']}, failed {p['failed']}, unknown {p['unknown']}")
        for problem in report.errors:
            click.echo(
                visible(f"error: {problem.stage} {problem.subject}: {problem.cause}"), err=True
            )
    if not report.ok:
        sys.exit(EXIT_PARTIAL)


def _print_previews(rows: list[dict[str, Any]]) -> None:
    for row in rows:
        head = (
            f"{row['channel']} ({row['network']}) · {row['story']} [{row['language']}] · "
            f"{row['length']}/{row['limit']} {row['unit']}"
        )
        if "bytes" in row:
            head += f" · {row['bytes']}/{row['byte_limit']} bytes"
        if row["length"] > row["limit"]:
            head += " · OVER THE LIMIT"
        click.secho(head, bold=True)
        # the exact text, unwrapped, so what is shown is what the network gets
        click.echo("\n".join("  │ " + line for line in row["text"].split("\n")))
        for facet in row.get("facets", []):
            feature = facet["features"][0]
            target = feature.get("uri") or "#" + feature.get("tag", "")
            idx = facet["index"]
            click.echo(f"  facet bytes {idx['byteStart']}-{idx['byteEnd']}: {target}")
        click.echo()
