"""Languages of the digest and reader pages: gettext catalogs, locale formats, direction, fonts.

The interface strings live in gettext catalogs, one ``.po`` file per language
and domain under ``distributor/render/locale/<lang>/LC_MESSAGES/``:
``digest.po`` (the digest, its archive page and subject) and ``web.po`` (the
sign-up, confirm, preference and unsubscribe pages and the confirmation mail).
They are compiled in memory with Babel when first used, so a clean clone needs
no build step (``pybabel compile`` works too: a ``.mo`` next to the ``.po``
wins).  A language without a catalog gets the English strings around stories
in its own language.  Dates, numbers and language names come from Babel's CLDR
data; plural forms from each catalog's ``Plural-Forms`` (CLDR's rules).
"""

from __future__ import annotations

import io
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import PoFileError, read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from distributor.errors import ConfigError

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAIN = "digest"
WEB_DOMAIN = "web"
DASHBOARD_DOMAIN = "dashboard"  # the editor dashboard (distributor.web.dashboard_i18n)
DOMAINS = (DOMAIN, WEB_DOMAIN, DASHBOARD_DOMAIN)
RTL_LANGUAGES = frozenset({"ar", "he", "fa", "ur", "ps", "sd", "ug", "yi", "dv", "ckb"})

# Font stacks per script: the system fonts of Apple, Windows and Android first,
# then Noto (installed with most Linux desktops), then the generic family.
_FONT_STACKS: dict[str, str] = {
    "arabic": (
        "Tahoma, 'Segoe UI', 'Geeza Pro', 'Noto Naskh Arabic', 'Noto Sans Arabic', Arial, "
        "sans-serif"
    ),
    "urdu": "'Noto Nastaliq Urdu', 'Jameel Noori Nastaleeq', Tahoma, 'Segoe UI', Arial, sans-serif",
    "hebrew": "Arial, 'Segoe UI', 'Arial Hebrew', 'Noto Sans Hebrew', sans-serif",
    "japanese": (
        "'Hiragino Sans', 'Hiragino Kaku Gothic ProN', 'Yu Gothic', Meiryo, 'Noto Sans JP', "
        "sans-serif"
    ),
    "chinese": "'PingFang SC', 'Microsoft YaHei', 'Noto Sans SC', sans-serif",
    "korean": "'Apple SD Gothic Neo', 'Malgun Gothic', 'Noto Sans KR', sans-serif",
    "thai": "Thonburi, Tahoma, 'Leelawadee UI', 'Noto Sans Thai', sans-serif",
    "devanagari": "'Kohinoor Devanagari', 'Nirmala UI', Mangal, 'Noto Sans Devanagari', sans-serif",
    "latin": "-apple-system, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif",
}
_SCRIPT_OF: dict[str, str] = {
    "ar": "arabic",
    "fa": "arabic",
    "ps": "arabic",
    "sd": "arabic",
    "ug": "arabic",
    "ckb": "arabic",
    "ur": "urdu",
    "he": "hebrew",
    "yi": "hebrew",
    "ja": "japanese",
    "zh": "chinese",
    "ko": "korean",
    "th": "thai",
    "hi": "devanagari",
    "mr": "devanagari",
    "ne": "devanagari",
}


def base_language(tag: str) -> str:
    """``pt-BR`` -> ``pt``."""
    return tag.replace("_", "-").split("-")[0].lower()


def direction(tag: str) -> str:
    """``rtl`` for right-to-left scripts (Arabic, Hebrew, Persian, Urdu, ...), else ``ltr``."""
    return "rtl" if base_language(tag) in RTL_LANGUAGES else "ltr"


def font_stack(tag: str) -> str:
    """A CSS font-family list that covers the script of ``tag``."""
    return _FONT_STACKS[_SCRIPT_OF.get(base_language(tag), "latin")]


def babel_locale(tag: str) -> Locale:
    """The Babel locale for a BCP 47 tag, falling back to its base language, then English."""
    for candidate in (tag.replace("-", "_"), base_language(tag)):
        try:
            return Locale.parse(candidate)
        except (UnknownLocaleError, ValueError):
            continue
    return Locale.parse("en")


def language_name(tag: str, in_language: str) -> str:
    """The name of language ``tag`` in ``in_language`` (``en`` in ``ar``: ``الإنجليزية``)."""
    try:
        name = Locale.parse(tag.replace("-", "_")).get_display_name(babel_locale(in_language))
    except (UnknownLocaleError, ValueError):
        name = None
    return name or tag


def long_date(value: date | datetime, tag: str) -> str:
    """A date written out the way the locale writes it (``28 novembre 2026``)."""
    return format_date(value, format="long", locale=babel_locale(tag))


