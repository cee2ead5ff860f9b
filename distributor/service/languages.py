"""What doors need to know about languages and scripts: the catalogs' languages, a
tag's base language, direction and fonts, its Babel locale, and the catalogs of the web
pages' strings.  Pure functions of the render stage's i18n, given to the doors here."""

from __future__ import annotations

from babel import Locale

from distributor.render import i18n as _i18n
from distributor.selection import normalize_language

WEB_DOMAIN = _i18n.WEB_DOMAIN
DASHBOARD_DOMAIN = _i18n.DASHBOARD_DOMAIN
Catalogs = _i18n.Catalogs

__all__ = [
    "DASHBOARD_DOMAIN",
    "WEB_DOMAIN",
    "Catalogs",
    "babel_locale",
    "base_language",
    "catalog_languages",
    "direction",
    "font_stack",
    "normalize_language",
]


def catalog_languages(domain: str = _i18n.DOMAIN) -> list[str]:
    """Every language a catalog domain speaks (default: the digest's)."""
    return _i18n.catalog_languages(domain=domain)


def base_language(tag: str) -> str:
    """``pt-BR`` -> ``pt``."""
    return _i18n.base_language(tag)


def direction(tag: str) -> str:
    """``rtl`` or ``ltr``."""
    return _i18n.direction(tag)


def font_stack(tag: str) -> str:
    """The CSS font stack for the script of ``tag``."""
    return _i18n.font_stack(tag)


def babel_locale(tag: str) -> Locale:
    """The Babel locale of ``tag`` (its names of languages and dates)."""
    return _i18n.babel_locale(tag)
