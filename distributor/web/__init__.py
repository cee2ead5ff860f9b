"""The web app (Flask app factory): subscriber pages, editor dashboard, JSON API, webhooks.

Everything the app needs is passed to :func:`create_app`; blueprints are
registered below, one line each, by the areas that add them.
"""

from __future__ import annotations

from flask import Flask, Response, jsonify

from distributor import __version__
from distributor.config import Settings
from distributor.store import Store
from distributor.web import clicks as web_clicks
from distributor.web import site as web_site
from distributor.web import webhooks


def create_app(settings: Settings, store: Store) -> Flask:
    """A Flask app over one store; ``app.extensions['distributor']`` holds both."""
    app = Flask(
        __name__,
        template_folder=str(settings.templates_dir / "web"),
        static_folder=None,
    )
    app.config["SECRET_KEY"] = settings.secret_key.get_secret_value()
    app.extensions["distributor"] = {"settings": settings, "store": store}

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok", version=__version__)

    # --- blueprint registry: one line per area -------------------------------
    web_site.install(app)  # web (issue 7): subscriber pages, editor dashboard, JSON API
    webhooks.init_app(app)  # mail providers (issue 5): /webhooks/<provider>
    web_clicks.init_app(app)  # click links (issue 17): /r/<token>, /o/<token>.gif

    return app
