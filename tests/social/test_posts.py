"""Post text per network: counted as each server counts, shortened safely (property tests)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jinja2 import Environment, FileSystemLoader

from distributor.share.counting import (
    URL,
    bluesky_facets,
    graphemes,
    linkedin_escape,
    mastodon_length,
    rules_for,
    telegram_escape,
    utf16_units,
    x_weighted,
)
from distributor.share.posts import compose, shorten
from tests.social.conftest import story

ROOT = Path(__file__).resolve().parents[2]
ENV = Environment(loader=FileSystemLoader(str(ROOT / "templates")), autoescape=False)
NETWORKS = (
    "x",
    "bluesky",
    "mastodon",
    "threads",
    "telegram",
    "linkedin",
    "facebook",
    "discord",
    "slack",
)

EMOJI = ["😀", "👩🏽‍🔬", "🇯🇵", "👨‍👩‍👧‍👦", "❤️", "1️⃣", "🏳️‍🌈"]
pieces = st.one_of(
    st.sampled_from(EMOJI),
    st.sampled_from(
        [
            "東京",
            "記録的な夜",
            "한국어",
            "中文新闻",
            "שלום",
            "مرحبا بالعالم",
            "नमस्ते",
            "Привет",
            "ünïcödé",
        ]
    ),
    st.text(
        alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")),
        min_size=1,
        max_size=12,
    ),
    st.builds(
        lambda s: f"https://example.com/{s}",
        st.text(alphabet="abcdefghij0123456789-_/", min_size=1, max_size=200),
    ),
    st.builds(lambda s: f"#{s}", st.sampled_from(["World", "気候", "طقس", "Climate2026"])),
    st.builds(lambda s: f"@{s}", st.sampled_from(["alice", "bob@mastodon.example"])),
    st.just(" "),
)
texts = st.lists(pieces, min_size=0, max_size=120).map(lambda parts: " ".join(parts))


def test_x_weighting_follows_twitter_text_v3() -> None:
    assert x_weighted("a" * 280) == 280
    assert x_weighted("日" * 140) == 280
    assert x_weighted("😀") == 2
    assert x_weighted("https://example.com/" + "a" * 300) == 23
    assert x_weighted("hi https://example.com/x") == 3 + 23


def test_other_counts() -> None:
    assert graphemes("👨‍👩‍👧‍👦🇯🇵") == 2
    assert mastodon_length("hi https://example.com/" + "a" * 100) == 3 + 23
    assert mastodon_length("@bob@mastodon.example hi") == len("@bob hi")
    assert utf16_units("😀a") == 3
    assert telegram_escape('<b>&"') == '&lt;b&gt;&amp;"'
    assert linkedin_escape("Hi (a) #b @c [d] {e} <f> *g* _h_ ~i~ |j| \\k") == (
        "Hi \\(a\\) \\#b \\@c \\[d\\] \\{e\\} \\<f\\> \\*g\\* \\_h\\_ \\~i\\~ \\|j\\| \\\\k"
    )


def test_shorten_keeps_urls_hashtags_and_words_whole() -> None:
    text = (
        "Breaking news about climate #ClimateAction https://example.com/a/very/long/path more words"
    )
    for limit in range(5, 90):
        out = shorten(text, lambda t, n=limit: len(t) <= n)
        assert len(out) <= limit
        if out:
            body = out.removesuffix("…").rstrip()
            assert text.startswith(body)
            for m in URL.finditer(text):
                assert m.group(0) in out or m.group(0)[:10] not in out
            assert "#ClimateAction" in out or "#Clim" not in out
            rest = text[len(body) :]
            first_word = text.split(" ")[0]
            if len(first_word) + 1 <= limit:  # else: the only way is a cut inside the word
                assert rest == "" or rest[0] == " "  # cut at a word boundary


@pytest.mark.parametrize("network", NETWORKS)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=texts, summary=texts, path=st.text(alphabet="abc/-_0123456789", max_size=300))
def test_every_composed_post_fits_its_network(
    network: str, title: str, summary: str, path: str
) -> None:
    s = story(
        "ja", title=title or "x", summary_text=summary, url=f"https://news.example/{path}?a=1"
    )
    rules = rules_for(network)
    post = compose(s, channel=network, rules=rules, url=s.url + "&utm_source=x", env=ENV)
    assert rules.count(post.text) <= rules.limit, (network, post.text)
    assert post.length == rules.count(post.text)
    if rules.byte_limit:
        assert len(post.text.encode("utf-8")) <= rules.byte_limit
    if rules.link_in_text:
        assert post.text.endswith(s.url + "&utm_source=x")  # the link is never cut


@settings(max_examples=150, deadline=None)
@given(text=texts)
def test_bluesky_facets_cover_exactly_the_url_bytes(text: str) -> None:
    data = text.encode("utf-8")
    facets = bluesky_facets(text)
    links = [f for f in facets if f.kind == "link"]
    assert [f.value for f in links] == [m.group(0) for m in URL.finditer(text)]
    for f in links:
        assert data[f.byte_start : f.byte_end].decode("utf-8") == f.value
    for f in facets:
        if f.kind == "tag":
            assert data[f.byte_start : f.byte_end].decode("utf-8") == "#" + f.value
    spans = sorted((f.byte_start, f.byte_end) for f in facets)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))  # no overlap


def test_bluesky_post_has_byte_offset_facets_after_multibyte_text() -> None:
    s = story("ja", title="記録的な夜 👩🏽‍🔬", sections=("気候",))
    post = compose(
        s, channel="bsky", rules=rules_for("bluesky"), url="https://news.example/a", env=ENV
    )
    data = post.text.encode("utf-8")
    link = next(f for f in post.facets if f.kind == "link")
    tag = next(f for f in post.facets if f.kind == "tag")
    assert data[link.byte_start : link.byte_end] == b"https://news.example/a"
    assert data[tag.byte_start : tag.byte_end].decode() == "#気候"
    assert post.to_dict()["facets"][0]["index"]["byteStart"] == tag.byte_start  # type: ignore[index]


def test_templates_are_overridable_per_network_and_language(tmp_path: Path) -> None:
    (tmp_path / "social").mkdir()
    (tmp_path / "social" / "x.ja.txt.j2").write_text("【速報】{{ story.title }}", encoding="utf-8")
    from jinja2 import ChoiceLoader

    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(tmp_path)), ENV.loader]), autoescape=False
    )  # type: ignore[list-item]
    ja = compose(story("ja"), channel="x", rules=rules_for("x"), url="https://n.example/a", env=env)
    en = compose(story("en"), channel="x", rules=rules_for("x"), url="https://n.example/a", env=env)
    assert ja.text.startswith("【速報】")
    assert not en.text.startswith("【速報】") and "#World" in en.text
