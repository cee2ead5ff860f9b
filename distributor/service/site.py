"""What a newsroom's site needs from the configuration: the template loader of the web
pages, the folders ``distributor serve`` serves (the archive, the newsroom's images), and
the warnings about links that would point somewhere else than where they are served."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from jinja2 import BaseLoader

from distributor.config import Settings
from distributor.render.images import IMAGES_PATH
from distributor.render.templates import template_loader

#: browsers and proxies keep an archive page five minutes (an edition's page may be
#: rewritten by a later run), and an image or card a day (cards are named by content)
PAGE_MAX_AGE = 300
FILE_MAX_AGE = 86400

LOCAL_HOSTS = ("localhost", "localhost.localdomain")


def web_template_loader(settings: Settings) -> BaseLoader:
    """The web pages' templates: ``templates_dir/web`` over the built-in pages."""
    return template_loader(settings.templates_dir, "web")


@dataclass(frozen=True, slots=True)
class ServedFolder:
    """A folder ``distributor serve`` serves at ``path`` (``/archive``)."""

    name: str
    path: str
    directory: Path


def served_folders(settings: Settings) -> list[ServedFolder]:
    """The archive (``data_dir/archive`` at the path of ``[web] archive_url``, when that
    is on ``base_url``; else ``/archive``) and the newsroom's images (``/images``)."""
    base = settings.web.base_url.rstrip("/")
    archive_url = (settings.web.archive_url or base + "/archive").rstrip("/")
    path = "/archive"
    if archive_url.startswith(base + "/"):
        path = "/" + archive_url[len(base) :].strip("/")
    folders = [ServedFolder("archive", path, settings.data_path("archive"))]
    images = settings.newsroom_images()
    if images is not None:
        folders.append(ServedFolder("images", IMAGES_PATH, images[1]))
    return folders


def max_age(filename: str) -> int:
    """Seconds a served file may be cached: pages briefly, images and cards a day."""
    return PAGE_MAX_AGE if filename.lower().endswith((".html", ".htm")) else FILE_MAX_AGE


def is_local_host(host: str) -> bool:
    """``localhost``, a loopback address, or an address of this machine's own networks."""
    host = host.strip("[]").lower()
    if host in LOCAL_HOSTS or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def config_warnings(settings: Settings) -> list[str]:
    """What ``config check`` warns about: plain-http links on a public host (RFC 8058
    one-click unsubscribe needs https, and sessions travel in clear)."""
    warnings: list[str] = []
    urls = {"web.base_url": settings.web.base_url}
    if settings.web.archive_url:
        urls["web.archive_url"] = settings.web.archive_url
    for key, url in urls.items():
        parts = urlsplit(url)
        if parts.scheme == "http" and not is_local_host(parts.hostname or ""):
            warnings.append(
                f"{key} is plain http on a public host ({url}): mail clients need https for "
                "one-click unsubscribe (RFC 8058) and editors' sessions would travel in clear; "
                "use https"
            )
    return warnings


def link_warnings(settings: Settings, host: str, port: int) -> list[str]:
    """What ``serve`` warns about: links in mail and pages that would not reach this server.

    A ``base_url`` on a public host is taken to be a proxy in front (nothing to say);
    one on this machine must name the port the server listens on.
    """
    base = urlsplit(settings.web.base_url)
    link_host = base.hostname or ""
    if not is_local_host(link_host):
        return []
    link_port = base.port or (443 if base.scheme == "https" else 80)
    if link_port == port:
        return []
    return [
        f"links point to {settings.web.base_url} but the server listens on "
        f"{host}:{port}: confirmation, unsubscribe and archive links will miss it; "
        f"set DISTRIBUTOR_WEB_BASE_URL=http://localhost:{port} (or [web] base_url)"
    ]
