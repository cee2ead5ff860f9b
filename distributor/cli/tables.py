"""Tables that fit the terminal: a header is never cut to ``st…``, cells wrap instead.

Rich shrinks a table wider than the console by cutting its columns; with a few
``no_wrap`` columns the numbers were the ones cut (``st… se… fa…`` at 80 columns).
:func:`fit` gives every column a minimum width of its header's longest word, lets every
cell wrap (folding a long word when it must), and uses a compact box, so the table
fits by wrapping its text.  ``--json`` output is not a table and does not change.
"""

from __future__ import annotations

import sys

from rich import box
from rich.table import Table

from distributor.cli.terminal import SafeConsole


def fit(table: Table) -> Table:
    """``table``, set to fit the console by wrapping rather than cutting."""
    table.box = box.SIMPLE_HEAD
    table.padding = (0, 1)
    table.pad_edge = False
    table.collapse_padding = True
    for column in table.columns:
        words = str(column.header).split()
        column.min_width = max((len(w) for w in words), default=1)
        column.no_wrap = False
        column.overflow = "fold"
    return table


def console(*, stderr: bool = False) -> SafeConsole:
    """The console of a listing: the terminal's width; piped output is not cut (200)."""
    stream = sys.stderr if stderr else sys.stdout
    return SafeConsole(stderr=stderr, width=None if stream.isatty() else 200)
