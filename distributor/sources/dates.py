"""Dates as feeds and CMSes write them, read exactly or refused in words.

The forms read by our own rules, never completed with today's date:

- W3C-DTF / RFC 3339 / ISO 8601: ``2026``, ``2026-11``, ``2026-11-28``,
  ``2026-11-28T15:00``, ``2026-11-28 15:00:00.5+09:00``, ``20261128T150000Z``
  and two-digit years (``26-11-28``).  A bare year or a year and a month are
  read as the first day of that period, with a note saying so.
- RFC 822 / 2822 / 1123: ``Sat, 28 Nov 2026 15:00:00 +0900``, two-digit years
  (RFC 5322 section 4.3: ``00-49`` are 2000-2049, ``50-99`` 1950-1999), full
  month names, ``GMT+0100`` / ``UTC+1`` / ``GMT-01:01`` (the sign as written:
  ``GMT+0100`` is one hour *east* of Greenwich, not the POSIX inverse) and the
  zone abbreviations of :data:`ZONES`.

Anything else goes to dateutil, which must find a year, a month and a day in
it (a missing one is never filled in from today).  Without a zone, a time is
in the source's ``timezone``.

An abbreviation that names more than one zone (``IST``, ``CST``, ``BST``...)
is settled by the source's ``timezone`` when that zone uses it; otherwise it
is read in its most common meaning and a note says so.  Every refusal is a
:class:`DateError` whose message is a sentence for the source's problems.
"""

from __future__ import annotations

import math
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from dateutil import parser as dateparser
from dateutil.parser import UnknownTimezoneWarning

__all__ = ["ZONES", "DateError", "ReadDate", "UnknownDateForm", "read_date"]

# the widest offset a real zone has used is 15:56; ISO 8601 implementations allow 18
MAX_OFFSET = timedelta(hours=18)
# numbers above this are milliseconds since the epoch (JavaScript CMSes)
_MILLIS_FROM = 1e11


class DateError(ValueError):
    """A date is present but cannot be read exactly; the message says why, in words.

    Internal to the sources: :func:`~distributor.sources.normalize.normalize`
    turns it into one item's problem.
    """


class UnknownDateForm(DateError):
    """A string in no form we know (a lenient parser's reading may be used, with a note)."""


@dataclass(frozen=True, slots=True)
class ReadDate:
    """A UTC-aware time and, when the reading was not certain, a note in words."""

    when: datetime
    note: str | None = None


@dataclass(frozen=True, slots=True)
class Meaning:
    """One meaning of a zone abbreviation: its offset and the IANA zones that use it."""

    minutes: int
    label: str
    zones: tuple[str, ...] = ()

    @property
    def offset(self) -> timedelta:
        return timedelta(minutes=self.minutes)


@dataclass(frozen=True, slots=True)
class Abbreviation:
    """What an abbreviation can mean; ``meanings[0]`` when the source's zone does not say.

    ``ambiguous`` abbreviations are in common use for more than one zone: reading
    one in its first meaning without the source's zone to confirm it is reported.
    """

    meanings: tuple[Meaning, ...]
    ambiguous: bool = False


def _one(minutes: int, label: str, *zones: str) -> Abbreviation:
    return Abbreviation((Meaning(minutes, label, zones),))


_US_CENTRAL = ("America/Chicago", "America/Winnipeg", "America/Mexico_City", "America/Regina")
_ARABIA = ("Asia/Riyadh", "Asia/Baghdad", "Asia/Kuwait", "Asia/Qatar", "Asia/Bahrain", "Asia/Aden")

