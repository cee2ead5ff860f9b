"""Draw the sample newsroom's story images (config/sample/images/*.jpg) with Pillow.

They are abstract pictures made by this script, not photographs: no licence beyond the
project's own applies. Run again to redraw them (the output is deterministic):

    .venv/bin/python scripts/make-sample-images.py
"""

from __future__ import annotations

import random
from pathlib import Path

from PIL import Image, ImageColor, ImageDraw, ImageFilter

OUT = Path(__file__).resolve().parent.parent / "config" / "sample" / "images"
SIZE = (960, 540)

# slug -> (sky top, sky bottom, ground, accent, motif)
SCENES = {
    "marel-river-treaty": ("#7fb2d9", "#dcecf5", "#4c7a3f", "#2f6fa8", "river"),
    "lantern-asteroid-probe": ("#05070f", "#1b2347", "#3a3a48", "#f2c14e", "space"),
    "solar-vaccine-fridges": ("#f6c667", "#fbe7b5", "#b9803f", "#2a5d8f", "panels"),
    "malaga-marathon-record": ("#8ec5ff", "#e6f3ff", "#c9bfae", "#e4572e", "runners"),
    "lyon-fez-manuscripts": ("#5b3a29", "#a6764f", "#3d2618", "#e9c46a", "arches"),
    "braga-chip-plant": ("#9aa9b8", "#dde3ea", "#59626b", "#3fa34d", "factory"),
    "setouchi-documentary-festival": ("#f28f6b", "#fde2c8", "#2f5d7c", "#fdfdfd", "islands"),
    "turnout-report-2026": ("#3c4f76", "#a9b8d6", "#2b3652", "#ffd166", "bars"),
}


def gradient(top: str, bottom: str) -> Image.Image:
    t = Image.new("RGB", (1, 2))
    t.putpixel((0, 0), ImageColor.getrgb(top))
    t.putpixel((0, 1), ImageColor.getrgb(bottom))
    return t.resize(SIZE, Image.Resampling.BILINEAR)


def draw_scene(slug: str) -> Image.Image:
    top, bottom, ground, accent, motif = SCENES[slug]
    rng = random.Random(slug)
    img = gradient(top, bottom)
    d = ImageDraw.Draw(img)
    w, h = SIZE
    horizon = int(h * 0.62)
    if motif == "space":
        for _ in range(220):
            x, y = rng.randrange(w), rng.randrange(h)
            d.point((x, y), fill="#ffffff")
        d.ellipse((560, 120, 820, 380), fill="#6d6a75", outline="#8d8a96", width=6)
        for _ in range(9):
            x, y, r = rng.randrange(590, 780), rng.randrange(150, 340), rng.randrange(8, 26)
            d.ellipse((x - r, y - r, x + r, y + r), fill="#57545e")
        d.polygon([(180, 330), (260, 300), (250, 280), (170, 310)], fill=accent)
        d.rectangle((120, 290, 175, 340), fill="#c9ced6")
        return img.filter(ImageFilter.SMOOTH)
    d.rectangle((0, horizon, w, h), fill=ground)
    if motif == "river":
        for i in range(6):
            y = horizon + 20 + i * 30
            d.arc((-200 + i * 40, y - 60, w + 200 - i * 40, y + 60), 0, 180, fill=accent, width=18)
        d.ellipse((720, 60, 820, 160), fill="#fff4c2")
    elif motif == "panels":
        d.ellipse((90, 50, 210, 170), fill="#fff1a8")
        for i in range(4):
            x = 180 + i * 170
            d.polygon(
                [
                    (x, horizon - 10),
                    (x + 140, horizon - 40),
                    (x + 160, horizon + 30),
                    (x + 20, horizon + 60),
                ],
                fill=accent,
            )
        d.rectangle(
            (700, horizon - 150, 820, horizon + 40), fill="#f4f6f8", outline="#8a96a3", width=4
        )
    elif motif == "runners":
        for i in range(14):
            x = 40 + i * 66 + rng.randrange(-10, 10)
            y = horizon + rng.randrange(10, 60)
            color = rng.choice([accent, "#1d3557", "#2a9d8f", "#f4a261"])
            d.ellipse((x, y - 70, x + 24, y - 46), fill="#6b4f3a")
            d.rectangle((x + 2, y - 46, x + 22, y), fill=color)
        d.ellipse((780, 50, 880, 150), fill="#fff7d1")
    elif motif == "arches":
        for i in range(5):
            x = 60 + i * 180
            d.rectangle((x, 140, x + 140, horizon), fill="#8a5a3c")
            d.ellipse((x + 20, 170, x + 120, 270), fill=accent)
            d.rectangle((x + 20, 220, x + 120, horizon), fill=accent)
    elif motif == "factory":
        d.rectangle((140, horizon - 170, 820, horizon), fill="#e9edf1", outline="#7b8794", width=4)
        for i in range(8):
            d.rectangle((170 + i * 80, horizon - 130, 220 + i * 80, horizon - 80), fill="#6aa9d8")
        d.rectangle((180, horizon - 260, 230, horizon - 170), fill="#7b8794")
        d.rectangle((0, horizon + 40, w, horizon + 70), fill=accent)
    elif motif == "islands":
        d.rectangle((0, horizon, w, h), fill="#3b7ea1")
        for x0, x1, top_y in (
            (60, 380, horizon - 110),
            (420, 640, horizon - 70),
            (660, 960, horizon - 140),
        ):
            d.polygon([(x0, horizon), ((x0 + x1) // 2, top_y), (x1, horizon)], fill=ground)
        d.ellipse((430, 80, 530, 180), fill="#fff0d6")
        d.rectangle((140, horizon + 40, 300, horizon + 120), outline=accent, width=6)
    elif motif == "bars":
        for i in range(7):
            bar = rng.randrange(80, 260)
            d.rectangle(
                (120 + i * 105, horizon - bar, 190 + i * 105, horizon),
                fill=accent if i == 6 else "#e3e8f2",
            )
    return img.filter(ImageFilter.SMOOTH)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for slug in SCENES:
        draw_scene(slug).save(
            OUT / f"{slug}.jpg", "JPEG", quality=72, optimize=True, progressive=True
        )
        print(OUT / f"{slug}.jpg")


if __name__ == "__main__":
    main()
