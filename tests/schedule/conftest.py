"""Fixtures of the schedule tests: a small newsroom with readers in several zones."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from distributor.config import Settings, load_settings
from distributor.models import Story, StoryStatus
from distributor.store import Store
from tests.conftest import database_line

READERS = [
    ("berlin@example.org", "Europe/Berlin"),
    ("newyork@example.org", "America/New_York"),
    ("sydney@example.org", "Australia/Sydney"),
    ("kolkata@example.org", "Asia/Kolkata"),
    ("nozone@example.org", ""),
]


def write_schedule_config(
    tmp_path: Path,
    *,
    list_extra: str = "",
    extra: str = "",
    readers: list[tuple[str, str]] = READERS,
    feed: str | None = None,
    mail: str = 'provider = "file"',
) -> Path:
    """A config with one list ``daily`` and readers in several zones; no social channel."""
    csv = tmp_path / "subscribers.csv"
    csv.write_text(
        "email,name,language,timezone,topics\n"
        + "".join(f"{email},{email.split('@')[0]},en,{tz},\n" for email, tz in readers),
        encoding="utf-8",
    )
    source = f'url = "{feed}"' if feed else 'url = "none.xml"\nenabled = false'
    path = tmp_path / "distributor.toml"
    path.write_text(
        f"""
data_dir = "var"
{database_line(tmp_path, extra)}
{extra}
[newsroom]
name = "Meridian World News"
url = "https://news.example"
postal_address = "1 Example Square, Example City"

[sources.meridian]
{source}

[lists.daily]
title = "Meridian Daily"
from_address = "Meridian Daily <digest@news.example>"
mail = "main"
max_age_hours = 876000
subscribers_file = "{csv}"
{list_extra}

[mail.main]
{mail}
""",
        encoding="utf-8",
    )
    return path


def settings_of(path: Path) -> Settings:
    return load_settings(path, environ={}, dotenv_path=path.parent / "no.env")


def story(n: int, published: datetime) -> Story:
    return Story(
        id=f"https://news.example/story-{n}",
        source="meridian",
        url=f"https://news.example/story-{n}",
        title=f"Story number {n}",
        language="en",
        status=StoryStatus.PUBLISHED,
        published_at=published,
        summary_html=f"<p>Summary {n}</p>",
        summary_text=f"Summary {n}",
    )


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def open_store() -> Iterator[Callable[[Settings], Store]]:
    opened: list[Store] = []

    def make(settings: Settings) -> Store:
        store = Store.open(settings.database_url)
        opened.append(store)
        return store

    yield make
    for store in opened:
        store.close()


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(UTC)


def rows(store: Store, table: Any) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(table.select()))
