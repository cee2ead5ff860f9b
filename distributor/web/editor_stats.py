"""The dashboard's reach pages (issue 17): ``/editor/stats`` (editions with delivered,
unique readers, click rate) and ``/editor/stats/<list>/<key>`` (per language, top
stories, share clicks per network, clicks over the first 48 hours).  Each route calls
:mod:`distributor.service.stats`.
"""

from __future__ import annotations

from typing import Any

from flask import request
from markupsafe import Markup, escape

from distributor.errors import NotFoundError
from distributor.service import stats as service
from distributor.web.clicks import recorder
from distributor.web.common import deps
from distributor.web.editors import _, _page, bp


def hourly_chart(hourly: list[int], width: int = 720, height: int = 180) -> Markup:
    """Bars of clicks per hour over the first 48 hours (server-side SVG, no script), in the
    dashboard's language, laid out left to right on every page (as ``history_chart``)."""
    top, bottom, left = 14, 28, 36
    plot_h = height - top - bottom
    peak = max(max(hourly, default=0), 1)
    slot = (width - left) / max(len(hourly), 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" class="chart" id="hourly-chart" direction="ltr">',
        f"<title>{escape(_('Clicks over the first 48 hours'))}</title>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width}" y2="{top + plot_h}" stroke="#999"/>',
        f'<text x="{left - 4}" y="{top + 8}" font-size="10" text-anchor="end">{peak}</text>',
        f'<text x="{left - 4}" y="{top + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
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


@bp.get("/stats")
def stats() -> Any:
    d = deps()
    list_name = request.args.get("list") or None
    with d.context() as ctx:
        rows = service.editions(ctx, list_name=list_name, limit=30, recorder=recorder())
    return _page("stats.html.j2", editions=rows, lists=sorted(d.settings.lists))


@bp.get("/stats/<list_name>/<key>")
def stats_edition(list_name: str, key: str) -> Any:
    d = deps()
    try:
        with d.context() as ctx:
            found = service.edition(ctx, list_name, key, recorder=recorder())
    except NotFoundError as err:
        return _page("message.html.j2", http_status=404, title=_("No such edition"), body=str(err))
    return _page(
        "stats_edition.html.j2",
        edition=found,
        languages=found.languages(),
        top=found.top_stories(),
        chart=hourly_chart(found.hourly),
        opens_note=service.OPENS_NOTE,
    )