#: zone abbreviations feeds really use (upper case) and what each can mean
ZONES: dict[str, Abbreviation] = {
    "UT": _one(0, "UTC"),
    "UTC": _one(0, "UTC"),
    "GMT": _one(0, "UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon"),
    "Z": _one(0, "UTC"),
    "WET": _one(0, "Western European Time", "Europe/Lisbon", "Atlantic/Canary"),
    "WEST": _one(60, "Western European Summer Time", "Europe/Lisbon", "Atlantic/Canary"),
    "BST": Abbreviation(
        (
            Meaning(60, "British Summer Time", ("Europe/London",)),
            Meaning(360, "Bangladesh Standard Time", ("Asia/Dhaka",)),
            Meaning(660, "Bougainville Standard Time", ("Pacific/Bougainville",)),
        ),
        ambiguous=True,
    ),
    "IST": Abbreviation(
        (
            Meaning(330, "India Standard Time", ("Asia/Kolkata", "Asia/Calcutta")),
            Meaning(60, "Irish Standard Time", ("Europe/Dublin",)),
            Meaning(120, "Israel Standard Time", ("Asia/Jerusalem", "Asia/Tel_Aviv")),
        ),
        ambiguous=True,
    ),
    "IDT": _one(180, "Israel Daylight Time", "Asia/Jerusalem", "Asia/Tel_Aviv"),
    "CET": _one(60, "Central European Time"),
    "CEST": _one(120, "Central European Summer Time"),
    "MET": _one(60, "Central European Time"),
    "MEST": _one(120, "Central European Summer Time"),
    "EET": _one(120, "Eastern European Time"),
    "EEST": _one(180, "Eastern European Summer Time"),
    "MSK": _one(180, "Moscow Time", "Europe/Moscow"),
    "TRT": _one(180, "Turkey Time", "Europe/Istanbul"),
    "SAST": _one(120, "South Africa Standard Time"),
    "WAT": _one(60, "West Africa Time"),
    "CAT": _one(120, "Central Africa Time"),
    "EAT": _one(180, "East Africa Time"),
    "GST": _one(240, "Gulf Standard Time", "Asia/Dubai", "Asia/Muscat"),
    "IRST": _one(210, "Iran Standard Time", "Asia/Tehran"),
    "AFT": _one(270, "Afghanistan Time", "Asia/Kabul"),
    "PKT": _one(300, "Pakistan Standard Time", "Asia/Karachi"),
    "NPT": _one(345, "Nepal Time", "Asia/Kathmandu"),
    "ICT": _one(420, "Indochina Time"),
    "WIB": _one(420, "Western Indonesia Time", "Asia/Jakarta"),
    "WITA": _one(480, "Central Indonesia Time", "Asia/Makassar"),
    "WIT": _one(540, "Eastern Indonesia Time", "Asia/Jayapura"),
    "SGT": _one(480, "Singapore Time", "Asia/Singapore"),
    "MYT": _one(480, "Malaysia Time", "Asia/Kuala_Lumpur"),
    "HKT": _one(480, "Hong Kong Time", "Asia/Hong_Kong"),
    "PHT": _one(480, "Philippine Time", "Asia/Manila"),
    "AWST": _one(480, "Australian Western Standard Time", "Australia/Perth"),
    "CST": Abbreviation(
        (
            Meaning(-360, "US Central Standard Time", _US_CENTRAL),
            Meaning(480, "China Standard Time", ("Asia/Shanghai", "Asia/Taipei", "Asia/Macau")),
            Meaning(-300, "Cuba Standard Time", ("America/Havana",)),
        ),
        ambiguous=True,
    ),
    "CDT": Abbreviation(
        (
            Meaning(-300, "US Central Daylight Time", _US_CENTRAL),
            Meaning(-240, "Cuba Daylight Time", ("America/Havana",)),
        )
    ),
    "JST": _one(540, "Japan Standard Time", "Asia/Tokyo"),
    "KST": _one(540, "Korea Standard Time", "Asia/Seoul"),
    "ACST": _one(570, "Australian Central Standard Time", "Australia/Adelaide"),
    "ACDT": _one(630, "Australian Central Daylight Time", "Australia/Adelaide"),
    "AEST": _one(600, "Australian Eastern Standard Time", "Australia/Sydney"),
    "AEDT": _one(660, "Australian Eastern Daylight Time", "Australia/Sydney"),
    "NZST": _one(720, "New Zealand Standard Time", "Pacific/Auckland"),
    "NZDT": _one(780, "New Zealand Daylight Time", "Pacific/Auckland"),
    "HST": _one(-600, "Hawaii Standard Time", "Pacific/Honolulu"),
    "AKST": _one(-540, "Alaska Standard Time", "America/Anchorage"),
    "AKDT": _one(-480, "Alaska Daylight Time", "America/Anchorage"),
    "PST": _one(-480, "US Pacific Standard Time", "America/Los_Angeles"),
    "PDT": _one(-420, "US Pacific Daylight Time", "America/Los_Angeles"),
    "MST": _one(-420, "US Mountain Standard Time", "America/Denver", "America/Phoenix"),
    "MDT": _one(-360, "US Mountain Daylight Time", "America/Denver"),
    "EST": _one(-300, "US Eastern Standard Time", "America/New_York", "America/Toronto"),
    "EDT": _one(-240, "US Eastern Daylight Time", "America/New_York", "America/Toronto"),
    "AST": Abbreviation(
        (
            Meaning(-240, "Atlantic Standard Time", ("America/Halifax", "America/Puerto_Rico")),
            Meaning(180, "Arabia Standard Time", _ARABIA),
        ),
        ambiguous=True,
    ),
    "ADT": _one(-180, "Atlantic Daylight Time", "America/Halifax"),
    "NST": _one(-210, "Newfoundland Standard Time", "America/St_Johns"),
    "NDT": _one(-150, "Newfoundland Daylight Time", "America/St_Johns"),
    "BRT": _one(-180, "Brasília Time", "America/Sao_Paulo"),
    "ART": _one(-180, "Argentina Time", "America/Argentina/Buenos_Aires"),
    "CLT": _one(-240, "Chile Standard Time", "America/Santiago"),
    "CLST": _one(-180, "Chile Summer Time", "America/Santiago"),
    "COT": _one(-300, "Colombia Time", "America/Bogota"),
    "PET": _one(-300, "Peru Time", "America/Lima"),
}

