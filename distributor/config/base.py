"""What every section shares: the strict frozen base model, the validated string types
(time zones, language tags, colours, networks, senders) and per-language values.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
)


def _timezone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError) as err:
        raise ValueError(f"unknown time zone {value!r}") from err
    return value


def _language(value: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", value):
        raise ValueError(f"{value!r} is not a BCP 47 language tag")
    return value


def _color(value: str) -> str:
    if not re.fullmatch(r"#[0-9a-fA-F]{6}", value):
        raise ValueError(f"{value!r} is not a colour like '#0b3d91'")
    return value


def _network(value: str) -> str:
    try:
        ipaddress.ip_network(value)
    except ValueError as err:
        raise ValueError(
            f"{value!r} is not a network (like '10.0.0.0/8', 'fd00::/8' or '192.0.2.7')"
        ) from err
    return value


def _srgb(channel: int) -> float:
    c = channel / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def relative_luminance(color: str) -> float:
    """WCAG 2.1 relative luminance of ``#rrggbb``."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _srgb(r) + 0.7152 * _srgb(g) + 0.0722 * _srgb(b)


def contrast_ratio(a: str, b: str) -> float:
    """WCAG 2.1 contrast ratio of two ``#rrggbb`` colours, from 1 to 21."""
    la, lb = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


#: the colour of the header text and buttons drawn on ``brand_color`` (mail and web pages)
BRAND_TEXT_COLOR = "#fcfcfd"
#: WCAG 2.1 AA for normal text (1.4.3)
MIN_CONTRAST = 4.5


def _brand_color(value: str) -> str:
    value = _color(value)
    ratio = contrast_ratio(value, BRAND_TEXT_COLOR)
    if ratio < MIN_CONTRAST:
        raise ValueError(
            f"{value!r} gives a contrast of {ratio:.2f}:1 with the white header text; "
            f"WCAG 2.1 AA needs at least {MIN_CONTRAST}:1 (pick a darker colour, "
            f"e.g. {darker_until_readable(value)!r})"
        )
    return value


def darker_until_readable(color: str, against: str = BRAND_TEXT_COLOR) -> str:
    """``color`` darkened in steps until white text on it reaches :data:`MIN_CONTRAST`."""
    r, g, b = (int(color[i : i + 2], 16) for i in (1, 3, 5))
    for step in range(101):
        f = 1 - step / 100
        candidate = f"#{round(r * f):02x}{round(g * f):02x}{round(b * f):02x}"
        if contrast_ratio(candidate, against) >= MIN_CONTRAST:
            return candidate
    return "#000000"


def _sender(value: str) -> str:
    """A sender or reply-to any transport can send from (an IDN domain is fine: it goes
    in ASCII; a non-ASCII local part is not, see ``addresses.check_sender``)."""
    from distributor.addresses import check_sender

    check_sender(value)
    return value


TimeZone = Annotated[str, AfterValidator(_timezone)]
Sender = Annotated[str, AfterValidator(_sender)]
Network = Annotated[str, AfterValidator(_network)]
Language = Annotated[str, AfterValidator(_language)]
Color = Annotated[str, AfterValidator(_color)]
BrandColor = Annotated[str, AfterValidator(_brand_color)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def in_language(values: Mapping[str, str], language: str, default: str) -> str:
    """The value for ``language`` from per-language ``values`` (``pt-BR`` -> ``pt``),
    else ``default``."""
    if not values:
        return default
    tag = language.replace("_", "-")
    wanted = [tag.lower()]
    parts = tag.split("-")
    wanted += ["-".join(parts[:i]).lower() for i in range(len(parts) - 1, 0, -1)]
    lowered = {k.lower(): v for k, v in values.items()}
    for w in wanted:
        if lowered.get(w):
            return lowered[w]
    return default
