"""The CLI's consoles: text from outside is shown literally, never interpreted.

Feed titles, subscribers' names, providers' replies reach tables and report
lines.  A :class:`SafeConsole` parses no Rich markup in any string (a title
``[bold]`` or ``[/x]`` is shown as written, never raises ``MarkupError``) and
writes control and invisible formatting characters as escapes
(:func:`distributor.text_safety.visible`), so an ESC or BEL in a title cannot
drive the terminal.  Styling is done with ``rich.text.Text`` objects, which
are never parsed.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.text import Text

from distributor.text_safety import visible

__all__ = ["SafeConsole"]


class SafeConsole(Console):
    """A Rich console without markup, emoji codes or highlighting, escaping control characters."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("markup", False)
        kwargs.setdefault("emoji", False)
        kwargs.setdefault("highlight", False)
        super().__init__(**kwargs)

    def render_str(self, text: str, **kwargs: Any) -> Text:
        kwargs["markup"] = False
        kwargs["emoji"] = False
        return super().render_str(visible(text, one_line=False), **kwargs)
