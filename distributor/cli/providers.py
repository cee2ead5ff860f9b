"""``distributor providers check``: each configured mail provider's settings and credentials."""

from __future__ import annotations

import sys

import click
from rich.text import Text

from distributor.cli.common import CliState, errors_as_one_line, print_listing
from distributor.service.providers import check_mail


@click.group()
def providers() -> None:
    """Mail providers."""


@providers.command("check")
@click.option("--name", "names", multiple=True, help="Only this [mail.NAME] section (repeatable).")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
@click.pass_obj
def check(state: CliState, names: tuple[str, ...], as_json: bool) -> None:
    """Verify each enabled mail provider with its cheapest read-only call.

    Exit status 1 when any check fails; each failure says what is wrong.
    """
    with errors_as_one_line(state):
        rows = [
            {"name": c.name, "provider": c.provider, "ok": c.ok, "detail": c.detail}
            for c in check_mail(state.settings(), names)
        ]
    print_listing(
        as_json,
        {"providers": rows},
        ("name", "provider", "status", "detail"),
        (
            (
                str(r["name"]),
                str(r["provider"]),
                Text("ok", style="green") if r["ok"] else Text("FAILED", style="red"),
                str(r["detail"]),
            )
            for r in rows
        ),
    )
    if not all(r["ok"] for r in rows):
        sys.exit(1)
