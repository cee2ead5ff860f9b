"""Fixtures for the mail provider tests: a threaded local HTTP server, messages, a fake clock."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from distributor.config import Settings
from distributor.mail.http import HttpMailBackend
from distributor.models import Message
from distributor.registry import mail_backend_class
from tests.conftest import settings_for, write_config
from tests.mail.fakes import ProviderCase


@pytest.fixture(scope="session")
def _threaded_server() -> Iterator[HTTPServer]:
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.stop()


@pytest.fixture
def server(_threaded_server: HTTPServer) -> Iterator[HTTPServer]:
    """A threaded local server (a hanging handler must not block the client's retry),
    started once per session and cleared after each test."""
    yield _threaded_server
    _threaded_server.clear()


@dataclass
class FakeTime:
    """A clock that only moves when slept on; every sleep is recorded."""

    now: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


def provider_settings(tmp_path: Path, case: ProviderCase, url: str, extra: str = "") -> Settings:
    return settings_for(write_config(tmp_path, mail=case.toml(url) + extra), case.env)


def make_backend(
    tmp_path: Path, case: ProviderCase, server: HTTPServer, fake: Any, extra: str = ""
) -> tuple[HttpMailBackend, FakeTime]:
    server.expect_request(case.endpoint).respond_with_handler(fake.handler)
    settings = provider_settings(tmp_path, case, server.url_for("").rstrip("/"), extra)
    t = FakeTime()
    cls = mail_backend_class(case.provider)
    backend = cls(
        "main", settings.mail["main"], settings, sleep=t.sleep, clock=t.clock, jitter=lambda: 0.5
    )
    assert isinstance(backend, HttpMailBackend)
    return backend, t


def make_messages(n: int, start: int = 0) -> list[Message]:
    """Messages shaped like the renderer's: personal greeting, links and headers."""
    out = []
    for i in range(start, start + n):
        email = f"reader{i}@example.org"
        unsub = f"https://news.example/u/tok{i:05d}x"
        html = (
            '<!DOCTYPE html><html lang="en"><body>\n<p>Hello Reader {i},</p>\n'
            "<h1>Meridian Daily</h1>\n<p>Story one &amp; two: 50% off {{curly}} %recipient.x%</p>\n"
            f'<a href="{unsub}">Unsubscribe</a>\n</body></html>'
        ).replace("{i}", str(i))
        text = f"Hello Reader {i},\n\nMeridian Daily\n\nUnsubscribe: {unsub}\n"
        headers = (
            ("From", "Meridian Daily <digest@news.example>"),
            ("To", email),
            ("Reply-To", "newsroom@news.example"),
            ("Subject", "Meridian Daily: 28 November"),
            ("Message-ID", f"<{i:024x}.2026-11-28@news.example>"),
            ("List-Id", "Meridian Daily <daily.news.example>"),
            (
                "List-Unsubscribe",
                f"<{unsub}>, <mailto:unsubscribe@news.example?subject=unsubscribe>",
            ),
            ("List-Unsubscribe-Post", "List-Unsubscribe=One-Click"),
        )
        out.append(
            Message(
                key=f"daily/2026-11-28/en/{i}",
                sender="digest@news.example",
                recipient=email,
                subject="Meridian Daily: 28 November",
                message_id=f"<{i:024x}.2026-11-28@news.example>",
                raw=b"",
                text=text,
                html=html,
                headers=headers,
            )
        )
    return out
