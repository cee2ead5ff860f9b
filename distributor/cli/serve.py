"""``distributor serve``: the web app."""

from __future__ import annotations

import signal
from typing import Any

import click

from distributor.cli.common import CliState, errors_as_one_line
from distributor.store import Store


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.pass_obj
def serve(state: CliState, host: str, port: int) -> None:
    """Serve the web app (subscriber pages, dashboard, API, webhooks) with waitress."""
    from waitress import serve as waitress_serve

    from distributor.web import create_app
    from distributor.web.clicks import close_clicks
    from distributor.web.common import CLOCK_KEY

    with errors_as_one_line(state):
        settings = state.settings()
        store = Store.open(settings.database_url, upgrade=settings.database_auto_upgrade)
        app = create_app(settings, store)
        app.config[CLOCK_KEY] = state.clock
        click.echo(f"distributor: serving on http://{host}:{port}", err=True)
        signal.signal(signal.SIGTERM, _stop)  # a service manager's stop runs the finally
        try:
            waitress_serve(app, host=host, port=port, ident="distributor")
        finally:
            close_clicks(app)  # write the clicks still held (issue 17)
            store.close()


def _stop(_signum: int, _frame: Any) -> None:
    raise SystemExit(0)
