"""The web archive: every edition as a static HTML page under ``data_dir/archive``.

The page is the "view in browser" target of the digest
(:meth:`DigestRenderer.archive_url`): the same layout with every story, no
personal part (no greeting, no unsubscribe token), and Open Graph and Twitter
card tags so a shared link shows a title, a description and the lead image.
Any static file server (or the web app) can serve the folder as it is.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from distributor.config import ListConfig, Settings
from distributor.models import Edition, ShareLink, Story
from distributor.render.digest import DigestRenderer, archive_name


def archive_path(settings: Settings, edition: Edition) -> Path:
    """Where the page of one edition is written."""
    return settings.data_path("archive").joinpath(*archive_name(edition).split("/"))


def write_archive_page(
    renderer: DigestRenderer,
    edition: Edition,
    stories: Sequence[Story],
    links: Mapping[str, Sequence[ShareLink]],
    list_config: ListConfig,
    story_pages: Mapping[str, str] | None = None,
) -> Path:
    """Render and write (atomically) the archive page of one edition; returns its path.

    ``story_pages`` maps story ids to their story archive pages (titles link there).
    """
    page = renderer.render_archive(edition, stories, links, list_config, story_pages)
    path = archive_path(renderer.settings, edition)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(page, encoding="utf-8")
    os.replace(tmp, path)
    return path
