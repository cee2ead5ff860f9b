"""Where readers see the newsroom's own images.

A story's image is shown at its own URL by default: the newsroom's site or CDN serves
it, and the digest, the preview and the archive page link it as the source gave it.

A newsroom without a public image host (and the sample, whose ``news.example`` does not
resolve) sets ``[newsroom] images_served = true``: ``distributor serve`` already serves
``images_dir`` at ``<web.base_url>/images/`` (:data:`IMAGES_PATH`), and a story image
whose URL starts with ``images_url`` and whose file is in ``images_dir`` is then linked
there instead.  An image not in the folder keeps its own URL, so is an image of another
site.  The stored story keeps the source's URL (the card maker reads it from disk by
that URL; the API and the CLI show it); only what readers are shown changes.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from urllib.parse import quote

from distributor.config import Settings
from distributor.models import Story
from distributor.share.fetch import ImageRefused, local_image_path

#: where ``distributor serve`` serves ``[newsroom] images_dir`` (under ``web.base_url``)
IMAGES_PATH = "/images"


class ReaderImages:
    """Maps a story image's URL to the one readers are shown."""

    def __init__(self, settings: Settings) -> None:
        own = settings.newsroom_images()
        self._own: tuple[str, Path] | None = None
        if own is not None and settings.newsroom.images_served:
            self._own = (own[0], own[1].resolve())
        self._base = settings.web.base_url.rstrip("/") + IMAGES_PATH + "/"

    def url(self, url: str | None) -> str | None:
        """``url``, or where ``distributor serve`` serves the same file."""
        if not url or self._own is None:
            return url
        prefix, folder = self._own
        try:
            path = local_image_path(url, prefix, folder)
        except ImageRefused:
            return url  # not a name inside the folder: left as the source gave it
        if path is None or not path.is_file():
            return url
        return self._base + quote(path.relative_to(folder).as_posix())

    def story(self, story: Story) -> Story:
        """``story`` with the image URL readers are shown."""
        shown = self.url(story.image_url)
        return story if shown == story.image_url else replace(story, image_url=shown)
