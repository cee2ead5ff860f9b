"""og:* tags of a story page: image size and alt, locale and alternates, the Twitter card."""

from __future__ import annotations

from distributor.models import ShareCard
from distributor.share.meta import locale, og_tags
from tests.social.conftest import story


def test_og_tags_of_a_story_with_translations() -> None:
    ar = story("ar")
    card = ShareCard(ar.id, "ar", "/var/cards/abc-og.jpg", 1200, 630, "alt text", cached=False)
    tags = og_tags(
        ar,
        site_name="Meridian",
        card=card,
        card_url="https://news.example/cards/abc-og.jpg",
        translations=[ar, story("en"), story("ja")],
    )
    d = dict(tags)
    assert d["og:title"] == ar.title and d["og:url"] == ar.url and d["og:locale"] == "ar"
    assert [v for k, v in tags if k == "og:locale:alternate"] == ["en", "ja"]
    assert d["og:image:width"] == "1200" and d["og:image:height"] == "630"
    assert d["og:image:alt"] == "alt text" and d["og:image:type"] == "image/jpeg"
    assert d["twitter:card"] == "summary_large_image"
    assert locale("pt-BR") == "pt_BR" and locale("zh-Hant") == "zh"
