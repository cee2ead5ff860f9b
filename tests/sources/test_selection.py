"""Selection: every rule, without a database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from distributor.models import Story, StoryStatus, Subscriber
from distributor.selection import (
    Candidate,
    EditionPlan,
    SentHistory,
    Window,
    in_window,
    language_chain,
    normalize_language,
    plan_editions,
    segment_of,
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
    assert result["fr"] == ["a-fr", "b-en"]  # the reader's own language first


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


# ----------------------------------------------------------------- every rule
NOW = T0 + timedelta(hours=1)


def cand(s: Story, **kw: object) -> Candidate:
    return Candidate(s, first_seen_at=kw.pop("first_seen_at", s.published_at), **kw)  # type: ignore[arg-type]


def plans(
    candidates: list[Story | Candidate],
    subs: list[Subscriber],
    *,
    sent: dict[tuple[str, str], SentHistory] | None = None,
    last: datetime | None = None,
    max_age: timedelta = timedelta(days=2),
    max_stories: int = 10,
    fallbacks: tuple[str | None, ...] = (None, "en"),
    send_empty: bool = False,
) -> list[EditionPlan]:
    return plan_editions(
        candidates=candidates,
        recipients=subs,
        sent=sent or {},
        max_stories=max_stories,
        fallbacks=fallbacks,
        window=Window(now=NOW, max_age=max_age, last_edition_at=last),
        send_empty=send_empty,
    )


def ids(result: list[EditionPlan]) -> dict[tuple[str, str], list[str]]:
    return {(p.language, p.segment): [s.id for s in p.stories] for p in result}


def test_only_published_stories_with_a_past_publish_time() -> None:
    draft = replace(story("draft", "en"), status=StoryStatus.DRAFT)
    scheduled = replace(story("sched", "en"), status=StoryStatus.SCHEDULED)
    future = replace(story("future", "en"), published_at=NOW + timedelta(minutes=1))
    undated = replace(story("undated", "en"), published_at=None)
    ok = story("ok", "en")
    assert ids(plans([draft, scheduled, future, undated, ok], [sub(1, "en")])) == {
        ("en", ""): ["ok"]
    }


def test_first_edition_window_is_max_age() -> None:
    fresh = story("fresh", "en", minutes=60 * 47)
    stale = story("stale", "en", minutes=60 * 50)
    assert ids(plans([fresh, stale], [sub(1, "en")])) == {("en", ""): ["fresh"]}


def test_later_editions_take_what_came_since_the_last_one() -> None:
    last = T0 - timedelta(minutes=30)
    before = story("before", "en", minutes=45)  # published before the last edition
    after = story("after", "en", minutes=10)
    # published before the last edition but first seen after it: a source that was down
    late = cand(story("late", "en", minutes=90), first_seen_at=T0)
    # late, but older than max_age: still too old
    too_old = cand(story("too-old", "en", minutes=60 * 72), first_seen_at=T0)
    result = plans([before, after, late, too_old], [sub(1, "en")], last=last)
    assert ids(result) == {("en", ""): ["after", "late"]}
    assert in_window(cand(after), Window(NOW, timedelta(days=2), last))
    assert not in_window(cand(before), Window(NOW, timedelta(days=2), last))


def test_later_editions_are_not_limited_by_max_age() -> None:
    last = T0 - timedelta(days=10)  # the list was paused for ten days
    old_but_new = story("x", "en", minutes=60 * 24 * 5)
    assert ids(plans([old_but_new], [sub(1, "en")], last=last)) == {("en", ""): ["x"]}


def test_already_sent_per_language_by_translation_group() -> None:
    sent = {("en", ""): SentHistory({"A": T0})}
    stories = [story("a-en", "en", "A"), story("a-fr", "fr", "A", 1)]
    result = ids(plans(stories, [sub(1, "en"), sub(2, "fr")], sent=sent))
    assert result == {("fr", ""): ["a-fr"]}  # English readers had it; French readers did not


def test_an_update_is_not_resent_unless_flagged() -> None:
    sent_at = T0 - timedelta(minutes=30)
    sent = {("en", ""): SentHistory({"A": sent_at}, frozenset({"https://x.example/a"}))}
    updated = replace(story("a", "en", "A", url="https://x.example/a"), updated_at=T0)
    assert plans([cand(updated)], [sub(1, "en")], sent=sent) == []
    # flagged, updated after it was sent: it goes again (its URL was sent, that is the point)
    assert ids(plans([cand(updated, resend=True)], [sub(1, "en")], sent=sent)) == {
        ("en", ""): ["a"]
    }
    # flagged, but not updated since it was sent: not again
    stale = replace(updated, updated_at=sent_at - timedelta(minutes=1))
    assert plans([cand(stale, resend=True)], [sub(1, "en")], sent=sent) == []


def test_duplicates_by_canonical_url_and_normalized_title() -> None:
    a = story("a", "en", minutes=1, title="Storm hits the coast", url="https://x.example/storm")
    same_url = story("b", "en", minutes=2, url="https://x.example/storm")
    same_title = story("c", "en", minutes=3, title="STORM hits  the coast!")
    other = story("d", "en", minutes=4)
    assert ids(plans([a, same_url, same_title, other], [sub(1, "en")])) == {("en", ""): ["a", "d"]}
    # and a story whose title or URL went out in an earlier edition is not sent again
    sent = {("en", ""): SentHistory({"zz": T0}, frozenset(), frozenset({"storm hits the coast"}))}
    assert ids(plans([a, other], [sub(1, "en")], sent=sent)) == {("en", ""): ["d"]}


def test_ranked_by_pin_then_priority_then_recency_and_limited() -> None:
    newest = cand(story("newest", "en", minutes=1))
    older = cand(story("older", "en", minutes=50))
    important = cand(story("important", "en", minutes=100), priority=5)
    pinned = cand(story("pinned", "en", minutes=200), pinned=True)
    pinned_low = cand(story("pinned-low", "en", minutes=10), pinned=True, priority=-1)
    result = plans([newest, older, important, pinned, pinned_low], [sub(1, "en")], max_stories=4)
    assert ids(result) == {("en", ""): ["pinned", "pinned-low", "important", "newest"]}
    # a duplicate keeps the better-ranked story, not the newer one
    dup = cand(story("dup", "en", minutes=0, title="Title pinned"))
    assert ids(plans([dup, pinned], [sub(1, "en")])) == {("en", ""): ["pinned"]}


def test_topics_make_segments() -> None:
    world = replace(story("world", "en", minutes=1), sections=("World",))
    science = replace(story("science", "en", minutes=2), sections=("Science", "Health"))
    sport = replace(story("sport", "en", minutes=3), sections=("Sport",))
    everyone = sub(1, "en")
    curious = replace(sub(2, "en"), topics=("science", " world "))
    athlete = replace(sub(3, "en"), topics=("sport",))
    gardener = replace(sub(4, "en"), topics=("gardening",))
    assert segment_of(curious) == "science+world" and segment_of(everyone) == ""
    result = plans([world, science, sport], [everyone, curious, athlete, gardener])
    assert ids(result) == {
        ("en", ""): ["world", "science", "sport"],
        ("en", "science+world"): ["world", "science"],
        ("en", "sport"): ["sport"],
    }  # nothing for gardening: no edition for that segment
    by_segment = {p.segment: [r.id for r in p.recipients] for p in result}
    assert by_segment == {"": [1], "science+world": [2], "sport": [3]}
    # each segment has its own history
    sent = {("en", "sport"): SentHistory({"sport": T0})}
    assert ("en", "sport") not in ids(
        plans([world, science, sport], [everyone, athlete], sent=sent)
    )


def test_the_fallback_chain() -> None:
    group = [story("g-en", "en", "G"), story("g-es", "es", "G"), story("g-pt", "pt", "G")]
    readers = [sub(1, "pt-BR"), sub(2, "pt-PT"), sub(3, "gl"), sub(4, "de"), sub(5, "es-MX")]
    result = ids(plans(group, readers, fallbacks=("es", "en")))
    assert result == {
        ("pt-BR", ""): ["g-pt"],  # pt-BR -> pt
        ("pt-PT", ""): ["g-pt"],
        ("gl", ""): ["g-es"],  # gl -> list fallback es
        ("de", ""): ["g-es"],
        ("es-MX", ""): ["g-es"],  # es-MX -> es
    }
    only_en = [story("h-en", "en", "H"), story("h-ja", "ja", "H")]
    assert ids(plans(only_en, [sub(1, "pt-BR")], fallbacks=("es", "en"))) == {
        ("pt-BR", ""): ["h-en"]  # ... -> newsroom default en
    }
    assert language_chain("pt-BR", "es", "en") == ["pt-BR", "pt", "es", "en"]


def test_an_edition_with_no_new_stories_is_skipped_or_sent() -> None:
    sent = {("en", ""): SentHistory({"a": T0})}
    assert plans([story("a", "en")], [sub(1, "en")], sent=sent) == []
    [empty] = plans([story("a", "en")], [sub(1, "en")], sent=sent, send_empty=True)
    assert empty.stories == () and [r.id for r in empty.recipients] == [1]
