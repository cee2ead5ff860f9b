"""What ``config check`` verifies beyond the settings' own validation."""

from __future__ import annotations

from distributor.render.i18n import verify_catalogs


def check_catalogs() -> None:
    """Every gettext catalog parses; a broken ``.po`` file is named with its line."""
    verify_catalogs()
