"""``distributor preview``: write or open exactly the message a subscriber would get.

The preview goes through the same stages as a run (fetch, subscribers file,
selection, render, personalization) but records and delivers nothing.  When
the list has nothing new to send, it shows the list's latest edition.
"""

from __future__ import annotations

from pathlib import Path

import click

from distributor.cli.common import (
    CliState,
    errors_as_one_line,
    open_context,
    print_json,
    write_message,
)
from distributor.service.previews import Preview, build_preview, describe
from distributor.text_safety import visible

__all__ = ["Preview", "build_preview", "describe", "preview"]


@click.command()
@click.option("--list", "list_name", required=True, metavar="NAME", help="The list to preview.")
@click.option(
    "--lang", "language", metavar="xx", help="The edition language (default: newsroom's)."
)
@click.option("--subscriber", "email", metavar="EMAIL", help="Render for this subscriber.")
@click.option(
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    metavar="FILE.html|FILE.eml",
    help="Write the HTML part or the whole message here (default: under data_dir/previews).",
)
@click.option("--open", "open_it", is_flag=True, help="Open the file with the default program.")
@click.option("--json", "as_json", is_flag=True, help="Describe the preview as JSON on stdout.")
@click.pass_obj
def preview(
    state: CliState,
    list_name: str,
    language: str | None,
    email: str | None,
    out: Path | None,
    open_it: bool,
    as_json: bool,
) -> None:
    """Write (and open) exactly the digest a subscriber would get; nothing is sent or recorded."""
    if out is not None and out.suffix.lower() not in (".html", ".htm", ".eml"):
        raise click.UsageError("--out must end in .html or .eml")
    with errors_as_one_line(state):
        settings = state.settings()
        with open_context(settings, clock=state.clock) as ctx:
            result = build_preview(ctx, list_name, language=language, email=email)
        if out is None:
            stamp = state.clock().strftime("%Y%m%dT%H%M%S")
            out = settings.data_path("previews") / (
                f"{list_name}-{result.edition.key}-{result.edition.language}-{stamp}.html"
            )
        write_message(result.message, out)
    info = describe(result, out)
    if as_json:
        print_json(info)
    else:
        click.echo(f"{out}")
        click.echo(
            f"  {info['list']} {info['edition']} [{info['language']}] {info['origin']}; "
            f"to {info['recipient']}; {info['stories']} stories; "
            f"HTML {int(info['html_bytes']) // 1000} KB"  # type: ignore[call-overload]
        )
        click.echo(f"  subject: {visible(str(info['subject']))}")
        if info["shortened"]:
            click.echo(f"  shortened: {info['shortened']}")
        for finding in info["unsupported"]:  # type: ignore[attr-defined]
            click.echo(f"  warning: not shown by every mail client: {finding}")
    if open_it:
        click.launch(str(out))
