"""Cron expressions for list schedules, as APScheduler 3 triggers.

Five fields (``minute hour day month day-of-week``) as in crontab, or six with
seconds first (``second minute hour day month day-of-week``).  Day-of-week
numbers follow crontab (0 or 7 = Sunday), not APScheduler 3's own numbering
(0 = Monday), so they are translated to names before APScheduler sees them.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, tzinfo
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")


def _dow(field: str) -> str:
    """Crontab weekday numbers -> names (``1-5`` -> ``mon-fri``, ``0`` -> ``sun``)."""
    if not re.fullmatch(r"[0-9a-zA-Z*,/\-]+", field):
        raise ValueError(f"bad day-of-week field {field!r}")

    def name(match: re.Match[str]) -> str:
        n = int(match.group(0))
        if n > 7:
            raise ValueError(f"day of week {n} is out of range 0-7")
        return _DOW_NAMES[n]

    # a step (``*/2``) is a count, not a weekday: leave the digits after '/'
    parts = []
    for item in field.split(","):
        base, slash, step = item.partition("/")
        if base == "*" and slash:
            parts.append(item)
            continue
        if base in ("0-7", "0-6", "1-7"):
            base = "*"
        parts.append(re.sub(r"\d+", name, base) + slash + step)
    return ",".join(parts)


def parse_cron(expr: str, timezone: str | tzinfo) -> CronTrigger:
    """A :class:`CronTrigger` for a 5- or 6-field cron expression in ``timezone``."""
    fields = expr.split()
    if len(fields) not in (5, 6):
        raise ValueError(f"expected 5 fields (or 6 with seconds first), got {len(fields)}")
    second = fields[0] if len(fields) == 6 else "0"
    minute, hour, day, month, dow = fields[-5:]
    tz = ZoneInfo(timezone) if isinstance(timezone, str) else timezone
    return CronTrigger(
        second=second,
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_dow(dow),
        timezone=tz,
    )


def fire_times(trigger: CronTrigger, start: datetime, end: datetime) -> list[datetime]:
    """Every fire time of ``trigger`` in ``[start, end]`` (aware datetimes), in order."""
    out: list[datetime] = []
    t = trigger.get_next_fire_time(None, start)
    while t is not None and t.astimezone(UTC) <= end.astimezone(UTC):
        out.append(t)
        t = next_after(trigger, t)
    return out


def next_after(trigger: CronTrigger, t: datetime) -> datetime | None:
    """The first fire time strictly after ``t``.

    Arithmetic and comparisons are done in UTC: within one zone Python compares
    wall-clock times and ignores ``fold``, so the two 02:30 of a clocks-back
    night would look equal.
    """
    t = t.astimezone(UTC)
    step = timedelta(seconds=1)
    while True:
        nxt: datetime | None = trigger.get_next_fire_time(t, t + step)
        if nxt is None or nxt.astimezone(UTC) > t:
            return nxt
        step *= 4
