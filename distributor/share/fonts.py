"""Fonts for share cards: one font per run of text, chosen by glyph coverage.

Where fonts come from, in order of preference:

1. **System fonts through fontconfig** (``fc-match``): the best sans-serif for
   the story's language, then a preferred family per script (Noto Sans Arabic,
   Noto Sans Hebrew, Noto Sans Devanagari, Noto Sans CJK JP/SC/TC/KR chosen by
   the language, Noto Color Emoji), then fontconfig's whole fallback list.
   ``make`` installs the Debian packages ``fonts-noto-core``,
   ``fonts-noto-cjk`` and ``fonts-noto-color-emoji`` when they are missing and
   it can (see ``scripts/ensure-fonts.sh``).
2. **Bundled OFL fonts** from PyPI, installed with the project: Noto Sans
   Arabic (``fontpkg-noto-sans-arabic``) and Noto Sans Devanagari
   (``fontpkg-noto-sans-devanagari``), used when fontconfig has nothing better.

Each grapheme cluster is given the first font whose character map (read with
fontTools) covers every code point in it; a cluster with emoji goes to a
colour emoji font.  Consecutive clusters with the same font form a *run*.
Runs are shaped by Pillow's raqm layout (never pre-shaped by another library).
"""

from __future__ import annotations

import contextlib
import functools
import shutil
import subprocess
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import regex
from fontTools.ttLib import TTCollection, TTFont
from PIL import ImageFont, features

# Colour emoji fonts (CBDT) only load at their bitmap strike size.
BITMAP_STRIKE = 109
_GRAPHEME = regex.compile(r"\X")
# Code points that a cluster may contain without needing a glyph of its own.
_IGNORABLE = {0x200C, 0x200D, 0xFE0E, 0xFE0F, 0x20E3} | set(range(0xE0020, 0xE0080))

SCRIPT_FAMILIES: dict[str, tuple[str, ...]] = {
    "arabic": ("Noto Sans Arabic", "Noto Naskh Arabic"),
    "hebrew": ("Noto Sans Hebrew",),
    "devanagari": ("Noto Sans Devanagari",),
    "emoji": ("Noto Color Emoji",),
}
CJK_FAMILY = {
    "ja": "Noto Sans CJK JP",
    "ko": "Noto Sans CJK KR",
    "zh": "Noto Sans CJK SC",
    "zh-tw": "Noto Sans CJK TC",
    "zh-hant": "Noto Sans CJK TC",
    "zh-hk": "Noto Sans CJK HK",
}


@dataclass(frozen=True, slots=True)
class Face:
    """One font file (and face index inside a collection)."""

    path: str
    index: int = 0

    @property
    def name(self) -> str:
        return Path(self.path).name


@dataclass(frozen=True, slots=True)
class Run:
    """Consecutive text drawn with one face; ``face`` is None when nothing covers it."""

    text: str
    face: Face | None
    rtl: bool


def script_of(cluster: str) -> str:
    """A coarse script class of a grapheme cluster, for font preference."""
    for ch in cluster:
        cp = ord(ch)
        if is_emoji(cp):
            return "emoji"
    cp = ord(cluster[0])
    if 0x0590 <= cp <= 0x05FF or 0xFB1D <= cp <= 0xFB4F:
        return "hebrew"
    if 0x0600 <= cp <= 0x06FF or 0x0750 <= cp <= 0x08FF or 0xFB50 <= cp <= 0xFEFF:
        return "arabic"
    if 0x0900 <= cp <= 0x097F or 0xA8E0 <= cp <= 0xA8FF:
        return "devanagari"
    if (
        0x1100 <= cp <= 0x11FF
        or 0x2E80 <= cp <= 0x9FFF
        or 0xAC00 <= cp <= 0xD7AF
        or 0xF900 <= cp <= 0xFAFF
        or 0xFF00 <= cp <= 0xFFEF
        or 0x20000 <= cp <= 0x3FFFF
    ):
        return "cjk"
    return "other"


