"""The history chart: its legend fits its width in any language, marks stay inside."""

from __future__ import annotations

import re
from datetime import timedelta

from distributor.store.web import EditionFigures
from distributor.web.chart import history_chart
from distributor.web.i18n import DashboardLanguage
from tests.conftest import NOW


def figures(n: int) -> list[EditionFigures]:
    return [
        EditionFigures(
            i,
            "daily",
            f"2026-11-{20 + i}",
            "ar",
            NOW - timedelta(days=n - i),
            8,
            36,  # every recipient in a bar (30 + 2 + 3 + 1): the tallest bar reaches the top
            2,
            30,
            3,
            1,
            2,
            1,
            1,
        )
        for i in range(n)
    ]


def legend(svg: str) -> list[tuple[float, float, str]]:
    """(x, y, label) of each legend entry: the text after each 10x10 swatch."""
    return [
        (float(x), float(y), label)
        for x, y, label in re.findall(
            r'<text x="([\d.]+)" y="([\d.]+)" font-size="10">([^<]+)</text>', svg
        )
    ]


def test_the_legend_wraps_to_the_width_and_the_chart_grows_to_hold_it() -> None:
    wide = history_chart(figures(3), DashboardLanguage("de").gettext)
    narrow = history_chart(figures(3), DashboardLanguage("de").gettext, width=300)
    assert len({y for _x, y, _l in legend(wide)}) == 1  # one row at 720 pixels
    rows = {y for _x, y, _l in legend(narrow)}
    assert len(rows) >= 3
    height = int(re.search(r'height="(\d+)"', narrow).group(1))  # type: ignore[union-attr]
    assert height == 236 + 16 * (len(rows) - 1) and max(rows) < height
    for x, _y, label in legend(narrow):
        assert x + 6 * len(label) <= 300, label  # 0.6 em a character at 10 pixels
    assert [label for *_xy, label in legend(narrow)][:2] == ["Gesendet", "Fehlgeschlagen"]


def test_the_marks_over_the_tallest_bar_stay_inside_and_the_text_runs_left_to_right() -> None:
    rows = figures(2)
    svg = history_chart(rows, DashboardLanguage("ar").gettext)
    assert 'direction="ltr"' in svg  # on an RTL page the anchors still mean left and right
    ys = [float(y) for y in re.findall(r'<circle cx="[\d.]+" cy="([\d.]+)"', svg)]
    assert len(ys) == 6 and min(ys) - 3 >= 0
    assert "<title>عمليات التسليم في كل عدد</title>" in svg
