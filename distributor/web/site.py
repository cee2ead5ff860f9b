"""Wires the subscriber pages, the editor dashboard and the JSON API into the app.

Called once from :func:`distributor.web.create_app`.  Session cookies are
HttpOnly and SameSite=Lax always, and Secure when the app is served over TLS
(``web.base_url`` is https, or ``web.secure_cookies = true``).  CSRF is
checked by the editor blueprint itself, so the public endpoints (one-click
unsubscribe, API, provider webhooks) are not affected.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from distributor.config import Settings


def install(app: Flask) -> None:
    """Configure sessions and register the blueprints of the web area."""
    from distributor.web import api, api_params, common, editors, subscribers  # noqa: F401

    settings: Settings = app.extensions["distributor"]["settings"]
    web = settings.web
    secure = (
        web.secure_cookies
        if web.secure_cookies is not None
        else web.base_url.lower().startswith("https://")
    )
    app.config.update(
        SESSION_COOKIE_NAME="distributor_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=secure,
        PERMANENT_SESSION_LIFETIME=timedelta(hours=12),
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
    )
    # every page template is HTML: escape always (Flask would only for *.html names)
    app.jinja_env.autoescape = True
    if web.trusted_proxies:
        n = web.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    common.install(app)  # each request's service context is closed at its end
    # reach (issue 17): its routes join the editors' and API blueprints before they register
    from distributor.web import api_stats, editor_stats  # noqa: F401

    app.register_blueprint(subscribers.bp)
    app.register_blueprint(editors.bp, url_prefix="/editor")
    app.register_blueprint(api.bp, url_prefix="/api")