def is_emoji(cp: int) -> bool:
    """Whether a code point is drawn from an emoji font (pictographs, flags, keycaps)."""
    return (
        0x1F000 <= cp <= 0x1FAFF
        or 0x2600 <= cp <= 0x27BF
        or cp in (0x2B50, 0x2B55, 0x231A, 0x231B, 0x23F0, 0x23F3, 0x20E3)
    )


def is_rtl(text: str) -> bool:
    """Whether ``text`` holds a strong right-to-left character."""
    return any(unicodedata.bidirectional(ch) in ("R", "AL") for ch in text)


@functools.cache
def coverage(face: Face) -> frozenset[int]:
    """The code points ``face`` has glyphs for (its best Unicode cmap)."""
    try:
        if face.path.lower().endswith((".ttc", ".otc")):
            with TTCollection(face.path, lazy=True) as collection:
                cmap = dict(collection.fonts[face.index].getBestCmap() or {})
        else:
            with TTFont(face.path, lazy=True, fontNumber=face.index) as font:
                cmap = dict(font.getBestCmap() or {})
    except Exception:  # a broken or unreadable font covers nothing
        return frozenset()
    return frozenset(cmap)


def _fc(args: Sequence[str]) -> list[Face]:
    exe = shutil.which(args[0])
    if not exe:
        return []
    try:
        out = subprocess.run(
            [exe, *args[1:]], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    faces = []
    for line in out.splitlines():
        path, _, index = line.partition("|")
        if path and Path(path).is_file() and path.lower().endswith((".ttf", ".otf", ".ttc")):
            faces.append(Face(path, int(index or 0)))
    return faces


def _family_face(family: str, bold: bool) -> Face | None:
    """The file of ``family`` if fontconfig has it (fc-match always answers something)."""
    exe = shutil.which("fc-match")
    if not exe:
        return None
    weight = ":weight=bold" if bold else ""
    try:
        out = subprocess.run(
            [exe, "--format", "%{file}|%{index}|%{family}", f"{family}{weight}"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    path, _, rest = out.partition("|")
    index, _, families = rest.partition("|")
    if path and Path(path).is_file() and family.lower() in families.lower():
        return Face(path, int(index or 0))
    return None


def bundled_faces() -> list[Face]:
    """The OFL fonts installed with the project from PyPI (fontpkg packages)."""
    faces = []
    for module in ("fontpkg_noto_sans_arabic", "fontpkg_noto_sans_devanagari"):
        try:
            mod = __import__(module)
        except ImportError:
            continue
        root = Path(mod.ROOT) / "files"
        faces += [Face(str(p)) for p in sorted(root.glob("*.[ot]tf"))]
    return faces


class FontChain:
    """The ordered fonts tried for one language; picks a face per grapheme cluster."""

    def __init__(self, language: str, *, bold: bool = True, extra: Iterable[Face] = ()) -> None:
        self.language = language
        self.bold = bold
        self.by_script: dict[str, list[Face]] = {}
        self.general: list[Face] = list(extra)
        if shutil.which("fc-match"):
            self._from_fontconfig()
        bundled = bundled_faces()
        self.by_script.setdefault("arabic", []).extend(f for f in bundled if "Arabic" in f.path)
        self.by_script.setdefault("devanagari", []).extend(
            f for f in bundled if "Devanagari" in f.path
        )
        self.general += bundled
        self._sizes: dict[tuple[Face, int], ImageFont.FreeTypeFont] = {}
        self._pick: dict[str, Face | None] = {}
        self._runs: dict[str, list[Run]] = {}

    def _from_fontconfig(self) -> None:
        lang = self.language.lower()
        weight = ":weight=bold" if self.bold else ""
        primary = _fc(
            ["fc-match", "--format", "%{file}|%{index}\n", f"sans-serif:lang={lang}{weight}"]
        )
        self.general += primary
        cjk = CJK_FAMILY.get(lang) or CJK_FAMILY.get(lang.split("-")[0], "Noto Sans CJK JP")
        families = {**SCRIPT_FAMILIES, "cjk": (cjk, *sorted(set(CJK_FAMILY.values()) - {cjk}))}
        for script, names in families.items():
            for family in names:
                face = _family_face(family, self.bold and script != "emoji")
                if face:
                    self.by_script.setdefault(script, []).append(face)
        self.general += _fc(
            ["fc-match", "-s", "--format", "%{file}|%{index}\n", f"sans-serif:lang={lang}{weight}"]
        )

    def face_for(self, cluster: str) -> Face | None:
        """The first face covering every code point of ``cluster`` (None: nothing does)."""
        if cluster in self._pick:
            return self._pick[cluster]
        needed = {ord(c) for c in cluster} - _IGNORABLE or {ord(cluster[0])}
        script = script_of(cluster)
        candidates = self.by_script.get(script, []) + self.general
        if script == "emoji":
            candidates = self.by_script.get("emoji", []) + self.general
        found = next((f for f in candidates if needed <= coverage(f)), None)
        self._pick[cluster] = found
        return found

    def runs(self, text: str) -> list[Run]:
        """``text`` split into runs of one face each, in logical order."""
        found = self._runs.get(text)
        if found is None:
            if len(self._runs) > 50_000:  # bound the memory of a long run
                self._runs.clear()
            found = self._runs[text] = self._split(text)
        return found

    def _split(self, text: str) -> list[Run]:
        runs: list[Run] = []
        current: Face | None = None
        buf: list[str] = []
        for cluster in _GRAPHEME.findall(text):
            needed = {ord(c) for c in cluster} - _IGNORABLE
            emoji = script_of(cluster) == "emoji"
            if (
                buf
                and current is not None
                and not emoji
                and not _is_bitmap(current)
                and needed <= coverage(current)
                and script_of(cluster) in ("other",)
            ):
                buf.append(cluster)
                continue
            face = self.face_for(cluster)
            if buf and face == current:
                buf.append(cluster)
                continue
            if buf:
                chunk = "".join(buf)
                runs.append(Run(chunk, current, is_rtl(chunk)))
            buf, current = [cluster], face
        if buf:
            chunk = "".join(buf)
            runs.append(Run(chunk, current, is_rtl(chunk)))
        return runs

    def font(self, face: Face, size: int) -> ImageFont.FreeTypeFont:
        """A Pillow font for ``face`` at ``size`` (bitmap fonts at their strike size)."""
        real = BITMAP_STRIKE if _is_bitmap(face) else size
        key = (face, real)
        if key not in self._sizes:
            engine = ImageFont.Layout.RAQM if features.check("raqm") else ImageFont.Layout.BASIC
            font = ImageFont.truetype(face.path, real, index=face.index, layout_engine=engine)
            if self.bold and "[" in face.path:  # variable font: pick the bold instance
                with contextlib.suppress(OSError, ValueError):
                    font.set_variation_by_name("Bold")
            self._sizes[key] = font
        return self._sizes[key]


@functools.cache
def _is_bitmap(face: Face) -> bool:
    """Colour bitmap fonts (CBDT or sbix, no outlines) only load at their strike size."""
    try:
        if face.path.lower().endswith((".ttc", ".otc")):
            with TTCollection(face.path, lazy=True) as collection:
                tags = set(collection.fonts[face.index].keys())
        else:
            with TTFont(face.path, lazy=True, fontNumber=face.index) as font:
                tags = set(font.keys())
    except Exception:
        return False
    return bool(tags & {"CBDT", "sbix"}) and not tags & {"glyf", "CFF ", "CFF2"}


def is_bitmap(face: Face | None) -> bool:
    """Whether ``face`` is a colour bitmap font drawn at its strike size and scaled."""
    return face is not None and _is_bitmap(face)
