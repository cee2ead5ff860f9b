"""The dashboard's small server-side SVG charts (no scripts, no CDN): deliveries per
edition, clicks per hour."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING
from unicodedata import east_asian_width

from markupsafe import Markup, escape

if TYPE_CHECKING:
    from distributor.store.web import EditionFigures

SERIES = (
    ("sent", "#2e7d32"),
    ("failed", "#c62828"),
    ("unknown", "#9e9e9e"),
    ("pending", "#1565c0"),
)
MARKS = (("bounced", "#ef6c00"), ("complained", "#6a1b9a"), ("unsubscribed", "#455a64"))


def _labels(_: Callable[[str], str]) -> dict[str, str]:
    """Each series' name in the page's language (the history table's own column titles)."""
    return {
        "sent": _("Sent"),
        "failed": _("Failed"),
        "unknown": _("Unknown"),
        "pending": _("Pending"),
        "bounced": _("Bounced"),
        "complained": _("Complained"),
        "unsubscribed": _("Unsubscribed"),
    }


def _text_width(text: str, size: int) -> int:
    """About how wide ``text`` is at ``size`` pixels: 0.6 em a character, 1 em a wide one
    (Chinese, Japanese, Korean)."""
    wide = sum(1 for c in text if east_asian_width(c) in "WF")
    return round(size * (0.6 * (len(text) - wide) + wide))


def _frame(
    width: int,
    height: int,
    title: str,
    left: int,
    top: int,
    plot_h: float,
    peak: int,
    attrs: str = "",
) -> list[str]:
    """A chart's opening: the ``<svg>`` laid out left to right whatever the page's
    direction (a time axis reads the same way in every language), its title, the base
    line and the axis's two figures (0 and the peak)."""
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" class="chart"{attrs} direction="ltr">',
        f"<title>{escape(title)}</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]


def history_chart(
    rows: Sequence[EditionFigures],
    _: Callable[[str], str] = str,
    width: int = 720,
    height: int = 236,
) -> Markup:
    """Stacked bars (sent/failed/unknown/pending) per edition, oldest first, with a legend
    and the bounced/complained/unsubscribed counts as dots above each bar; its title,
    legend and tooltips in the page's language (``_``: the dashboard's gettext)."""
    if not rows:
        return Markup("")
    label = _labels(_)
    # the legend's entries, each as wide as its label (a wide character counts twice), in
    # as many rows as they take
    left = 36
    legend: list[tuple[str, str, int, int]] = []
    lx, rows_used = left, 1
    for name, color in SERIES + MARKS:
        span = 14 + _text_width(label[name], 10) + 16
        if lx > left and lx + span > width:
            lx, rows_used = left, rows_used + 1
        legend.append((name, color, lx, rows_used))
        lx += span
    height += 16 * (rows_used - 1)
    # room above for the three marks over the tallest bar; below, the bars' labels and
    # the legend
    top, bottom = 32, 40 + 16 * (rows_used - 1)
    plot_h = height - top - bottom
    peak = max(max(r.recipients for r in rows), 1)
    slot = (width - left) / len(rows)
    bar = max(min(slot * 0.6, 48), 4)
    parts = _frame(width, height, _("Deliveries per edition"), left, top, plot_h, peak)
    for i, r in enumerate(rows):
        x = left + i * slot + (slot - bar) / 2
        y = top + plot_h
        for name, color in SERIES:
            value = getattr(r, name)
            if not value:
                continue
            h = plot_h * value / peak
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar:.1f}" height="{h:.1f}" '
                f'fill="{color}"><title>{escape(r.key)} {escape(r.language)} · '
                f"{escape(label[name])}: {value}</title></rect>"
            )
        for j, (name, color) in enumerate(MARKS):
            value = getattr(r, name)
            if value:
                parts.append(
                    f'<circle cx="{x + bar / 2:.1f}" cy="{y - 6 - j * 8:.1f}" r="3" '
                    f'fill="{color}"><title>{escape(label[name])}: {value}</title></circle>'
                )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" font-size="9" '
            f'text-anchor="middle">{escape(r.key[5:])} {escape(r.language)}</text>'
        )
    for name, color, lx, row in legend:
        ly = height - 16 * (rows_used - row)
        parts.append(
            f'<rect x="{lx}" y="{ly - 12}" width="10" height="10" fill="{color}"/>'
            f'<text x="{lx + 14}" y="{ly - 3}" font-size="10">{escape(label[name])}</text>'
        )
    parts.append("</svg>")
    return Markup("".join(parts))


def hourly_chart(
    hourly: Sequence[int], _: Callable[[str], str] = str, width: int = 720, height: int = 180
) -> Markup:
    """Bars of clicks per hour over the first 48 hours, in the page's language (``_``)."""
    top, bottom, left = 14, 28, 36
    plot_h = height - top - bottom
    peak = max(max(hourly, default=0), 1)
    slot = (width - left) / max(len(hourly), 1)
    parts = _frame(
        width,
        height,
        _("Clicks over the first 48 hours"),
        left,
        top,
        plot_h,
        peak,
        ' id="hourly-chart"',
    )
    tooltip, tick = _("Hour {hour}, clicks: {n}"), _("{hours} h")
    for i, n in enumerate(hourly):
        h = plot_h * n / peak
        x = left + i * slot + slot * 0.15
        parts.append(
            f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{slot * 0.7:.1f}" '
            f'height="{h:.1f}" fill="#1565c0" data-hour="{i}" data-clicks="{n}">'
            f"<title>{escape(tooltip.format(hour=i + 1, n=n))}</title></rect>"
        )
        if i % 6 == 0:
            parts.append(
                f'<text x="{x:.1f}" y="{height - 10}" font-size="10">'
                f"{escape(tick.format(hours=i))}</text>"
            )
    parts.append("</svg>")
    return Markup("".join(parts))
