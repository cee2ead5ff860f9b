"""Click links from a real run's ``.eml`` files, followed through the real app (waitress)
with a plain HTTP client: redirects, counts per language and story, uniques, scanners,
sweeps, floods and bad tokens."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import requests
from sqlalchemy import select

from distributor.models import Edition
from distributor.render.tracking import ClickLinks
from distributor.store.schema import click_counts, click_seen, reader_clicks
from tests.clicks.conftest import Served, redirect_links
from tests.conftest import NOW
from tests.web.conftest import html_of, read_mail, text_of

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131"


def click(url: str, *, agent: str = BROWSER, method: str = "GET", **headers: str) -> Any:
    return requests.request(
        method, url, headers={"User-Agent": agent, **headers}, allow_redirects=False, timeout=10
    )


def variant_of(served: Served, link: str) -> int:
    links = ClickLinks(served.settings.secret_key.get_secret_value(), served.base)
    return links.read(link.rsplit("/", 1)[1], NOW, 86400).edition_id


def links_of(served: Served, language: str) -> list[str]:
    return redirect_links(html_of(read_mail(served.emls(language)[0])), served.base)


def story_urls(served: Served) -> set[str]:
    with served.ctx.store.engine.connect() as conn:
        from distributor.store.schema import stories

        return {r.url for r in conn.execute(select(stories.c.url))}


def test_digests_carry_the_same_redirect_links_for_every_reader_of_a_variant(
    served: Served,
) -> None:
    urls = story_urls(served)
    for language in ("en", "ar", "ja"):
        emls = served.emls(language)
        assert len(emls) >= 2
        per_reader = [redirect_links(html_of(read_mail(p)), served.base) for p in emls]
        by_variant: dict[int, list[list[str]]] = {}
        for links in per_reader:
            by_variant.setdefault(variant_of(served, links[0]), []).append(links)
        assert any(len(group) >= 2 for group in by_variant.values())
        for group in by_variant.values():
            assert group[0] and all(links == group[0] for links in group)
        html = html_of(read_mail(emls[0]))
        # no story is linked directly any more: titles, images, "Read more", shares
        assert not any(f'href="{u}"' in html for u in urls)
        text = text_of(read_mail(emls[0]))
        assert f"{served.base}/r/" in text
        assert not any(f": {u}\n" in text for u in urls)


def test_a_click_redirects_to_the_story_and_is_counted_per_language_and_story(
    served: Served,
) -> None:
    served.clock.advance(hours=2)
    urls = story_urls(served)
    en, ar = links_of(served, "en"), links_of(served, "ar")
    first_en = click(en[0])
    assert first_en.status_code == 302 and first_en.headers["Location"] in urls
    assert first_en.headers["Referrer-Policy"] == "no-referrer"
    first_ar = click(ar[0])
    assert first_ar.status_code == 302 and first_ar.headers["Location"] in urls
    again = click(en[0])  # the same reader again: a click, not a new unique
    other = click(en[0], agent=BROWSER + " Firefox")  # someone else (another browser)
    assert again.headers["Location"] == other.headers["Location"] == first_en.headers["Location"]

    [edition] = served.stats()
    langs = edition.languages()
    assert langs["en"]["clicks"] == 3 and langs["en"]["unique_readers"] == 2
    assert langs["ar"]["clicks"] == 1 and langs["ar"]["unique_readers"] == 1
    assert langs["ja"]["clicks"] == 0
    en_variant = next(v for v in edition.variants if v.edition_id == variant_of(served, en[0]))
    assert langs["en"]["delivered"] == len(served.emls("en"))
    assert en_variant.clicks == 3
    assert en_variant.click_rate == round(2 / en_variant.delivered, 4)
    top = edition.top_stories()[0]
    assert top["url"] == first_en.headers["Location"]
    assert top["clicks"] >= 3 and top["by_language"]["en"] == 3
    assert sum(edition.hourly) == 4 and edition.hourly[2] == 4
    # one row per key and hour: four clicks of two links are not four rows
    with served.ctx.store.engine.connect() as conn:
        rows = conn.execute(select(click_counts)).all()
        seen = conn.execute(select(click_seen)).all()
    assert len(rows) == 4  # en link, ar link, en readers, ar readers
    assert all(len(r.digest) == 32 and "127.0.0.1" not in r.digest for r in seen)


def test_share_links_go_to_the_network_with_the_story_and_count_per_network(
    served: Served,
) -> None:
    served.clock.advance(hours=1)
    html = html_of(read_mail(served.emls("en")[0]))
    links = redirect_links(html, served.base)
    targets = [click(link).headers["Location"] for link in links]
    shares = [t for t in targets if "x.com/intent" in t or "facebook.com/sharer" in t]
    assert shares, targets
    assert any("utm_source=x" in unquote(t) for t in shares)
    [edition] = served.stats()
    # a reader clicking every link one by one, not in a burst: this test clicks fast, so
    # it is a sweep (machine) unless the links come slowly; both counts add up
    en = next(v for v in edition.variants if v.edition_id == variant_of(served, links[0]))
    assert en.clicks + en.machine == len(links)


def test_clicks_of_one_reader_spaced_out_count_each_share_network(served: Served) -> None:
    served.clock.advance(hours=1)
    links = links_of(served, "en")
    share = [
        link for link in links if "x.com" in click(link, agent="probe-bot").headers["Location"]
    ]
    assert share
    for link in share[:3]:
        click(link)
        time.sleep(0.7)  # slower than a sweep (4 links in 2 s)
    [edition] = served.stats()
    en = next(v for v in edition.variants if v.edition_id == variant_of(served, links[0]))
    assert en.shares == {"x": len(share[:3])}
    assert en.machine == len(links)  # the bot's probes


def test_head_requests_scanners_bots_and_sweeps_are_machine_not_clicks(served: Served) -> None:
    links = links_of(served, "en")
    # a mail gateway checks a link as the mail arrives: a machine
    assert click(links[0], agent="Mozilla/5.0 Barracuda Sentinel").status_code == 302
    assert click(links[0], method="HEAD").status_code == 302
    assert click(links[0], agent="").status_code == 302
    assert click(links[0], agent="Slackbot-LinkExpanding 1.0").status_code == 302
    # a sweep: every link of the message from one client at once
    for link in links[:6]:
        assert click(link, agent=BROWSER + " Sweeper").status_code == 302
    served.clock.advance(minutes=10)
    # the same gateway's name long after delivery is a reader behind it
    click(links[1], agent="Mozilla/5.0 Barracuda Sentinel")
    [edition] = served.stats()
    en = next(v for v in edition.variants if v.edition_id == variant_of(served, links[0]))
    assert en.clicks == 1 and en.unique_readers == 1
    assert en.machine == 4 + 6


def test_a_flood_from_one_client_is_bounded_by_the_rate_limit(served: Served) -> None:
    served.clock.advance(hours=3)
    link = links_of(served, "ja")[0]
    for _ in range(45):
        assert click(link).status_code == 302  # still redirected: never a broken link
    [edition] = served.stats()
    ja = next(v for v in edition.variants if v.edition_id == variant_of(served, link))
    assert ja.clicks == served.settings.clicks.rate_limit_per_minute == 30
    assert ja.machine == 15 and ja.unique_readers == 1
    served.clock.advance(minutes=1)
    click(link)
    [edition] = served.stats()
    assert next(v for v in edition.variants if v.edition_id == ja.edition_id).clicks == 31


def test_bad_tokens_get_a_plain_page_with_the_newsroom_link(served: Served) -> None:
    link = links_of(served, "en")[0]
    token = link.rsplit("/", 1)[1]
    payload, stamp, sig = token.split(".")
    tampered = f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{stamp}.{sig}"
    links = ClickLinks(served.settings.secret_key.get_secret_value(), served.base)
    gone = Edition(9999, "daily", "2026-11-28", "en", ("x",), NOW)
    maker = links.for_edition(gone, "aggregate")
    assert maker is not None
    from distributor.models import Story, StoryStatus

    ghost = Story(
        "x", "meridian", "https://news.example/x", "x", "en", StoryStatus.PUBLISHED, None, None
    )
    forged_key = ClickLinks("not our secret", served.base).for_edition(gone, "aggregate")
    assert forged_key is not None
    cases = {
        "truncated": (link[:-6], 404),
        "forged": (f"{served.base}/r/not-a-token", 404),
        "tampered": (f"{served.base}/r/{tampered}", 404),
        "other secret": (forged_key.story(ghost), 404),
        "deleted edition": (maker.story(ghost), 410),
        "extra path": (f"{served.base}/r/{token}/https://evil.example", 404),
    }
    for name, (url, status) in cases.items():
        for method in ("GET", "HEAD"):
            reply = click(url, method=method)
            assert reply.status_code == status, (name, reply.status_code)
            assert "Location" not in reply.headers, name
        page = click(url)
        assert 'href="https://news.example"' in page.text and "Meridian World News" in page.text
        assert page.headers["Content-Type"].startswith("text/html")
    served.clock.advance(days=401)  # past token_max_age_days
    expired = click(link)
    assert expired.status_code == 410 and "expired" in expired.text
    assert "Location" not in expired.headers
    [edition] = served.stats()
    assert edition.clicks == edition.machine == 0


def test_seen_digests_and_salts_of_an_earlier_day_are_deleted(served: Served) -> None:
    link = links_of(served, "en")[0]
    served.clock.advance(hours=1)
    click(link)
    served.stats()
    with served.ctx.store.engine.connect() as conn:
        day1 = {r.day for r in conn.execute(select(click_seen))}
    served.clock.advance(days=1)
    click(link)  # the same reader the next day: unique again (a new salt)
    [edition] = served.stats()
    with served.ctx.store.engine.connect() as conn:
        days = {r.day for r in conn.execute(select(click_seen))}
        salts = conn.execute(select(click_counts.c.hour)).all()
    assert day1 == {(NOW + timedelta(hours=1)).strftime("%Y-%m-%d")}
    assert days == {(NOW + timedelta(days=1, hours=1)).strftime("%Y-%m-%d")}
    assert len(salts) == 4  # two hours x (link, readers)
    en = next(v for v in edition.variants if v.edition_id == variant_of(served, link))
    assert en.unique_readers == 2 and en.clicks == 2
    with served.ctx.store.engine.connect() as conn:
        assert conn.execute(select(reader_clicks)).first() is None  # aggregate: nobody kept


def test_previews_carry_redirect_links_that_lead_the_same_way_and_never_count(
    served: Served,
) -> None:
    from distributor.service.previews import build_preview

    # the sample run's edition, previewed (nothing new to send): the same shape of links
    shown = build_preview(served.ctx, "daily", language="en")
    assert shown.edition.id > 0  # the ledger's edition, shown
    preview = redirect_links(shown.message.html, served.base)
    real = next(
        found
        for found in (redirect_links(html_of(read_mail(p)), served.base) for p in served.emls("en"))
        if variant_of(served, found[0]) == shown.edition.id
    )
    assert len(preview) == len(real) and not set(preview) & set(real)
    served.clock.advance(hours=1)
    real_targets = [click(link).headers["Location"] for link in real]
    served.app.extensions["distributor"]["clicks"].flush(force=True)
    with served.ctx.store.engine.connect() as conn:
        before = conn.execute(select(click_counts)).all()
    assert before
    links = ClickLinks(served.settings.secret_key.get_secret_value(), served.base)
    assert all(links.read(p.rsplit("/", 1)[1], NOW, 86400).preview for p in preview)
    served.clock.advance(minutes=10)
    for agent in (BROWSER, "Mozilla/5.0 Firefox/133"):
        replies = [click(link, agent=agent) for link in preview]
        assert [r.status_code for r in replies] == [302] * len(preview)
        assert [r.headers["Location"] for r in replies] == real_targets
    assert click(preview[0], method="HEAD").status_code == 302
    served.app.extensions["distributor"]["clicks"].flush(force=True)
    with served.ctx.store.engine.connect() as conn:
        assert conn.execute(select(click_counts)).all() == before  # nothing counted

    # a preview token that was changed is a bad link like any other
    token = preview[0].rsplit("/", 1)[1]
    payload, stamp, sig = token.split(".")
    tampered = f"{payload[:-2]}{'A' if payload[-2] != 'A' else 'B'}{payload[-1]}.{stamp}.{sig}"
    bad = click(f"{served.base}/r/{tampered}")
    assert bad.status_code == 404 and "Location" not in bad.headers
