"""``make run`` on a fresh data directory: the repository's own configuration, no
warning, every story with an image gets its photo on its card (read from
``config/sample/images``, never fetched), and the tables fit 80 columns."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image
from rich.console import Console

from distributor.cli.app import print_report
from distributor.models import Story, StoryStatus
from distributor.report import EditionReport, RunReport
from distributor.share.cards import CardMaker
from distributor.share.fetch import ImageRefused, read_local_image
from tests.conftest import NOW, ROOT, SAMPLE, pinned_now

IMAGES = SAMPLE / "images"
PREFIX = "https://news.example/images/"


def _run(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTOR_")}
    env.update(pinned_now(), DISTRIBUTOR_DATA_DIR=str(tmp_path / "var"), COLUMNS="80")
    return subprocess.run(
        [sys.executable, "-m", "distributor", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
    )


def test_the_first_run_prints_no_warning_and_every_card_has_its_photo(tmp_path: Path) -> None:
    first = _run(tmp_path, "run", "--json")
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["warnings"] == [], report["warnings"]
    assert report["errors"] == []
    assert report["cards_made"] == 22
    # the embargoed story is a note: it was kept, nothing was skipped
    assert any("far in the future; held as scheduled" in n for n in report["notes"])
    # every image the feed names is in the repository
    feed = (SAMPLE / "newsroom.atom.xml").read_text(encoding="utf-8")
    for name in {
        line.split(PREFIX, 1)[1].split('"')[0] for line in feed.splitlines() if PREFIX in line
    }:
        assert (IMAGES / name).is_file(), name
    again = _run(tmp_path, "run")  # the printed report: nothing new, and still no warning
    assert again.returncode == 0, again.stderr
    assert "warning" not in again.stdout + again.stderr


def _story(image: str | None) -> Story:
    return Story(
        id="urn:test:card",
        source="meridian",
        title="Four countries sign a treaty to share a river",
        url="https://news.example/en/marel-river-treaty",
        language="en",
        status=StoryStatus.PUBLISHED,
        published_at=NOW,
        sections=("world",),
        image_url=image,
    )


def test_the_card_maker_reads_the_newsrooms_own_images_from_disk(tmp_path: Path) -> None:
    local = CardMaker(
        tmp_path / "with",
        brand_name="Meridian",
        brand_color="#0b3d91",
        session=None,  # no network at all: the image can only come from the folder
        local_images=(PREFIX, IMAGES),
    )
    plain = CardMaker(tmp_path / "without", brand_name="Meridian", brand_color="#0b3d91")
    with_photo = local.card_set(_story(PREFIX + "marel-river-treaty.jpg"))
    assert with_photo.image_problem is None
    brand_only = plain.card_set(_story(PREFIX + "marel-river-treaty.jpg"))
    brand = (0x0B, 0x3D, 0x91)

    def off_brand(path: str, point: tuple[int, int]) -> int:
        with Image.open(path) as card:
            pixel = card.convert("RGB").getpixel(point)
        assert isinstance(pixel, tuple)
        return max(abs(int(c) - b) for c, b in zip(pixel, brand, strict=True))

    for point in ((600, 600), (1150, 20), (20, 600)):  # away from the text
        assert off_brand(brand_only.og.path, point) <= 4  # the plain brand background
        assert off_brand(with_photo.og.path, point) > 30  # the photo, darkened
    # a file not in the folder, without a session: the brand background, and why
    missing = local.card_set(_story(PREFIX + "not-there.jpg"))
    assert missing.image_problem is not None and "fetching is off" in missing.image_problem


@pytest.mark.parametrize(
    "rest", ["../distributor.toml", "%2e%2e/distributor.toml", "/etc/passwd", "a/../../x.jpg"]
)
def test_a_path_out_of_the_images_folder_is_refused(rest: str) -> None:
    with pytest.raises(ImageRefused, match="outside the newsroom's images"):
        read_local_image(PREFIX + rest, PREFIX, IMAGES)


def test_another_sites_image_is_not_read_from_disk() -> None:
    assert (
        read_local_image("https://elsewhere.example/images/marel-river-treaty.jpg", PREFIX, IMAGES)
        is None
    )


def test_the_run_report_fits_80_columns() -> None:
    report = RunReport(started_at=NOW.isoformat(), dry_run=False)
    report.editions = [
        EditionReport("daily", "2026-11-28", "ar", 7, 3, segment="economy+world", sent=3)
    ]
    console = Console(width=80, record=True)
    print_report(report, console)
    text = console.export_text()
    assert "…" not in text
    for header in ("stories", "sent", "failed", "unknown", "pending"):
        assert header in text
    assert max(len(line) for line in text.splitlines()) <= 80
