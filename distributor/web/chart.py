"""A small server-side SVG chart of delivery figures per edition (no scripts, no CDN)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

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


def history_chart(rows: Sequence[EditionFigures], width: int = 720, height: int = 220) -> Markup:
    """Stacked bars (sent/failed/unknown/pending) per edition, oldest first, with a legend
    and the bounced/complained/unsubscribed counts as dots above each bar."""
    if not rows:
        return Markup("")
    top, bottom, left = 16, 40, 36
    plot_h = height - top - bottom
    peak = max(max(r.recipients for r in rows), 1)
    slot = (width - left) / len(rows)
    bar = max(min(slot * 0.6, 48), 4)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" class="chart">',
        "<title>Deliveries per edition</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
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
                f'fill="{color}"><title>{escape(r.key)} {escape(r.language)}: '
                f"{value} {name}</title></rect>"
            )
        for j, (name, color) in enumerate(MARKS):
            value = getattr(r, name)
            if value:
                parts.append(
                    f'<circle cx="{x + bar / 2:.1f}" cy="{y - 6 - j * 8:.1f}" r="3" '
                    f'fill="{color}"><title>{value} {name}</title></circle>'
                )
        parts.append(
            f'<text x="{x + bar / 2:.1f}" y="{top + plot_h + 14}" font-size="9" '
            f'text-anchor="middle">{escape(r.key[5:])} {escape(r.language)}</text>'
        )
    lx = left
    for name, color in SERIES + MARKS:
        parts.append(
            f'<rect x="{lx}" y="{height - 12}" width="10" height="10" fill="{color}"/>'
            f'<text x="{lx + 14}" y="{height - 3}" font-size="10">{name}</text>'
        )
        lx += 90
    parts.append("</svg>")
    return Markup("".join(parts))
