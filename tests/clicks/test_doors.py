"""What editors see: the dashboard's reach pages, ``/api/stats/editions`` and
``distributor stats`` (``--json``, ``--csv``), after real clicks through waitress."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import requests
from click.testing import CliRunner
from markupsafe import escape
from werkzeug.security import generate_password_hash

from distributor.cli import main
from distributor.models import PostMetrics, PostState
from distributor.store.posts import NewPost, PostStore
from distributor.store.web import WebStore
from tests.clicks.conftest import Served
from tests.clicks.test_redirects import click, links_of
from tests.conftest import NOW
from tests.web.conftest import csrf


def _clicked(served: Served) -> tuple[str, str]:
    """Clicks on the first link of an English and an Arabic digest; their targets."""
    served.clock.advance(hours=5)
    en, ar = links_of(served, "en")[0], links_of(served, "ar")[0]
    first = click(en).headers["Location"]
    click(en, agent="Mozilla/5.0 Firefox/133")
    second = click(ar).headers["Location"]
    return first, second


def test_dashboard_pages_show_clicks_per_language_and_story(served: Served) -> None:
    en_target, ar_target = _clicked(served)
    client = served.app.test_client()
    served.app.config["DISTRIBUTOR_CLOCK"] = served.clock
    WebStore(served.ctx.store).add_editor(
        "desk@news.example", generate_password_hash("desk password 1"), "editor", NOW
    )
    assert client.get("/editor/stats").status_code == 302  # login first
    reply = client.post(
        "/editor/login",
        data={
            "email": "desk@news.example",
            "password": "desk password 1",
            "csrf_token": csrf(client),
        },
    )
    assert reply.status_code == 302
    listing = client.get("/editor/stats").get_data(as_text=True)
    [edition] = served.stats()
    assert f"/editor/stats/daily/{edition.key}" in listing
    page = client.get(f"/editor/stats/daily/{edition.key}").get_data(as_text=True)
    assert '<tr data-language="en">' in page and '<tr data-language="ar">' in page
    en_row = page.split('<tr data-language="en">', 1)[1].split("</tr>", 1)[0]
    assert 'data-field="clicks">2<' in en_row and 'data-field="unique">2<' in en_row
    assert en_target in page and ar_target in page
    assert 'id="hourly-chart"' in page and 'data-hour="5" data-clicks="3"' in page
    assert "<title>Hour 6, clicks: 3</title>" in page and ">6 h</text>" in page
    # the chart speaks the dashboard's language too
    japanese = client.get(
        f"/editor/stats/daily/{edition.key}", headers={"Accept-Language": "ja"}
    ).get_data(as_text=True)
    assert "<title>6時間目、クリック: 3</title>" in japanese and ">6時間</text>" in japanese
    assert 'id="stats-social"' in page  # where the networks' post counts will go
    missing = client.get("/editor/stats/daily/1999-01-01")
    assert missing.status_code == 404


def test_api_serves_the_figures_and_documents_them(served: Served) -> None:
    _clicked(served)
    token = WebStore(served.ctx.store).create_api_token("desk", NOW)
    auth = {"Authorization": f"Bearer {token}"}
    assert requests.get(f"{served.base}/api/stats/editions", timeout=10).status_code == 401
    data = requests.get(f"{served.base}/api/stats/editions", headers=auth, timeout=10).json()
    [edition] = data["editions"]
    assert edition["clicks"] == 3 and edition["languages"]["en"]["clicks"] == 2
    assert edition["languages"]["ar"]["unique_readers"] == 1
    assert edition["click_rate"] == round(3 / edition["delivered"], 4)
    assert len(edition["hourly"]) == 48 and edition["hourly"][5] == 3
    one = requests.get(
        f"{served.base}/api/stats/editions",
        params={"list": "daily", "key": edition["key"]},
        headers=auth,
        timeout=10,
    )
    assert one.status_code == 200 and one.json()["editions"][0]["key"] == edition["key"]
    none = requests.get(
        f"{served.base}/api/stats/editions",
        params={"list": "daily", "key": "1999-01-01"},
        headers=auth,
        timeout=10,
    )
    assert none.status_code == 404 and none.headers["Content-Type"] == "application/problem+json"
    spec = requests.get(f"{served.base}/api/openapi.json", timeout=10).json()
    assert "/stats/editions" in spec["paths"]
    assert "EditionStats" in spec["components"]["schemas"]


def test_cli_stats_json_csv_and_table(served: Served) -> None:
    _clicked(served)
    served.stats()  # the app's held clicks written (the CLI reads the database)
    config = str(served.tmp_path / "distributor.toml")
    runner = CliRunner()
    listing = runner.invoke(main, ["--config", config, "stats", "editions", "--json"])
    assert listing.exit_code == 0, listing.output
    [edition] = json.loads(listing.output)["editions"]
    assert edition["clicks"] == 3
    one = runner.invoke(
        main, ["--config", config, "stats", "edition", "daily", edition["key"], "--json"]
    )
    assert json.loads(one.output)["top_stories"][0]["clicks"] == 2
    exported = runner.invoke(main, ["--config", config, "stats", "editions", "--csv"])
    rows = list(csv.DictReader(io.StringIO(exported.output)))
    variant_rows = [r for r in rows if not r["story_id"]]
    assert sum(int(r["clicks"]) for r in variant_rows) == 3
    assert {r["language"] for r in variant_rows} >= {"en", "ar", "ja"}
    table = runner.invoke(main, ["--config", config, "stats", "edition", "daily", edition["key"]])
    assert table.exit_code == 0 and "per language" in table.output and "top stories" in table.output
    missing = runner.invoke(main, ["--config", config, "stats", "edition", "daily", "1999-01-01"])
    assert missing.exit_code == 1 and "no edition 1999-01-01" in missing.output
    assert "Traceback" not in missing.output


def _login(served: Served) -> Any:
    client = served.app.test_client()
    WebStore(served.ctx.store).add_editor(
        "desk@news.example", generate_password_hash("desk password 1"), "editor", NOW
    )
    reply = client.post(
        "/editor/login",
        data={
            "email": "desk@news.example",
            "password": "desk password 1",
            "csrf_token": csrf(client),
        },
    )
    assert reply.status_code == 302
    return client


def test_the_reach_page_shows_the_social_posts_counts_per_story(served: Served) -> None:
    [edition] = served.stats()
    en = next(v for v in edition.variants if v.language == "en")
    first, second = en.stories[0], en.stories[1]
    posts = PostStore(served.ctx.store)

    def posted(story_id: str, channel: str, language: str, state: PostState) -> int:
        made = posts.create(NewPost(story_id, channel, language, state, "text", NOW), NOW)
        assert made is not None
        return made.id

    masto = posted(first.story_id, "mastodon", "en", PostState.POSTED)
    bsky = posted(first.story_id, "bluesky", "en", PostState.POSTED)
    unread = posted(second.story_id, "mastodon", "en", PostState.POSTED)
    waiting = posted(second.story_id, "bluesky", "en", PostState.APPROVED)  # not out yet
    other = next(
        x for x in ("sw", "ko", "tr", "uk") if x not in {v.language for v in edition.variants}
    )
    foreign = posted(first.story_id, "mastodon", other, PostState.POSTED)  # not its language
    read_at = NOW + timedelta(hours=2)
    posts.record_metrics(PostMetrics(masto, read_at, likes=7, reposts=3, replies=1))
    posts.record_metrics(PostMetrics(bsky, read_at, likes=4, reposts=2, replies=0, quotes=1))
    posts.record_metrics(PostMetrics(waiting, read_at, likes=99))
    posts.record_metrics(PostMetrics(foreign, read_at, likes=99))

    [found] = served.stats()
    rows = {(r.story_id, r.channel, r.language): r for r in found.social}
    assert set(rows) == {
        (first.story_id, "mastodon", "en"),
        (first.story_id, "bluesky", "en"),
        (second.story_id, "mastodon", "en"),
    }
    assert [r.channel for r in found.social][:2] == ["mastodon", "bluesky"]  # busiest first
    assert rows[(first.story_id, "bluesky", "en")].quotes == 1
    assert rows[(second.story_id, "mastodon", "en")].likes is None  # not read yet
    assert found.to_dict()["social"][0]["likes"] == 7

    page = _login(served).get(f"/editor/stats/daily/{edition.key}").get_data(as_text=True)
    assert page.count('id="stats-social"') == 1 and page.count("<h1>") == 1
    social = page.split('id="stats-social"', 1)[1].split("</section>", 1)[0]
    row = social.split(f'data-story="{first.story_id}" data-channel="mastodon"', 1)[1]
    row = row.split("</tr>", 1)[0]
    assert 'data-field="likes">7<' in row and 'data-field="reposts">3<' in row
    assert 'data-field="quotes">—<' in row  # Mastodon has no quotes
    assert str(escape(first.title)) in social and "not read yet" in social
    assert ">99<" not in social
    del unread

    config = str(served.tmp_path / "distributor.toml")
    runner = CliRunner()
    one = runner.invoke(
        main, ["--config", config, "stats", "edition", "daily", edition.key, "--json"]
    )
    assert one.exit_code == 0, one.output
    out = json.loads(one.output)["social"]
    assert (out[0]["channel"], out[0]["likes"], out[0]["reposts"]) == ("mastodon", 7, 3)
    table = runner.invoke(
        main, ["--config", config, "stats", "edition", "daily", edition.key], env={"COLUMNS": "200"}
    )
    assert table.exit_code == 0 and "social posts" in table.output and "bluesky" in table.output
