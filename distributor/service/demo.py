"""``distributor demo``: the sample newsroom ready to try in the dashboard.

Fetches the sources and each list's subscribers file and makes (or resets) an admin
account, and sends nothing: the dashboard then has a whole edition to preview, test
send and "Send now".
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from werkzeug.security import generate_password_hash

from distributor.report import RunReport
from distributor.service import daily
from distributor.service.context import Context
from distributor.store.web import WebStore

DEMO_EDITOR = "editor@news.example"


@dataclass(frozen=True, slots=True)
class DemoSetup:
    """What the demo prepared."""

    report: RunReport
    editor: str
    password: str
    subscribers: int

    @property
    def stories(self) -> int:
        return self.report.stories_fetched


def new_password() -> str:
    """A password for the demo account, shown once at start."""
    return secrets.token_urlsafe(12)


def prepare(ctx: Context, *, editor: str = DEMO_EDITOR, password: str | None = None) -> DemoSetup:
    """Fetch the stories and subscribers, and make the admin ``editor`` (password reset)."""
    report = daily.fetch_now(ctx)
    password = password or new_password()
    web = WebStore(ctx.store)
    web.add_editor(editor, generate_password_hash(password), "admin", ctx.clock())
    subscribers = sum(web.count_by_status(name)["subscribed"] for name in ctx.settings.lists)
    return DemoSetup(report, editor.lower(), password, subscribers)
