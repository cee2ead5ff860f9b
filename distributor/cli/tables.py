"""Tables that fit the terminal, down to about 40 columns: never a header cut to ``st…``,
never a column dropped.

Rich shrinks a table wider than the console by cutting its columns (``st… se… fa…`` at
80 columns), and below about 70 columns the last columns went altogether.  :func:`fit`
wraps a table in a :class:`Fitted` renderable that lays it out for the width it is
given, at each print:

- as a table when every column gets at least its header's longest word and its cells'
  longest word (a word longer than :data:`LONG_WORD`, such as a URL, may fold), two
  spaces apart, or else one: the columns' widths are set here, from those minimums up
  to what each column would like, so Rich never has to cut one;
- otherwise as records, one block per row with a ``header: value`` line per column,
  values wrapping beside their header.

``--json`` output is not a table and does not change.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable, Sequence

from rich import box
from rich.console import Console, ConsoleOptions, RenderableType, RenderResult
from rich.measure import Measurement
from rich.table import Table
from rich.text import Text

from distributor.cli.terminal import SafeConsole

#: a word longer than this (a URL, an id) may fold inside a table column
LONG_WORD = 24
#: the narrowest a table's value column gets in the record layout
_MIN_VALUE = 12
_WIDE = 1_000_000  # measuring without the console's limit
_PADDINGS = ((0, 1), (0, 0))


class Fitted:
    """A table laid out for the width it is printed at: columns or records."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        columns = self.table.columns
        if not columns:
            return
        wide = options.update_width(_WIDE)
        lows: list[int] = []
        words: list[int] = []
        highs: list[int] = []
        for column in columns:
            header = Measurement.get(console, wide, column.header)
            cells = [Measurement.get(console, wide, cell) for cell in column.cells]
            longest_word = max((m.minimum for m in cells), default=0)
            lows.append(max(header.minimum, min(longest_word, LONG_WORD), 1))
            words.append(max(header.minimum, longest_word, 1))
            highs.append(max([header.maximum, *(m.maximum for m in cells)]))
        widths = None
        for padding in _PADDINGS:  # two spaces between columns, else one
            self.table.padding = padding
            widths = _allot(self._width_of, lows, (words, highs), options.max_width)
            if widths is not None:
                break
        if widths is None:
            self.table.padding = _PADDINGS[0]
            yield from self._records(console, options)
            return
        for column, width in zip(columns, widths, strict=True):
            column.width = width
        try:
            yield from console.render(self.table, options)
        finally:
            self.table.padding = _PADDINGS[0]
            for column in columns:
                column.width = None

    def _width_of(self, widths: list[int]) -> int:
        """The printed width of the table with these column widths."""
        saved = [column.width for column in self.table.columns]
        for column, width in zip(self.table.columns, widths, strict=True):
            column.width = width
        try:
            console = Console(width=_WIDE)
            return Measurement.get(console, console.options, self.table).maximum
        finally:
            for column, before in zip(self.table.columns, saved, strict=True):
                column.width = before

    def _records(self, console: Console, options: ConsoleOptions) -> Iterable[RenderableType]:
        """One block per row: ``header: value``, the values wrapping beside the headers."""
        table = self.table
        keys = [Text(f"{_plain(column.header)}:") for column in table.columns]
        width = options.max_width
        # the headers keep their longest word; the values get their longest word beside
        # them when they can (a time zone, an address), the headers wrapping to make room
        wide = options.update_width(_WIDE)
        longest_key = max(len(k) for k in keys)
        key_word = max(Measurement.get(console, wide, k).minimum for k in keys)
        value_word = max(
            (Measurement.get(console, wide, c).minimum for col in table.columns for c in col.cells),
            default=1,
        )
        value_room = min(max(value_word, _MIN_VALUE), width - key_word - 1)
        key_width = max(1, min(longest_key, max(key_word, width - 1 - value_room)))
        grid = Table.grid(padding=(0, 1))
        grid.add_column(width=key_width, overflow="fold", style=table.header_style or "bold")
        grid.add_column(overflow="fold")  # the rest of the width, wrapping
        rows = list(zip(*(column.cells for column in table.columns), strict=True))
        for number, row in enumerate(rows):
            if number:
                grid.add_row("", "")
            for key, value in zip(keys, row, strict=True):
                grid.add_row(key, value)
        if table.title:
            title = table.title if isinstance(table.title, Text) else Text(str(table.title))
            yield Text(title.plain, style=table.title_style or "bold")
        if rows:
            yield grid
        else:
            yield Text("(none)")
        if table.caption:
            yield Text(_plain(table.caption))


def _plain(value: RenderableType) -> str:
    return value.plain if isinstance(value, Text) else str(value)


def _allot(
    width_of: Callable[[list[int]], int],
    lows: list[int],
    targets: Sequence[list[int]],
    available: int,
) -> list[int] | None:
    """Column widths from ``lows`` toward each of ``targets`` in turn (first every
    column's longest word, then its longest line) within ``available`` columns (the
    printed width of a choice is ``width_of(widths)``); None when even the lows do not
    fit."""
    widths = list(lows)
    spare = available - width_of(widths)
    if spare < 0:
        return None
    for target in targets:
        while spare > 0:
            wanting = [i for i, w in enumerate(widths) if w < target[i]]
            if not wanting:
                break
            share = max(1, spare // len(wanting))
            for i in wanting:
                give = min(share, target[i] - widths[i], spare)
                widths[i] += give
                spare -= give
                if not spare:
                    break
    return widths


def fit(table: Table) -> Fitted:
    """``table``, laid out to fit the console: wrapped columns, or records when narrow."""
    table.box = box.SIMPLE_HEAD
    table.show_edge = False
    table.padding = _PADDINGS[0]
    table.pad_edge = False
    table.collapse_padding = True
    for column in table.columns:
        column.no_wrap = False
        column.overflow = "fold"
    return Fitted(table)


def console(*, stderr: bool = False) -> SafeConsole:
    """The console of a listing: ``COLUMNS`` when set, else the terminal's width; piped
    output is not cut (200 columns)."""
    stream = sys.stderr if stderr else sys.stdout
    chosen = stream.isatty() or os.environ.get("COLUMNS", "").isdigit()
    return SafeConsole(stderr=stderr, width=None if chosen else 200)  # None: Rich reads COLUMNS
