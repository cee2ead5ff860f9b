"""Share cards: a 1200x630 PNG per story, made with Pillow.

Text is laid out by Pillow's raqm engine when available (right-to-left
scripts shaped and ordered correctly).  The font is chosen with fontconfig
(``fc-match``) for the story's language, falling back to Pillow's built-in
font.  Cards are cached by content: the file name is a hash of everything
drawn, so a re-run with nothing changed renders nothing.
"""

from __future__ import annotations

import functools
import hashlib
import json
import shutil
import subprocess
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, features

from distributor.errors import ShareError
from distributor.models import ShareCard, Story
from distributor.render.i18n import direction

WIDTH, HEIGHT = 1200, 630
MARGIN = 72
CARD_VERSION = "1"
FontType = ImageFont.FreeTypeFont | ImageFont.ImageFont


@functools.cache
def font_file(language: str, bold: bool = True) -> str | None:
    """A font file covering ``language``, from fontconfig, or None."""
    exe = shutil.which("fc-match")
    if not exe:
        return None
    pattern = f"sans-serif:lang={language.split('-')[0]}" + (":weight=bold" if bold else "")
    try:
        out = subprocess.run(
            [exe, "-f", "%{file}", pattern], capture_output=True, text=True, timeout=5, check=False
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return out if out and Path(out).is_file() else None


def _font(language: str, size: int, bold: bool = True) -> FontType:
    path = font_file(language, bold)
    engine = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
    if path:
        return ImageFont.truetype(path, size, layout_engine=engine)
    return ImageFont.load_default(size)


def _hex(color: str) -> tuple[int, int, int]:
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def wrap(
    text: str, font: FontType, width: int, draw: ImageDraw.ImageDraw, lang: str | None
) -> list[str]:
    """Greedy wrap by words, or by characters for scripts written without spaces."""
    units = text.split(" ") if " " in text else list(text)
    joiner = " " if " " in text else ""
    lines: list[str] = []
    line = ""
    for unit in units:
        trial = f"{line}{joiner}{unit}" if line else unit
        if draw.textlength(trial, font=font, language=lang) <= width:
            line = trial
        else:
            if line:
                lines.append(line)
            line = unit
    if line:
        lines.append(line)
    return lines


class CardMaker:
    """Makes share cards into ``directory``, with a brand colour and name."""

    def __init__(self, directory: Path, *, brand_name: str, brand_color: str) -> None:
        self.directory = directory
        self.brand_name = brand_name
        self.brand_color = brand_color

    def card(self, story: Story) -> ShareCard:
        section = story.sections[0] if story.sections else ""
        fingerprint = json.dumps(
            [CARD_VERSION, story.title, story.language, section, self.brand_name, self.brand_color],
            ensure_ascii=False,
        )
        name = hashlib.sha256(fingerprint.encode()).hexdigest()[:24] + ".png"
        path = self.directory / name
        alt = f"{self.brand_name}: {story.title}"
        if path.is_file():
            return ShareCard(story.id, story.language, str(path), WIDTH, HEIGHT, alt, cached=True)
        try:
            image = self._draw(story.title, section, story.language)
            self.directory.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            image.save(tmp, format="PNG", optimize=True)
            tmp.replace(path)
        except OSError as err:
            raise ShareError(f"card for {story.id}: {err}") from err
        return ShareCard(story.id, story.language, str(path), WIDTH, HEIGHT, alt, cached=False)

    def _draw(self, title: str, section: str, lang: str) -> Image.Image:
        image = Image.new("RGB", (WIDTH, HEIGHT), _hex(self.brand_color))
        draw = ImageDraw.Draw(image)
        rtl = direction(lang) == "rtl"
        anchor_x = WIDTH - MARGIN if rtl else MARGIN
        h_anchor = "r" if rtl else "l"
        raqm = features.check("raqm")
        text_dir = "rtl" if rtl and raqm else None
        lang_opt = lang if raqm else None
        draw.rectangle([0, HEIGHT - 12, WIDTH, HEIGHT], fill=(255, 255, 255))
        small = _font(lang, 30, bold=False)
        draw.text(
            (anchor_x, MARGIN),
            self.brand_name.upper(),
            font=small,
            fill=(255, 255, 255),
            anchor=f"{h_anchor}a",
            direction=text_dir,
            language=lang_opt,
        )
        if section:
            draw.text(
                (anchor_x, MARGIN + 44),
                section.upper(),
                font=small,
                fill=(210, 220, 240),
                anchor=f"{h_anchor}a",
                direction=text_dir,
                language=lang_opt,
            )
        box_w = WIDTH - 2 * MARGIN
        box_top, box_bottom = 200, HEIGHT - MARGIN
        lines: list[str] = []
        font: FontType = _font(lang, 36)
        for size in range(76, 34, -4):
            font = _font(lang, size)
            lines = wrap(title, font, box_w, draw, lang_opt)
            if len(lines) * size * 1.25 <= box_bottom - box_top:
                break
        max_lines = int((box_bottom - box_top) // (_size(font) * 1.25))
        if len(lines) > max_lines:
            lines = lines[:max_lines]
            last = lines[-1]
            while last and draw.textlength(last + "…", font=font, language=lang_opt) > box_w:
                last = last[:-1]
            lines[-1] = last.rstrip() + "…"
        y = box_top
        for line in lines:
            draw.text(
                (anchor_x, y),
                line,
                font=font,
                fill=(255, 255, 255),
                anchor=f"{h_anchor}a",
                direction=text_dir,
                language=lang_opt,
            )
            y += int(_size(font) * 1.25)
        return image


def _size(font: FontType) -> float:
    return float(getattr(font, "size", 36))