def short_datetime(value: datetime, tag: str, timezone: str) -> str:
    """A short local date and time in ``timezone``."""
    return format_datetime(
        value, format="short", tzinfo=ZoneInfo(timezone), locale=babel_locale(tag)
    )


def number(value: float, tag: str) -> str:
    """A number with the locale's digits grouping and decimal sign."""
    return format_decimal(value, locale=babel_locale(tag))


def catalog_languages(locale_dir: Path = LOCALE_DIR, domain: str = DOMAIN) -> list[str]:
    """Languages that have a catalog, as BCP 47 tags (``pt_BR`` -> ``pt-BR``)."""
    return sorted(
        p.parent.parent.name.replace("_", "-")
        for p in locale_dir.glob(f"*/LC_MESSAGES/{domain}.po")
    )


class CatalogProblem(ValueError):
    """A catalog file that cannot be read, or whose placeholders disagree with the English."""

    def __init__(self, path: Path, line: int, reason: str) -> None:
        super().__init__(f"{path}:{line}: {reason}")
        self.path, self.line, self.reason = path, line, reason


def check_catalogs(locale_dir: Path = LOCALE_DIR) -> list[CatalogProblem]:
    """Every problem of every catalog file: syntax errors and placeholder mismatches,
    each with its file and line (``config check`` reports them)."""
    problems: list[CatalogProblem] = []
    for path in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        lang = path.parent.parent.name
        try:
            with path.open("rb") as fh:
                catalog = read_po(fh, locale=lang, domain=path.stem, abort_invalid=True)
        except PoFileError as err:
            lineno = int(getattr(err, "lineno", 0)) + 1
            problems.append(CatalogProblem(path, lineno, str(err).split(" on ")[0]))
            continue
        except (ValueError, UnicodeDecodeError) as err:
            problems.append(CatalogProblem(path, 1, str(err)))
            continue
        for message, errors in catalog.check():
            for error in errors:
                problems.append(CatalogProblem(path, message.lineno or 1, str(error)))
    return problems


def verify_catalogs(locale_dir: Path = LOCALE_DIR) -> None:
    """Raise :class:`~distributor.errors.ConfigError` naming every broken catalog file
    and line (``distributor config check``)."""
    problems = check_catalogs(locale_dir)
    if problems:
        raise ConfigError("broken translation catalog: " + "; ".join(str(p) for p in problems))


class Catalogs:
    """Gettext translations per language, compiled from the ``.po`` files on first use."""

    def __init__(self, locale_dir: Path = LOCALE_DIR, domain: str = DOMAIN) -> None:
        self.locale_dir = locale_dir
        self.domain = domain
        self._cache: dict[str, NullTranslations] = {}

    def translations(self, tag: str) -> NullTranslations:
        """The translations for ``tag`` (``pt-BR`` -> ``pt_BR``, then ``pt``, then none)."""
        for candidate in (tag.replace("-", "_"), base_language(tag)):
            if candidate in self._cache:
                return self._cache[candidate]
            found = self._load(candidate)
            if found is not None:
                self._cache[candidate] = found
                return found
        return self._cache.setdefault("", NullTranslations())

    def has(self, tag: str) -> bool:
        return isinstance(self.translations(tag), Translations)

    def _load(self, name: str) -> Translations | None:
        folder = self.locale_dir / name / "LC_MESSAGES"
        mo, po = folder / f"{self.domain}.mo", folder / f"{self.domain}.po"
        if mo.is_file() and (not po.is_file() or mo.stat().st_mtime >= po.stat().st_mtime):
            with mo.open("rb") as fh:
                return Translations(fh, domain=self.domain)
        if not po.is_file():
            return None
        with po.open("rb") as fh:
            catalog = read_po(fh, locale=name, domain=self.domain)
        buf = io.BytesIO()
        write_mo(buf, catalog)
        buf.seek(0)
        return Translations(buf, domain=self.domain)


def catalog_strings(tag: str, catalogs: Catalogs | None = None) -> dict[str, str]:
    """The singular interface strings of one language: msgid -> translation."""
    translations = (catalogs or Catalogs()).translations(tag)
    catalog = getattr(translations, "_catalog", {})
    return {k: v for k, v in catalog.items() if isinstance(k, str) and k}


def __getattr__(name: str) -> object:
    # ``STRINGS`` (language -> its strings) was a dict in this module before the
    # catalogs; callers that list the digest's languages with it keep working.
    if name == "STRINGS":
        catalogs = Catalogs()
        return {lang: catalog_strings(lang, catalogs) for lang in catalog_languages()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
