"""Fixtures for the digest tests: settings on the sample newsroom, stories, subscribers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest

from distributor.config import Settings
from distributor.models import Edition, ShareLink, Story, StoryStatus, Subscriber
from distributor.render.digest import DigestRenderer
from distributor.share.links import share_links
from tests.conftest import NOW, settings_for, write_config

LANGUAGES = ("en", "ar", "ja", "es", "fr")

TITLES = {
    "en": "Four countries sign a treaty to share the Marel river",
    "ar": "أربع دول توقّع معاهدة لتقاسم مياه نهر ماريل",
    "ja": "4か国がマレル川の水を分け合う条約に署名",
    "es": "Cuatro países firman un tratado para compartir el río Marel",
    "fr": "Quatre pays signent un traité pour partager le fleuve Marel",
    "de": "Vier Länder unterzeichnen einen Vertrag über das Wasser des Marel",
    "pt-BR": "Quatro países assinam um tratado para dividir o rio Marel",
    "pt": "Quatro países assinam um tratado para partilhar o rio Marel",
    "he": "ארבע מדינות חותמות על אמנה לחלוקת מי נהר מרל",
}


def make_stories(lang: str, count: int = 10, *, summary: str | None = None) -> list[Story]:
    """``count`` stories in ``lang``, the lead with an image."""
    out = []
    for i in range(count):
        out.append(
            Story(
                id=f"urn:test:{lang}:{i}",
                source="test",
                url=f"https://news.example/{lang}/story-{i}?a=1&b=2",
                title=f"{TITLES[lang]} ({i}) & <b>co</b>",
                language=lang,
                status=StoryStatus.PUBLISHED,
                published_at=NOW - timedelta(hours=i + 1),
                summary_text=summary if summary is not None else f"{TITLES[lang]}: summary {i}.",
                image_url="https://news.example/img/lead.jpg" if i == 0 else None,
            )
        )
    return out


def edition_for(lang: str, stories: list[Story], key: str = "2026-11-28") -> Edition:
    return Edition(1, "daily", key, lang, tuple(s.id for s in stories), NOW)


def links_for(stories: list[Story]) -> dict[str, tuple[ShareLink, ...]]:
    return {s.id: share_links(s, campaign="daily-2026-11-28") for s in stories}


def parse(raw: bytes) -> EmailMessage:
    msg = message_from_bytes(raw, policy=default_policy)
    assert isinstance(msg, EmailMessage)
    return msg


def subscriber(sid: int, email: str, name: str, lang: str = "en") -> Subscriber:
    return Subscriber(id=sid, email=email, name=name, language=lang)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """The sample newsroom with a reply-to and a mailto: unsubscribe address."""
    path = write_config(tmp_path, list_extra='reply_to = "newsroom@news.example"')
    text = path.read_text(encoding="utf-8").replace(
        '[web]\nbase_url = "https://news.example/newsletter"',
        '[web]\nbase_url = "https://news.example/newsletter"\nunsubscribe_mailto = "unsubscribe@news.example"',
    )
    path.write_text(text, encoding="utf-8")
    return settings_for(path)


@pytest.fixture
def renderer(settings: Settings) -> DigestRenderer:
    return DigestRenderer(settings)


@pytest.fixture
def now() -> datetime:
    return datetime(2026, 11, 28, 7, 0, 0, tzinfo=UTC)


def list_config(settings: Settings) -> Any:
    return settings.lists["daily"]
