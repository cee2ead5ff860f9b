"""Share cards, made with Pillow: per story and language, three images.

* ``og``: the Open Graph card, 1200x630 JPEG (quality 90, no chroma
  subsampling, always under 5 MB);
* ``square``: 1080x1080 JPEG, for networks that crop to squares;
* ``thumb``: the Bluesky link-card thumbnail, a JPEG of at most 1,000,000
  bytes: the Open Graph card itself when it fits, else re-encoded smaller.

JPEG rather than PNG: encoding is about ten times faster, and photo
backgrounds make PNGs large.

Layout: the story image cropped to fill and darkened (or the brand colour),
the brand name, the section label, and the headline auto-fitted: the largest
size at which it wraps into the box, with an ellipsis only at the smallest
size.  Every grapheme cluster is drawn with a font that has its glyphs
(:mod:`distributor.share.fonts`); right-to-left runs are shaped and ordered by
raqm.

Cards are cached by content: file names are a hash of everything drawn (the
story image by URL), so a re-run with nothing changed renders and fetches
nothing.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import regex
import requests
from PIL import Image, ImageDraw, ImageEnhance, ImageOps

from distributor.errors import ShareError
from distributor.models import ShareCard, Story
from distributor.render.i18n import direction
from distributor.share.fetch import (
    AddressPolicy,
    FetchLimits,
    ImageRefused,
    fetch_image,
    read_local_image,
)
from distributor.share.fonts import BITMAP_STRIKE, FontChain, Run, is_bitmap, script_of

CARD_VERSION = "3"
CARD_QUALITY = 90
OG_SIZE = (1200, 630)
SQUARE_SIZE = (1080, 1080)
OG_MAX_BYTES = 5_000_000
THUMB_MAX_BYTES = 1_000_000
ELLIPSIS = "…"
_GRAPHEME = regex.compile(r"\X")

Color = tuple[int, int, int]


@dataclass(frozen=True, slots=True)
class CardSet:
    """The cards of one story in one language, and what could not be drawn as asked
    (a refused story image, glyphs that no installed font has), if anything."""

    og: ShareCard
    square: ShareCard
    thumb: ShareCard
    image_problem: str | None = None

    @property
    def cached(self) -> bool:
        return self.og.cached


@dataclass(frozen=True, slots=True)
class _Spec:
    size: tuple[int, int]
    margin: int
    max_font: int
    min_font: int
    label: int
    box_top: int


_SPECS = {
    "og": _Spec(OG_SIZE, 64, 84, 30, 28, 170),
    "square": _Spec(SQUARE_SIZE, 72, 104, 36, 32, 260),
}


def hex_color(color: str) -> Color:
    """``#rrggbb`` as an RGB tuple."""
    return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)


def break_units(text: str) -> list[str]:
    """``text`` cut where a line may break: after spaces, around CJK ideographs and kana."""
    units: list[str] = []
    buf = ""
    for cluster in _GRAPHEME.findall(text):
        cjk = script_of(cluster) == "cjk" and not (0xAC00 <= ord(cluster[0]) <= 0xD7AF)
        if cjk and buf and not buf.endswith(" "):
            units.append(buf)
            buf = ""
        buf += cluster
        if cluster.isspace() or (cjk and cluster not in "「『（"):
            units.append(buf)
            buf = ""
    if buf:
        units.append(buf)
    return units


