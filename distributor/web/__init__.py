"""The web app (Flask app factory): subscriber pages, editor dashboard, JSON API, webhooks.

Everything the app needs is passed to :func:`create_app`; blueprints are
registered below, one line each, by the areas that add them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask, Response, jsonify

from distributor import __version__
from distributor.config import Settings
from distributor.service.site import web_template_loader
from distributor.web import clicks as web_clicks
from distributor.web import files, security, webhooks
from distributor.web import site as web_site

if TYPE_CHECKING:  # the app is given the store of a service context (Context.open)
    from distributor.store import Store


def create_app(settings: Settings, store: Store) -> Flask:
    """A Flask app over one store; ``app.extensions['distributor']`` holds both."""
    app = Flask(__name__, template_folder=None, static_folder=None)
    # the user's templates_dir/web over the built-in pages (builtin/... for {% extends %})
    app.jinja_loader = web_template_loader(settings)
    app.config["SECRET_KEY"] = settings.secret_key.get_secret_value()
    app.extensions["distributor"] = {"settings": settings, "store": store}

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok", version=__version__)

    security.install(app)  # before any route: the bounded <int:...> converter, headers
    # --- blueprint registry: one line per area -------------------------------
    web_site.install(app)  # web (issue 7): subscriber pages, editor dashboard, JSON API
    webhooks.init_app(app)  # mail providers (issue 5): /webhooks/<provider>
    files.install(app)  # issue 19: /archive/... and /images/... with caching headers
    web_clicks.init_app(app)  # click links (issue 17): /r/<token>, /o/<token>.gif

    return app
