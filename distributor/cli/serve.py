"""``distributor serve``: the web app."""

from __future__ import annotations

import signal
from typing import Any

import click

from distributor.cli.common import CliState, errors_as_one_line, open_context
from distributor.config import Settings
from distributor.service.site import link_warnings


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.pass_obj
def serve(state: CliState, host: str, port: int) -> None:
    """Serve the web app (subscriber pages, dashboard, API, webhooks, the archive and the
    newsroom's images) with waitress."""
    with errors_as_one_line(state):
        settings = state.settings()
        run_server(state, settings, host, port)


def run_server(state: CliState, settings: Settings, host: str, port: int) -> None:
    """Serve until interrupted; warns first when the links would not reach this server."""
    from waitress import serve as waitress_serve

    from distributor.web import create_app
    from distributor.web.clicks import close_clicks
    from distributor.web.common import CLOCK_KEY

    for warning in link_warnings(settings, host, port):
        click.echo(f"distributor: warning: {warning}", err=True)
    with open_context(settings, clock=state.clock) as ctx:  # the app's store
        app = create_app(settings, ctx.store)
        app.config[CLOCK_KEY] = state.clock
        click.echo(f"distributor: serving on http://{host}:{port}", err=True)
        signal.signal(signal.SIGTERM, _stop)  # a service manager's stop runs the finally
        try:
            waitress_serve(app, host=host, port=port, ident="distributor")
        finally:
            close_clicks(app)  # write the clicks still held (issue 17)


def _stop(_signum: int, _frame: Any) -> None:
    raise SystemExit(0)
