"""``distributor serve`` serves files too: the web archive (``data_dir/archive``: the
"view in your browser" pages, story pages and their cards) and the newsroom's own images
(``[newsroom] images_dir``), with caching headers (``Cache-Control``, ``ETag``,
``Last-Modified``; a conditional request gets a 304)."""

from __future__ import annotations

from flask import Flask, Response, send_from_directory

from distributor.config import Settings
from distributor.service.site import ServedFolder, max_age, served_folders


def _view(folder: ServedFolder) -> object:
    def serve_file(name: str) -> Response:
        # send_from_directory refuses a name that leaves the folder (404)
        response = send_from_directory(folder.directory, name, max_age=max_age(name))
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        # archive pages are static: no script runs there, nothing is framed
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'none'; img-src * data:; style-src 'unsafe-inline'; "
            "frame-ancestors 'self'; base-uri 'none'; form-action 'none'",
        )
        return response

    serve_file.__name__ = f"serve_{folder.name}"
    return serve_file


def install(app: Flask) -> None:
    """One route per served folder: ``/archive/<name>``, ``/images/<name>``."""
    settings: Settings = app.extensions["distributor"]["settings"]
    for folder in served_folders(settings):
        app.add_url_rule(
            f"{folder.path}/<path:name>",
            endpoint=f"files_{folder.name}",
            view_func=_view(folder),  # type: ignore[arg-type]
            methods=["GET", "HEAD"],
        )