_MONTHS = {
    name: number
    for number, names in enumerate(
        [
            ("jan", "january"),
            ("feb", "february"),
            ("mar", "march"),
            ("apr", "april"),
            ("may",),
            ("jun", "june"),
            ("jul", "july"),
            ("aug", "august"),
            ("sep", "sept", "september"),
            ("oct", "october"),
            ("nov", "november"),
            ("dec", "december"),
        ],
        start=1,
    )
    for name in names
}

_TIME = r"(?P<H>\d{1,2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:[.,](?P<f>\d+))?)?"
_ISO = re.compile(
    r"^(?P<y>\d{4}|\d{2})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    rf"(?:(?:T|\s+){_TIME}\s*(?P<z>Z|[+-]\d{{2}}(?::?\d{{2}})?)?)?)?)?$",
    re.I,
)
_ISO_BASIC = re.compile(
    r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2})(?P<M>\d{2})(?P<S>\d{2})?(?:[.,](?P<f>\d+))?"
    r"(?P<z>Z|[+-]\d{2}(?::?\d{2})?)?)?$",
    re.I,
)
_RFC822 = re.compile(
    r"^(?:(?P<wd>[A-Za-z]+)\.?,?\s*)?(?P<d>\d{1,2})[\s-]+(?P<mon>[A-Za-z]+)\.?[\s-]+"
    rf"(?P<y>\d{{4}}|\d{{2}})(?:(?:\s+|T){_TIME})?\s*(?P<z>[^()]*?)\s*(?:\(.*\))?$"
)
_NUMERIC_ZONE = re.compile(r"^(?P<sign>[+-])(?P<h>\d{2}):?(?P<m>\d{2})?$")
# "GMT+0100", "UTC+1", "GMT-01:01", "UT +5:30": the offset as written (ISO sign)
_NAMED_OFFSET = re.compile(
    r"^(?:GMT|UTC|UT)\s*(?P<sign>[+-])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?$", re.I
)
_NAMED_OFFSET_ANYWHERE = re.compile(
    r"\b(?:GMT|UTC|UT)\s*(?P<sign>[+-])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?\b", re.I
)
_ABBREVIATION = re.compile(r"^[A-Za-z]{1,6}$")


