"""Fixtures of the web tests: an app over a real SQLite file, a movable clock, mail from the
file outbox, editor logins with real CSRF tokens."""

from __future__ import annotations

import quopri
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.security import generate_password_hash

from distributor.config import Settings
from distributor.store import Store
from distributor.store.web import WebStore
from distributor.subscribers import read_subscribers_csv
from distributor.web import create_app
from distributor.web.common import CLOCK_KEY, Deps, deps
from tests.conftest import NOW, SAMPLE, settings_for, write_config

BASE = "https://news.example/newsletter"


class MovableClock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kwargs: float) -> None:
        self.now += timedelta(**kwargs)


@dataclass
class WebEnv:
    settings: Settings
    store: Store
    app: Flask
    client: FlaskClient
    clock: MovableClock
    tmp: Path

    @property
    def web(self) -> WebStore:
        return WebStore(self.store)

    @property
    def deps(self) -> Deps:
        """The app's own dependencies (its settings, store, clock and network facts)."""
        with self.app.app_context():
            return deps()

    def outbox(self, prefix: str = "") -> list[Path]:
        root = self.settings.data_path("outbox/mail")
        return sorted(root.glob(f"{prefix}**/*.eml"), key=lambda p: p.stat().st_mtime_ns)

    def confirmation_mails(self) -> list[EmailMessage]:
        return [read_mail(p) for p in self.outbox("confirm/")]

    def confirmation_path(self, mail: EmailMessage) -> str:
        body = mail.get_body(("plain",))
        assert body is not None
        url = re.search(r"https://\S+/confirm/\S+", body.get_content())
        assert url, body.get_content()
        return url.group(0).removeprefix(BASE)

    def import_sample(self) -> None:
        subs, _ = read_subscribers_csv(SAMPLE / "subscribers.csv", default_language="en")
        self.web.import_rows("daily", subs, self.clock())

    def fetch(self) -> None:
        """The stories of the sample feed into the store, as a run's first stage does."""
        from distributor.pipeline import fetch_sources
        from distributor.report import RunReport
        from distributor.service import Context

        with Context.open(self.settings, store=self.store, clock=self.clock) as ctx:
            fetch_sources(ctx, RunReport(started_at="", dry_run=True))

    def add_editor(self, email: str = "editor@news.example", role: str = "editor") -> str:
        password = f"pw-{role}-correct horse"
        self.web.add_editor(email, generate_password_hash(password), role, self.clock())
        return password

    def login(self, email: str = "editor@news.example", role: str = "editor") -> FlaskClient:
        password = self.add_editor(email, role)
        reply = self.client.post(
            "/editor/login",
            data={"email": email, "password": password, "csrf_token": csrf(self.client)},
        )
        assert reply.status_code == 302, reply.data
        return self.client


def read_mail(path: Path) -> EmailMessage:
    msg = message_from_bytes(path.read_bytes(), policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg


def html_of(msg: EmailMessage) -> str:
    part = msg.get_body(("html",))
    assert part is not None
    return str(part.get_content())


def text_of(msg: EmailMessage) -> str:
    part = msg.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def csrf(client: FlaskClient, page: str = "/editor/login") -> str:
    html = client.get(page).get_data(as_text=True)
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, html[:500]
    return found.group(1)


def decoded(raw: bytes) -> str:
    return quopri.decodestring(raw).decode("utf-8", "replace")


def make_env(
    tmp_path: Path,
    social: str = "",
    environ: dict[str, str] | None = None,
    *,
    list_extra: str = "",
    newsroom: str = "",
) -> Iterator[WebEnv]:
    web = f"""
[web]
base_url = "{BASE}"
topics = ["world", "science", "culture"]
signup_limit_per_address = 3
signup_limit_per_client = 5
"""
    path = write_config(tmp_path, social=social, list_extra=list_extra)
    text = path.read_text().replace(f'[web]\nbase_url = "{BASE}"\n', web)
    text = text.replace("[newsroom]\n", f"[newsroom]\n{newsroom}\n")
    path.write_text(text)
    settings = settings_for(path, environ)
    store = Store.open(settings.database_url)
    clock = MovableClock(NOW)
    app = create_app(settings, store)
    app.config[CLOCK_KEY] = clock
    app.config["TESTING"] = True
    try:
        yield WebEnv(settings, store, app, app.test_client(), clock, tmp_path)
    finally:
        store.close()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[WebEnv]:
    """No social channel (no share cards to draw): fast runs."""
    yield from make_env(tmp_path)


@pytest.fixture
def social_env(tmp_path: Path) -> Iterator[WebEnv]:
    """With the file social channel, for the posts page."""
    yield from make_env(tmp_path, social='[social.outbox]\nprovider = "file"')


def signup(client: FlaskClient, email: str, **fields: Any) -> Any:
    data = {
        "email": email,
        "language": "en",
        "frequency": "daily",
        "timezone": "",
        "list": "daily",
        **fields,
    }
    return client.post("/subscribe", data=data)
