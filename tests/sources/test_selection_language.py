"""Language-first selection (issue 15): the reader's own language leads."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from distributor.models import Story, StoryStatus, Subscriber
from distributor.selection import (
    Candidate,
    EditionPlan,
    LanguagePolicy,
    Window,
    plan_editions,
    resolve_language,
    speaks,
)

NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


def story(sid: str, lang: str, group: str | None = None, minutes: int = 0) -> Story:
    return Story(
        id=sid,
        source="s",
        url=f"https://x.example/{sid}",
        title=f"Title {sid}",
        language=lang,
        status=StoryStatus.PUBLISHED,
        published_at=NOW - timedelta(minutes=minutes),
        translation_group=group,
    )


def sub(sid: int, lang: str) -> Subscriber:
    return Subscriber(id=sid, email=f"s{sid}@example.com", name="", language=lang)


def run(
    candidates: list[Story | Candidate],
    subs: list[Subscriber],
    policy: LanguagePolicy | None = None,
    **kw: object,
) -> dict[str, EditionPlan]:
    plans = plan_editions(
        candidates=candidates,
        recipients=subs,
        sent={},
        max_stories=int(kw.pop("max_stories", 10)),  # type: ignore[call-overload]
        fallbacks=(None, "en"),
        window=Window(now=NOW, max_age=timedelta(days=2)),
        policy=policy or LanguagePolicy(),
        **kw,  # type: ignore[arg-type]
    )
    return {p.language: p for p in plans}


def ids(plan: EditionPlan) -> list[str]:
    return [s.id for s in plan.stories]


# English fallbacks are newer than every Arabic and French story: recency alone put them first
STORIES: list[Story | Candidate] = [
    story("news-en", "en", minutes=1),
    story("quake-en", "en", "Q", minutes=2),
    story("treaty-en", "en", "T", minutes=60),
    story("treaty-ar", "ar", "T", minutes=30),
    story("treaty-fr", "fr", "T", minutes=40),
    story("grid-ar", "ar", minutes=90),
    story("festival-ja", "ja", minutes=100),
]


def test_own_language_leads_and_fills_first_then_the_fallbacks() -> None:
    plans = run(STORIES, [sub(1, "ar"), sub(2, "fr"), sub(3, "en"), sub(4, "ja")])
    assert ids(plans["ar"]) == ["treaty-ar", "grid-ar", "news-en", "quake-en"]
    assert ids(plans["fr"]) == ["treaty-fr", "news-en", "quake-en"]
    assert ids(plans["ja"]) == ["festival-ja", "news-en", "quake-en", "treaty-en"]
    assert ids(plans["en"]) == ["news-en", "quake-en", "treaty-en"]
    assert [s.id for s in plans["ar"].own_language] == ["treaty-ar", "grid-ar"]


def test_the_lead_is_in_the_readers_language_even_when_max_stories_is_one() -> None:
    plans = run(STORIES, [sub(1, "ar"), sub(2, "fr")], max_stories=1)
    assert ids(plans["ar"]) == ["treaty-ar"] and ids(plans["fr"]) == ["treaty-fr"]


def test_a_pin_brings_every_translation_to_the_top_of_its_language() -> None:
    pinned: list[Story | Candidate] = [
        Candidate(c, pinned=c.id == "treaty-en") for c in STORIES if isinstance(c, Story)
    ]
    plans = run(pinned, [sub(1, "ar"), sub(2, "fr"), sub(3, "en")])
    assert ids(plans["en"])[0] == "treaty-en"
    assert ids(plans["ar"])[0] == "treaty-ar"  # pinned on the English version only
    assert ids(plans["fr"])[0] == "treaty-fr"
    # a pin does not put a fallback before the reader's own language
    solo = [Candidate(story("x-en", "en", minutes=1), pinned=True), story("y-ar", "ar", minutes=50)]
    assert ids(run(solo, [sub(1, "ar")])["ar"]) == ["y-ar", "x-en"]


def test_priority_also_holds_for_the_whole_group() -> None:
    cands: list[Story | Candidate] = [
        Candidate(story("a-en", "en", "A", minutes=90), priority=5),
        story("a-fr", "fr", "A", minutes=80),
        story("b-fr", "fr", minutes=1),
    ]
    assert ids(run(cands, [sub(1, "fr")])["fr"]) == ["a-fr", "b-fr"]


def test_regional_readers_and_stories_are_their_own_language() -> None:
    cands: list[Story | Candidate] = [
        story("new-en", "en", minutes=1),
        story("pt", "pt", minutes=30),
        story("gb", "en-GB", minutes=40),
    ]
    plans = run(cands, [sub(1, "pt-BR"), sub(2, "en")])
    assert ids(plans["pt-BR"]) == ["pt", "new-en", "gb"]
    assert speaks("pt-BR", "pt") and speaks("en", "en-GB") and not speaks("pt", "es")
    assert not speaks("", "en") and not speaks("en", "")


def test_fallback_none_leaves_other_languages_out() -> None:
    plans = run(STORIES, [sub(1, "ar"), sub(2, "de")], LanguagePolicy(fallback="none"))
    assert ids(plans["ar"]) == ["treaty-ar", "grid-ar"]
    assert "de" not in plans  # nothing in German: no edition


def test_empty_language_skip_or_fallback() -> None:
    readers = [sub(1, "de"), sub(2, "ar")]
    skipped = run(STORIES, readers, LanguagePolicy(empty_language="skip"))
    assert set(skipped) == {"ar"}
    fell_back = run(STORIES, readers, LanguagePolicy(empty_language="fallback"))
    assert ids(fell_back["de"]) == ["news-en", "quake-en", "treaty-en"]


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("ar", "ar"),
        ("AR-eg", "ar"),
        ("pt_br", "pt-BR"),
        ("pt-PT", "pt-BR"),
        ("zh-Hant-TW", "en"),
        ("xx", "en"),
        ("", "en"),
        ("   ", "en"),
        ("not a tag!", "en"),
        ("ja-JP", "ja"),
    ],
)
def test_a_language_the_newsroom_does_not_publish_maps_to_the_nearest(
    tag: str, expected: str
) -> None:
    assert resolve_language(tag, ["en", "ar", "ja", "pt-BR"], "en") == expected


def test_readers_in_unpublished_languages_join_the_nearest_variant() -> None:
    plans = run(
        STORIES,
        [sub(1, "xx"), sub(2, ""), sub(3, "ar-EG"), sub(4, "zh-Hant-TW")],
        languages=["en", "ar", "fr", "ja"],
        default_language="en",
    )
    assert sorted(plans) == ["ar", "en"]
    assert [r.id for r in plans["en"].recipients] == [1, 2, 4]
    assert [r.id for r in plans["ar"].recipients] == [3]