def read_date(value: Any, zone: ZoneInfo) -> ReadDate | None:
    """``value`` (a datetime, a date, an epoch number or a string) as a UTC time.

    ``None`` for an absent value; :class:`DateError` for one that cannot be
    read exactly.  Times without a zone are in ``zone``.
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise DateError(f"unreadable date {value!r}")
    if isinstance(value, datetime):
        return ReadDate(_utc(value, zone, value))
    if isinstance(value, date):  # a date (YAML front matter)
        return ReadDate(_utc(datetime(value.year, value.month, value.day), zone, value))
    if isinstance(value, int | float):
        return ReadDate(_epoch(value))
    if isinstance(value, str):
        return _read_text(value.strip(), zone)
    raise DateError(f"unreadable date {_show(value)}")


def _epoch(value: float) -> datetime:
    if isinstance(value, float) and not math.isfinite(value):
        raise DateError(f"date number {value!r} is not a time")
    try:
        seconds = value / 1000 if abs(value) > _MILLIS_FROM else value
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError) as err:
        raise DateError(f"date number {_show(value)} is out of range for a time") from err


def _read_text(text: str, zone: ZoneInfo) -> ReadDate | None:
    if not text:
        return None
    m = _ISO.match(text) or _ISO_BASIC.match(text)
    if m:
        return _from_iso(m, text, zone)
    m = _RFC822.match(text)
    if m and m.group("mon").lower() in _MONTHS:
        return _from_rfc822(m, text, zone)
    return _lenient(text, zone)


def _year(digits: str) -> int:
    """A year; two digits as RFC 5322 section 4.3 says (00-49: 20xx, 50-99: 19xx)."""
    year = int(digits)
    if len(digits) == 2:
        year += 2000 if year < 50 else 1900
    return year


def _from_iso(m: re.Match[str], text: str, zone: ZoneInfo) -> ReadDate:
    year = _year(m.group("y"))
    month, day = m.group("m"), m.group("d")
    if len(m.group("y")) == 2 and day is None:
        raise UnknownDateForm(f"unreadable date {text!r}")
    note = None
    if month is None:
        note = f"date {text!r} gives only a year; read as {year:04d}-01-01"
    elif day is None:
        note = f"date {text!r} gives only a year and a month; read as {year:04d}-{month}-01"
    local = _local(text, year, int(month or 1), int(day or 1), m)
    tz = _numeric_zone(m.group("z"), text) if m.group("z") else None
    return ReadDate(_attach(local, tz, zone, text), note)


def _from_rfc822(m: re.Match[str], text: str, zone: ZoneInfo) -> ReadDate:
    local = _local(text, _year(m.group("y")), _MONTHS[m.group("mon").lower()], int(m.group("d")), m)
    written = m.group("z").strip()
    if not written:
        return ReadDate(_attach(local, None, zone, text))
    named = _NAMED_OFFSET.match(written)
    if named:
        return ReadDate(_attach(local, _offset_zone(named, text), zone, text))
    if _NUMERIC_ZONE.match(written):
        return ReadDate(_attach(local, _numeric_zone(written, text), zone, text))
    if _ABBREVIATION.match(written):
        offset, note = zone_offset(written, local, zone, text)
        return ReadDate(_attach(local, timezone(offset), zone, text), note)
    return _lenient(text, zone)  # "3pm CET" and other forms dateutil knows


def _local(text: str, year: int, month: int, day: int, m: re.Match[str]) -> datetime:
    """The naive local time of a match, refused in words when it is not a real time."""
    hour = int(m.group("H") or 0)
    minute = int(m.group("M") or 0)
    second = int(m.group("S") or 0)
    micro = int((m.group("f") or "0")[:6].ljust(6, "0"))
    extra = timedelta()
    if hour == 24 and minute == second == micro == 0:  # ISO 8601: the end of the day
        hour, extra = 0, timedelta(days=1)
    second = min(second, 59)  # a leap second
    try:
        return datetime(year, month, day, hour, minute, second, micro) + extra
    except (ValueError, OverflowError) as err:
        raise DateError(f"date {text!r} is not a real date or time") from err


def _numeric_zone(written: str, text: str) -> tzinfo:
    if written.upper() == "Z":
        return UTC
    m = _NUMERIC_ZONE.match(written)
    if not m:  # pragma: no cover - the callers match the same forms
        raise DateError(f"unreadable time zone {written!r} in date {text!r}")
    return _offset_zone(m, text)


def _offset_zone(m: re.Match[str], text: str) -> tzinfo:
    hours, minutes = int(m.group("h")), int(m.group("m") or 0)
    offset = timedelta(hours=hours, minutes=minutes)
    if minutes >= 60 or offset > MAX_OFFSET:
        raise DateError(f"time zone offset {m.group(0).strip()!r} is out of range in date {text!r}")
    return timezone(-offset if m.group("sign") == "-" else offset)


def zone_offset(
    abbreviation: str, local: datetime, zone: ZoneInfo, text: str
) -> tuple[timedelta, str | None]:
    """The offset an abbreviation means at ``local`` for a source in ``zone``, and a note.

    The source's zone decides first: when it calls itself ``abbreviation`` at
    that time, its own offset is used (exact, daylight saving included); when
    it is one of the zones of a meaning, that meaning.  Otherwise the first
    meaning of :data:`ZONES`, with a note if the abbreviation is ambiguous.
    """
    name = abbreviation.upper()
    if zone.tzname(local) == name:
        offset = zone.utcoffset(local)
        if offset is not None:
            return offset, None
    known = ZONES.get(name)
    if known is None:
        raise DateError(
            f"unknown time zone {abbreviation!r} in date {text!r}; "
            "set the source's timezone if the feed's dates are in it"
        )
    for meaning in known.meanings:
        if zone.key in meaning.zones:
            return meaning.offset, None
    first = known.meanings[0]
    if not known.ambiguous:
        return first.offset, None
    others = ", ".join(f"{m.label} {_hhmm(m.offset)}" for m in known.meanings)
    return first.offset, (
        f"time zone {name!r} in date {text!r} is ambiguous ({others}); read as "
        f"{first.label} {_hhmm(first.offset)}: set the source's timezone to say which"
    )


def _hhmm(offset: timedelta) -> str:
    minutes = int(offset.total_seconds() // 60)
    sign = "-" if minutes < 0 else "+"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def _attach(local: datetime, tz: tzinfo | None, zone: ZoneInfo, text: str) -> datetime:
    return _utc(local.replace(tzinfo=tz) if tz is not None else local, zone, text)


def _utc(when: datetime, zone: ZoneInfo, shown: object) -> datetime:
    if when.tzinfo is None:
        when = when.replace(tzinfo=zone)
    try:
        return when.astimezone(UTC)
    except (OverflowError, ValueError) as err:
        raise DateError(f"date {_show(shown)} is out of range for a time") from err


# distinct defaults: a part dateutil did not find differs between the two readings
_DEFAULTS = (datetime(2000, 1, 1), datetime(2004, 2, 2))


def _lenient(text: str, zone: ZoneInfo) -> ReadDate:
    """What dateutil reads, if it finds a year, a month and a day (never today's)."""
    # an offset after GMT/UTC has the sign as written; dateutil would invert it (POSIX)
    fixed = _NAMED_OFFSET_ANYWHERE.sub(_iso_offset, text)
    notes: list[str] = []

    def tzinfos(name: str | None, offset: int | None) -> tzinfo | None:
        if offset is not None:  # a numeric offset wins over a name beside it
            delta = timedelta(seconds=offset)
            if abs(delta) > MAX_OFFSET:
                raise DateError(f"time zone offset is out of range in date {text!r}")
            return timezone(delta)
        if name is None:
            return None
        found, note = zone_offset(name, datetime(2000, 1, 1), zone, text)
        if note:
            notes.append(note)
        return timezone(found)

    readings = []
    with warnings.catch_warnings():
        warnings.simplefilter("error", UnknownTimezoneWarning)
        for default in _DEFAULTS:
            try:
                readings.append(dateparser.parse(fixed, default=default, tzinfos=tzinfos))
            except UnknownTimezoneWarning as err:
                raise DateError(f"unknown time zone in date {text!r}") from err
            except (ValueError, OverflowError, TypeError) as err:
                if isinstance(err, DateError):
                    raise
                raise UnknownDateForm(f"unreadable date {text!r}") from err
    first, second = readings
    if first.year != second.year:
        raise DateError(f"date {text!r} has no year")
    if first.day != second.day and first.month == second.month:
        note = f"date {text!r} gives no day; read as the 1st"
        notes.append(note)
        first = first.replace(day=1)
    elif first.month != second.month:
        raise DateError(f"date {text!r} has no month or no day")
    try:
        day_first = dateparser.parse(fixed, default=_DEFAULTS[0], tzinfos=tzinfos, dayfirst=True)
    except (ValueError, OverflowError):  # pragma: no cover - read just above
        day_first = first
    if (day_first.month, day_first.day) != (first.month, first.day):
        notes.append(
            f"date {text!r} could be day-first or month-first; read month-first as {first:%Y-%m-%d}"
        )
    return ReadDate(_utc(first, zone, text), "; ".join(dict.fromkeys(notes)) or None)


def _iso_offset(m: re.Match[str]) -> str:
    return f"{m.group('sign')}{int(m.group('h')):02d}:{m.group('m') or '00'}"


def _show(value: object) -> str:
    """A value for a message, cut short (a hostile number can be thousands of digits)."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        return "(a number too long to show)"
    return text if len(text) <= 60 else text[:57] + "..."
