"""Selection rules, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from distributor.models import Story, StoryStatus, Subscriber
from distributor.selection import (
    SentHistory,
    Window,
    language_chain,
    normalize_language,
    plan_editions,
)

T0 = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)


def story(
    sid: str,
    lang: str,
    group: str | None = None,
    minutes: int = 0,
    title: str | None = None,
    url: str | None = None,
) -> Story:
    return Story(
        id=sid,
        source="s",
        url=url or f"https://x.example/{sid}",
        title=title or f"Title {sid}",
        language=lang,
        status=StoryStatus.PUBLISHED,
        published_at=T0 - timedelta(minutes=minutes),
        translation_group=group,
    )


def sub(sid: int, lang: str) -> Subscriber:
    return Subscriber(id=sid, email=f"s{sid}@example.com", name="", language=lang)


def plan(
    stories: list[Story],
    subs: list[Subscriber],
    sent: dict[str, set[str]] | None = None,
    max_stories: int = 10,
) -> dict[str, list[str]]:
    plans = plan_editions(
        candidates=stories,
        recipients=subs,
        sent={
            (lang, ""): SentHistory(dict.fromkeys(groups, T0))
            for lang, groups in (sent or {}).items()
        },
        max_stories=max_stories,
        fallbacks=(None, "en"),
        window=Window(now=T0, max_age=timedelta(days=2)),
    )
    return {p.language: [s.id for s in p.stories] for p in plans}


def test_language_chain() -> None:
    assert language_chain("pt-BR", None, "en") == ["pt-BR", "pt", "en"]
    assert language_chain("en", "en") == ["en"]
    assert normalize_language("pt_br") == "pt-BR"
    assert normalize_language("ZH-hant-tw") == "zh-Hant-TW"


def test_each_reader_gets_their_translation_else_the_fallback() -> None:
    stories = [
        story("a-en", "en", "A", 10),
        story("a-ar", "ar", "A", 5),
        story("b-en", "en", None, 20),
        story("c-ja", "ja", None, 1),
    ]
    result = plan(stories, [sub(1, "en"), sub(2, "ar"), sub(3, "pt-BR"), sub(4, "ja")])
    assert result["ar"] == ["a-ar", "b-en"]
    assert result["en"] == ["a-en", "b-en"]
    assert result["pt-BR"] == ["a-en", "b-en"]
    assert result["ja"] == ["c-ja", "a-en", "b-en"]  # newest first


def test_regional_reader_falls_back_to_base_language() -> None:
    result = plan([story("a-pt", "pt", "A"), story("a-en", "en", "A")], [sub(1, "pt-BR")])
    assert result == {"pt-BR": ["a-pt"]}


def test_groups_already_sent_in_that_language_are_not_repeated() -> None:
    stories = [story("a-en", "en", "A"), story("a-fr", "fr", "A", 1), story("b-en", "en")]
    result = plan(stories, [sub(1, "en"), sub(2, "fr")], sent={"en": {"A"}, "fr": set()})
    assert result["en"] == ["b-en"]
    assert result["fr"] == ["b-en", "a-fr"]  # newest first


def test_nothing_new_means_no_edition() -> None:
    assert plan([story("a", "en")], [sub(1, "en")], sent={"en": {"a"}}) == {}


def test_limit_and_duplicates() -> None:
    stories = [story(f"s{i}", "en", minutes=i) for i in range(15)]
    stories.append(story("dup-title", "en", minutes=30, title="Title s0"))
    stories.append(story("dup-url", "en", minutes=31, url="https://x.example/s1"))
    result = plan(stories, [sub(1, "en")], max_stories=12)
    assert result["en"] == [f"s{i}" for i in range(12)]
    assert "dup-title" not in plan(stories, [sub(1, "en")], max_stories=50)["en"]
    assert "dup-url" not in plan(stories, [sub(1, "en")], max_stories=50)["en"]


def test_languages_without_readers_get_no_edition() -> None:
    assert set(plan([story("a", "en"), story("b", "ja")], [sub(1, "en")])) == {"en"}
