"""Where readers see the newsroom's own images (``[newsroom] images_served``): at the
served ``<web.base_url>/images/...`` when the file is in ``images_dir``; a newsroom
whose images are on its site or CDN (the default) keeps every image's own URL."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from distributor.config import Settings
from distributor.errors import ConfigError
from distributor.models import Edition, Story, StoryStatus
from distributor.render.digest import DigestRenderer
from distributor.render.images import ReaderImages
from tests.conftest import NOW, SAMPLE, settings_for, write_config

OWN = "https://news.example/images/"


def _settings(tmp_path: Path, newsroom: str) -> Settings:
    path = write_config(tmp_path, social="")
    path.write_text(path.read_text().replace("[newsroom]\n", f"[newsroom]\n{newsroom}\n", 1))
    return settings_for(path)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    images = tmp_path / "images"
    (images / "2026 nov").mkdir(parents=True)
    shutil.copy(SAMPLE / "images" / "marel-river-treaty.jpg", images)
    shutil.copy(SAMPLE / "images" / "braga-chip-plant.jpg", images / "2026 nov" / "chip plant.jpg")
    return images


def _served(tmp_path: Path, folder: Path) -> Settings:
    return _settings(tmp_path, f'images_dir = "{folder}"\nimages_served = true')


def test_own_images_are_shown_where_serve_serves_them(tmp_path: Path, folder: Path) -> None:
    images = ReaderImages(_served(tmp_path, folder))
    # base_url is https://news.example/newsletter: the app's /images is under it
    served = "https://news.example/newsletter/images/"
    assert images.url(OWN + "marel-river-treaty.jpg") == served + "marel-river-treaty.jpg"
    assert images.url(OWN + "marel-river-treaty.jpg?w=600") == served + "marel-river-treaty.jpg"
    assert images.url(OWN + "2026%20nov/chip%20plant.jpg") == served + "2026%20nov/chip%20plant.jpg"


@pytest.mark.parametrize(
    "url",
    [
        OWN + "not-in-the-folder.jpg",  # on the newsroom's site only: left there
        OWN + "../distributor.toml",  # never a name outside the folder
        OWN + "%2e%2e/secret.key",
        OWN + "2026%20nov",  # a folder, not an image
        "https://elsewhere.example/images/marel-river-treaty.jpg",  # another site's
        "",
        None,
    ],
)
def test_other_images_keep_their_own_url(tmp_path: Path, folder: Path, url: str | None) -> None:
    assert ReaderImages(_served(tmp_path, folder)).url(url) == url


def test_a_newsroom_on_its_cdn_is_unaffected(tmp_path: Path, folder: Path) -> None:
    # images_dir alone: the cards read the files from disk, readers get the CDN's URLs
    settings = _settings(tmp_path, f'images_dir = "{folder}"')
    assert settings.newsroom.images_served is False
    url = OWN + "marel-river-treaty.jpg"
    assert ReaderImages(settings).url(url) == url
    assert _lead_images(settings, url) == [url]


def test_the_digest_and_the_archive_page_show_the_served_image(
    tmp_path: Path, folder: Path
) -> None:
    settings = _served(tmp_path, folder)
    served = "https://news.example/newsletter/images/marel-river-treaty.jpg"
    assert _lead_images(settings, OWN + "marel-river-treaty.jpg") == [served]
    renderer = DigestRenderer(settings)
    story = _story(OWN + "marel-river-treaty.jpg")
    page = renderer.render_archive(
        _edition(story), [story], {}, settings.lists["daily"], story_pages={}
    )
    assert f'src="{served}"' in page
    assert f'<meta property="og:image" content="{served}">' in page


def test_images_served_needs_a_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="images_served = true needs images_dir"):
        _settings(tmp_path, "images_served = true")


def test_the_environment_can_turn_it_on(tmp_path: Path, folder: Path) -> None:
    path = write_config(tmp_path, social="")
    path.write_text(
        path.read_text().replace("[newsroom]\n", f'[newsroom]\nimages_dir = "{folder}"\n')
    )
    settings = settings_for(path, {"DISTRIBUTOR_NEWSROOM_IMAGES_SERVED": "true"})
    assert settings.newsroom.images_served is True


def _story(image: str) -> Story:
    return Story(
        id="urn:test:lead",
        source="meridian",
        title="Four countries sign a treaty to share a river",
        url="https://news.example/en/marel-river-treaty",
        language="en",
        status=StoryStatus.PUBLISHED,
        published_at=NOW,
        image_url=image,
    )


def _edition(story: Story) -> Edition:
    return Edition(1, "daily", "2026-11-28", "en", (story.id,), NOW)


def _lead_images(settings: Settings, image: str) -> list[str]:
    story = _story(image)
    variant = DigestRenderer(settings).render(_edition(story), [story], {}, settings.lists["daily"])
    return re.findall(r'<img src="([^"]+)"', variant.html)
