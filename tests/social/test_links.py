"""Share links: every network, percent-encoding, UTM tags, the story's own query."""

from __future__ import annotations

from urllib.parse import parse_qs, unquote, urlsplit

from distributor.share.links import NETWORKS, UtmPolicy, share_links, with_utm
from tests.social.conftest import story


def test_every_network_has_a_link_with_its_utm_tags() -> None:
    s = story("ar", url="https://news.example/ar/x?id=7&sort=a%20b#top")
    links = {link.network: link.url for link in share_links(s, campaign="daily-2026-11-28")}
    assert (
        set(links)
        == set(NETWORKS)
        == {
            "x",
            "facebook",
            "linkedin",
            "whatsapp",
            "telegram",
            "reddit",
            "bluesky",
            "threads",
            "email",
        }
    )
    for network, link in links.items():
        assert " " not in link and "\n" not in link
        decoded = unquote(link)
        assert "id=7&sort=a%20b" in decoded or "id=7&sort=a b" in decoded  # own query kept
        assert f"utm_source={network}" in decoded
        assert "utm_campaign=daily-2026-11-28" in decoded
        assert ("utm_medium=email" if network == "email" else "utm_medium=social") in decoded
    assert links["email"].startswith("mailto:?subject=")
    assert links["bluesky"].startswith("https://bsky.app/intent/compose?text=")
    assert links["threads"].startswith("https://www.threads.net/intent/post?text=")
    assert links["reddit"].startswith("https://www.reddit.com/submit?url=")


def test_link_parameters_decode_to_the_tagged_story_url() -> None:
    s = story("en", title="Cats & dogs: 100% = ?", url="https://news.example/a?x=1&y=2")
    fb = next(link for link in share_links(s, campaign="c") if link.network == "facebook")
    target = parse_qs(urlsplit(fb.url).query)["u"][0]
    parts = urlsplit(target)
    assert parts.netloc == "news.example" and parts.path == "/a"
    assert parse_qs(parts.query) == {
        "x": ["1"],
        "y": ["2"],
        "utm_source": ["facebook"],
        "utm_medium": ["social"],
        "utm_campaign": ["c"],
    }
    x = next(link for link in share_links(s, campaign="c") if link.network == "x")
    assert parse_qs(urlsplit(x.url).query)["text"] == ["Cats & dogs: 100% = ?"]


def test_own_query_kept_verbatim_and_old_utm_replaced() -> None:
    url = with_utm(
        "https://n.example/p?q=%E2%9C%93&utm_source=old&b=+#frag",
        source="x",
        medium="social",
        campaign="d",
    )
    assert (
        url
        == "https://n.example/p?q=%E2%9C%93&b=+&utm_source=x&utm_medium=social&utm_campaign=d#frag"
    )


def test_utm_is_configurable_per_network() -> None:
    policy = UtmPolicy(source={"x": "twitter"}, medium={"email": "newsletter"}, campaign="fixed")
    links = {
        link.network: unquote(link.url)
        for link in share_links(story("en"), campaign="c", utm=policy)
    }
    assert "utm_source=twitter" in links["x"] and "utm_campaign=fixed" in links["x"]
    assert "utm_medium=newsletter" in links["email"]
    off = share_links(
        story("en"), campaign="c", utm=UtmPolicy(enabled=False), networks=("facebook",)
    )
    assert "utm_" not in unquote(off[0].url)