class TextSetter:
    """Measures, wraps and draws text with a :class:`FontChain`, run by run."""

    def __init__(self, chain: FontChain, language: str) -> None:
        self.chain = chain
        self.language = language
        self.rtl = direction(language) == "rtl"
        self._widths: dict[tuple[str, int], float] = {}
        self._line_widths: dict[tuple[str, int], float] = {}

    def run_width(self, run: Run, size: int) -> float:
        key = (run.text, size) if run.face is None else (f"{run.face.path}\0{run.text}", size)
        if key in self._widths:
            return self._widths[key]
        if run.face is None:
            width = 0.6 * size * len(run.text)
        else:
            font = self.chain.font(run.face, size)
            width = font.getlength(
                run.text, direction="rtl" if run.rtl else "ltr", language=self.language
            )
            if is_bitmap(run.face):
                width *= size / BITMAP_STRIKE
        self._widths[key] = width
        return width

    def width(self, text: str, size: int) -> float:
        key = (text, size)
        found = self._line_widths.get(key)
        if found is None:
            found = sum(self.run_width(r, size) for r in self.chain.runs(text))
            self._line_widths[key] = found
        return found

    def wrap(self, text: str, size: int, width: float) -> list[str] | None:
        """Lines of ``text`` no wider than ``width``; None if a single unit is too wide."""
        lines: list[str] = []
        line = ""
        for unit in break_units(text):
            trial = line + unit
            if self.width(trial.rstrip(), size) <= width:
                line = trial
                continue
            if not line:
                return None
            lines.append(line.rstrip())
            line = unit.lstrip()
            if self.width(line.rstrip(), size) > width:
                return None
        if line.strip():
            lines.append(line.rstrip())
        return lines

    def fit(
        self, text: str, *, width: float, height: float, max_size: int, min_size: int
    ) -> tuple[int, list[str]]:
        """The largest size (and its lines) at which ``text`` fits the box."""
        sizes = list(range(max_size, min_size - 1, -2))
        best: tuple[int, list[str]] | None = None
        lo, hi = 0, len(sizes) - 1
        while lo <= hi:  # sizes are descending: find the first that fits
            mid = (lo + hi) // 2
            lines = self.wrap(text, sizes[mid], width)
            if lines is not None and len(lines) * sizes[mid] * 1.22 <= height:
                best = (sizes[mid], lines)
                hi = mid - 1
            else:
                lo = mid + 1
        if best:
            return best
        return min_size, self.truncate(text, min_size, width, int(height // (min_size * 1.22)))

    def truncate(self, text: str, size: int, width: float, max_lines: int) -> list[str]:
        """The last resort: as many lines as fit, the last one ending in an ellipsis."""
        lines: list[str] = []
        line = ""
        units = break_units(text)
        for i, unit in enumerate(units):
            trial = line + unit
            if self.width(trial.rstrip(), size) <= width:
                line = trial
                continue
            if line:
                lines.append(line.rstrip())
            line = unit.lstrip()
            if len(lines) == max_lines:
                line = ""
                units = units[:i]
                break
            while self.width(line, size) > width:  # one unit wider than the box
                line = "".join(_GRAPHEME.findall(line)[:-1])
        if line.strip() and len(lines) < max_lines:
            lines.append(line.rstrip())
        lines = lines[: max(1, max_lines)]
        last = lines[-1] if lines else ""
        clusters = _GRAPHEME.findall(last)
        while clusters and self.width("".join(clusters).rstrip() + ELLIPSIS, size) > width:
            clusters.pop()
        lines[-1:] = ["".join(clusters).rstrip(" ,.;:-–—") + ELLIPSIS]
        return lines

    def draw_line(
        self,
        image: Image.Image,
        text: str,
        size: int,
        *,
        start: float,
        end: float,
        baseline: float,
        fill: Color,
    ) -> None:
        """Draw one line: right-aligned in right-to-left languages, runs in visual order."""
        draw = ImageDraw.Draw(image)
        runs = self.chain.runs(text)
        widths = [self.run_width(r, size) for r in runs]
        total = sum(widths)
        paragraph_rtl = self.rtl or (bool(runs) and runs[0].rtl)
        order = list(zip(runs, widths, strict=True))
        if paragraph_rtl:
            order.reverse()
            x = end - total
        else:
            x = start
        for run, w in order:
            if run.face is not None and is_bitmap(run.face):
                _paste_emoji(image, self.chain.font(run.face, size), run.text, x, baseline, size)
            elif run.face is not None:
                draw.text(
                    (x, baseline),
                    run.text,
                    font=self.chain.font(run.face, size),
                    fill=fill,
                    anchor="ls",
                    direction="rtl" if run.rtl else "ltr",
                    language=self.language,
                )
            x += w


def _paste_emoji(
    image: Image.Image, font: object, text: str, x: float, baseline: float, size: int
) -> None:
    from PIL import ImageFont

    assert isinstance(font, ImageFont.FreeTypeFont)
    w = max(1, int(font.getlength(text)) + 4)
    h = int(BITMAP_STRIKE * 1.35)
    layer = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    ImageDraw.Draw(layer).text(
        (0, int(BITMAP_STRIKE * 1.1)), text, font=font, anchor="ls", embedded_color=True
    )
    scale = size / BITMAP_STRIKE
    layer = layer.resize((max(1, int(w * scale)), max(1, int(h * scale))), Image.Resampling.LANCZOS)
    top = int(baseline - BITMAP_STRIKE * 1.1 * scale)
    image.paste(layer, (int(x), top), layer)


class CardMaker:
    """Makes the cards of stories into ``directory``, cached by content."""

    def __init__(
        self,
        directory: Path,
        *,
        brand_name: str,
        brand_color: str,
        session: requests.Session | None = None,
        policy: AddressPolicy | None = None,
        limits: FetchLimits | None = None,
        chain_factory: Callable[[str], FontChain] = FontChain,
        section_label: Callable[[str, str], str] | None = None,
        local_images: tuple[str, Path] | None = None,
    ) -> None:
        """``section_label(section, language)``: the section's name in the story's
        language (the configured topic names); by default the section as written.
        ``local_images``: (URL prefix, folder) of the newsroom's own images, read from
        disk instead of fetched."""
        self.directory = directory
        self.local_images = local_images
        self.section_label = section_label
        self.brand_name = brand_name
        self.brand_color = brand_color
        self.session = session
        self.policy = policy or AddressPolicy()
        self.limits = limits or FetchLimits()
        self._chain_factory = chain_factory
        self._setters: dict[str, TextSetter] = {}

    def setter(self, language: str) -> TextSetter:
        """The text setter (and font chain) for ``language``, made once."""
        if language not in self._setters:
            self._setters[language] = TextSetter(self._chain_factory(language), language)
        return self._setters[language]

    def section(self, story: Story) -> str:
        """The label of the story's first section, in the story's language."""
        section = story.sections[0] if story.sections else ""
        if section and self.section_label is not None:
            return self.section_label(section, story.language) or section
        return section

    def fingerprint(self, story: Story) -> str:
        section = self.section(story)
        image = story.image_url if self._can_read(story.image_url) else None
        data = [
            CARD_VERSION,
            story.title,
            story.language,
            section,
            self.brand_name,
            self.brand_color,
            image,
        ]
        return hashlib.sha256(json.dumps(data, ensure_ascii=False).encode()).hexdigest()[:24]

    def _can_read(self, url: str | None) -> bool:
        if not url:
            return False
        own = self.local_images is not None and url.startswith(self.local_images[0])
        return own or self.session is not None

    def _image(self, url: str) -> Image.Image:
        """The story image: from the newsroom's own folder when it is there, else fetched."""
        if self.local_images is not None:
            local = read_local_image(url, *self.local_images, limits=self.limits)
            if local is not None:
                return local
        if self.session is None:
            raise ImageRefused("not in the newsroom's images folder, and fetching is off")
        return fetch_image(url, self.session, policy=self.policy, limits=self.limits)

    def alt_text(self, story: Story) -> str:
        section = self.section(story)
        parts = [story.title]
        if section:
            parts.append(section)
        parts.append(self.brand_name)
        return " · ".join(parts)

    def card(self, story: Story) -> ShareCard:
        """The Open Graph card of ``story`` (kept for callers that want only that)."""
        return self.card_set(story).og

    def card_set(self, story: Story) -> CardSet:
        """The three cards of ``story``; from the cache when nothing changed."""
        digest = self.fingerprint(story)
        alt = self.alt_text(story)
        paths = {
            "og": self.directory / f"{digest}-og.jpg",
            "square": self.directory / f"{digest}-square.jpg",
            "thumb": self.directory / f"{digest}-thumb.jpg",
        }
        if all(p.is_file() for p in paths.values()):
            return self._set(story, paths, alt, cached=True, problem=None)

        background: Image.Image | None = None
        problem: str | None = None
        if story.image_url and self._can_read(story.image_url):
            try:
                background = self._image(story.image_url)
            except ImageRefused as err:
                problem = f"image {story.image_url} refused ({err}); used the brand background"
        missing = "".join(
            r.text for r in self.setter(story.language).chain.runs(story.title) if r.face is None
        )
        if missing:  # drawn as nothing rather than as boxes, and said so
            note = f"no installed font has glyphs for {missing!r}; see scripts/ensure-fonts.sh"
            problem = f"{problem}; {note}" if problem else note
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            og = jpeg_under(self.draw(story, "og", background), OG_MAX_BYTES, first=CARD_QUALITY)
            _atomic_write(paths["og"], og)
            square = self.draw(story, "square", background)
            _atomic_write(paths["square"], jpeg_under(square, OG_MAX_BYTES, first=CARD_QUALITY))
            # the thumbnail is the Open Graph card itself when it fits Bluesky's budget
            thumb = og if len(og) <= THUMB_MAX_BYTES else None
            if thumb is None:
                with Image.open(io.BytesIO(og)) as decoded:
                    thumb = jpeg_under(decoded, THUMB_MAX_BYTES)
            _atomic_write(paths["thumb"], thumb)
        except OSError as err:
            raise ShareError(f"card for {story.id}: {err}") from err
        return self._set(story, paths, alt, cached=False, problem=problem)

    def _set(
        self,
        story: Story,
        paths: dict[str, Path],
        alt: str,
        *,
        cached: bool,
        problem: str | None,
    ) -> CardSet:
        def card(path: Path, size: tuple[int, int]) -> ShareCard:
            return ShareCard(story.id, story.language, str(path), *size, alt, cached=cached)

        return CardSet(
            card(paths["og"], OG_SIZE),
            card(paths["square"], SQUARE_SIZE),
            card(paths["thumb"], OG_SIZE),
            problem,
        )

    def draw(self, story: Story, kind: str, background: Image.Image | None) -> Image.Image:
        """One card image (``og`` or ``square``) of ``story``."""
        spec = _SPECS[kind]
        width, height = spec.size
        brand = hex_color(self.brand_color)
        if background is not None:
            image = ImageOps.fit(background.convert("RGB"), spec.size, Image.Resampling.BILINEAR)
            image = ImageEnhance.Brightness(image).enhance(0.42)
        else:
            image = Image.new("RGB", spec.size, brand)
        draw = ImageDraw.Draw(image)
        draw.rectangle(
            [0, height - 14, width, height], fill=brand if background else (255, 255, 255)
        )
        setter = self.setter(story.language)
        m = spec.margin
        start, end = m, width - m
        section = self.section(story)
        label = spec.label
        brand_line = _fit_one_line(setter, self.brand_name.upper(), label, end - start)
        setter.draw_line(
            image, brand_line, label, start=start, end=end, baseline=m + label, fill=(255, 255, 255)
        )
        if section:
            sec = _fit_one_line(setter, section.upper(), label, end - start)
            setter.draw_line(
                image,
                sec,
                label,
                start=start,
                end=end,
                baseline=m + label * 2.6,
                fill=(255, 214, 102),
            )
        box_h = height - m - 14 - spec.box_top
        size, lines = setter.fit(
            story.title,
            width=end - start,
            height=box_h,
            max_size=spec.max_font,
            min_size=spec.min_font,
        )
        y = float(spec.box_top + size)
        for line in lines:
            setter.draw_line(
                image, line, size, start=start, end=end, baseline=y, fill=(255, 255, 255)
            )
            y += size * 1.22
        return image


def _fit_one_line(setter: TextSetter, text: str, size: int, width: float) -> str:
    if setter.width(text, size) <= width:
        return text
    return setter.truncate(text, size, width, 1)[0]


def jpeg_under(image: Image.Image, max_bytes: int, *, first: int = 85) -> bytes:
    """``image`` as a JPEG of at most ``max_bytes``, lowering quality (then size) to fit."""
    img = image.convert("RGB")
    for _ in range(4):
        for quality in (first, 75, 62, 50, 40):
            buf = io.BytesIO()
            # no chroma subsampling at high quality: keeps the edges of text crisp
            img.save(buf, format="JPEG", quality=quality, subsampling=0 if quality >= 85 else 2)
            if buf.tell() <= max_bytes:
                return buf.getvalue()
        img = img.resize((img.width * 3 // 4, img.height * 3 // 4), Image.Resampling.LANCZOS)
    raise ShareError(f"cannot make a JPEG under {max_bytes} bytes")


def _atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)
