"""Reading subscribers from CSV, every row validated."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from email_validator import EmailNotValidError, validate_email

from distributor.errors import ConfigError
from distributor.models import Subscriber, SubscriberStatus
from distributor.selection import normalize_language
from distributor.text_safety import unescape_cell

_LANGUAGE = re.compile(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*")


@dataclass(frozen=True, slots=True)
class Rejected:
    """A refused row: its line, its address as written, and every problem found in it
    (``reason`` is them all, joined with ``; ``)."""

    line: int
    value: str
    reason: str
    problems: tuple[str, ...] = ()


def read_subscribers_csv(
    path: Path, *, default_language: str
) -> tuple[list[Subscriber], list[Rejected]]:
    """Subscribers from a CSV with columns ``email,name,language,timezone,topics``.

    Only ``email`` is required.  Rows with an invalid address, time zone or a
    repeated address are rejected with their reason; the rest are returned.  A
    file that is not UTF-8 text or not CSV (a field over the csv module's limit)
    is one :class:`ConfigError` saying so.  A cell our export protected against
    formula injection (``'=...``) is read back as it was.
    """
    try:
        fh = path.open(newline="", encoding="utf-8-sig")
    except OSError as err:
        raise ConfigError(f"cannot read subscribers file {path}: {err.strerror}") from err
    good: list[Subscriber] = []
    rejected: list[Rejected] = []
    seen: set[str] = set()
    with fh:
        try:
            _read_rows(fh, path, default_language, good, rejected, seen)
        except UnicodeDecodeError as err:  # Latin-1, UTF-16 or binary
            raise ConfigError(
                f"{path}: not UTF-8 text ({err.reason} at byte {err.start} of a block); "
                "save it as UTF-8"
            ) from err
        except csv.Error as err:
            raise ConfigError(f"{path}: not a readable CSV file: {err}") from err
    return good, rejected


def _cell(row: dict[str, str | None], key: str) -> str:
    """A cell as written, less the apostrophe our export puts before a formula-leading one."""
    return unescape_cell(row.get(key) or "")


def _read_rows(
    fh: TextIO,
    path: Path,
    default_language: str,
    good: list[Subscriber],
    rejected: list[Rejected],
    seen: set[str],
) -> None:
    reader = csv.DictReader(fh)
    if not reader.fieldnames or "email" not in reader.fieldnames:
        raise ConfigError(f"{path}: the first line must name the columns, 'email' included")
    for row in reader:
        line = reader.line_num
        raw = _cell(row, "email").strip()
        problems: list[str] = []  # every problem of the row, not only the first
        email = ""
        try:
            email = validate_email(raw, check_deliverability=False).normalized.lower()
        except EmailNotValidError as err:
            problems.append(f"invalid address: {err}")
        if email and email in seen:
            problems.append("duplicate address")
        tz = (row.get("timezone") or "").strip() or None
        if tz:
            try:
                ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError):
                problems.append(f"unknown time zone {tz!r}")
        language = (row.get("language") or "").strip()
        if language and not _LANGUAGE.fullmatch(language.replace("_", "-")):
            problems.append(f"{language!r} is not a language tag (like 'en' or 'pt-BR')")
        if problems:
            rejected.append(Rejected(line, raw, "; ".join(problems), tuple(problems)))
            continue
        seen.add(email)
        topics = tuple(t.strip() for t in (row.get("topics") or "").split(";") if t.strip())
        good.append(
            Subscriber(
                id=0,
                email=email,
                name=" ".join(_cell(row, "name").split()),
                language=normalize_language(
                    (row.get("language") or "").strip() or default_language
                ),
                timezone=tz,
                topics=topics,
                status=SubscriberStatus.SUBSCRIBED,
            )
        )
