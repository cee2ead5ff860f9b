"""``distributor providers check``: each configured mail provider's settings and credentials."""

from __future__ import annotations

import json
import sys

import click
import requests
from rich.table import Table
from rich.text import Text

from distributor.cli.common import CliState, errors_as_one_line
from distributor.cli.terminal import SafeConsole
from distributor.errors import DistributorError
from distributor.mail.base import CheckResult, build_mail_backend


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
        settings = state.settings()
        wanted = names or tuple(n for n, c in settings.mail.items() if c.enabled)
        rows = []
        for name in wanted:
            if name not in settings.mail:
                raise DistributorError(f"no mail provider named {name!r}")
            provider = settings.mail[name].provider
            result = _check_one(name, settings)
            rows.append(
                {"name": name, "provider": provider, "ok": result.ok, "detail": result.detail}
            )
    if as_json:
        click.echo(json.dumps({"providers": rows}, indent=2))
    else:
        table = Table("name", "provider", "status", "detail")
        for r in rows:
            status = Text("ok", style="green") if r["ok"] else Text("FAILED", style="red")
            table.add_row(str(r["name"]), str(r["provider"]), status, str(r["detail"]))
        SafeConsole().print(table)
    if not all(r["ok"] for r in rows):
        sys.exit(1)


def _check_one(name: str, settings: object) -> CheckResult:
    from distributor.config import Settings

    assert isinstance(settings, Settings)
    try:
        backend = build_mail_backend(name, settings)
    except DistributorError as err:
        return CheckResult(False, str(err))
    try:
        return backend.check()
    except DistributorError as err:
        return CheckResult(False, str(err))
    except requests.RequestException as err:
        return CheckResult(False, f"cannot reach the provider: {err}")
    finally:
        backend.close()
