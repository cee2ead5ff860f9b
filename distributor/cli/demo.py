"""``distributor demo``: the dashboard on the sample newsroom, with something to send."""

from __future__ import annotations

import click

from distributor.cli.common import CliState, errors_as_one_line, open_context
from distributor.cli.serve import run_server
from distributor.service import demo as service


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--editor", default=service.DEMO_EDITOR, show_default=True, help="The account.")
@click.option(
    "--password",
    envvar="DISTRIBUTOR_EDITOR_PASSWORD",
    help="The account's password (or DISTRIBUTOR_EDITOR_PASSWORD); default: a new one.",
)
@click.option("--no-serve", is_flag=True, help="Prepare and print, do not serve.")
@click.pass_obj
def demo(
    state: CliState, host: str, port: int, editor: str, password: str | None, no_serve: bool
) -> None:
    """Fetch the sources, make an admin account, send nothing, and serve the dashboard."""
    with errors_as_one_line(state):
        settings = state.settings()
        with open_context(settings, clock=state.clock) as ctx:
            setup = service.prepare(ctx, editor=editor, password=password)
        base = settings.web.base_url.rstrip("/")
        click.echo(
            f"distributor demo: {setup.stories} stories fetched, {setup.subscribers} "
            "subscribers, nothing sent yet"
        )
        click.echo(f"  dashboard: {base}/editor/")
        click.echo(f"  email:     {setup.editor}")
        click.echo(f"  password:  {setup.password}")
        click.echo(f"  sign-up:   {base}/subscribe")
        click.echo("  try: Preview, Send a test, Send now (mail goes to the file outbox)")
        for problem in (*setup.report.errors, *setup.report.warnings):
            click.echo(f"warning: [{problem.stage}] {problem.subject}: {problem.cause}", err=True)
        if not no_serve:
            run_server(state, settings, host, port)
