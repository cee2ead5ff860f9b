"""`distributor run` posts through every network to local servers; the CLI commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from sqlalchemy import select

from distributor.pipeline import run
from distributor.store.schema import posts
from tests.conftest import ROOT, settings_for, write_config
from tests.test_cli import cli

LANGS = 'languages = ["ja", "ar"]'


def _network_server(httpserver: HTTPServer) -> None:
    j = httpserver.expect_request
    j("/api/v2/instance").respond_with_json(
        {"configuration": {"statuses": {"max_characters": 500}}}
    )
    j("/api/v2/media", method="POST").respond_with_json({"id": "m", "url": "https://m/m.png"})
    j("/api/v1/statuses", method="POST").respond_with_json({"id": "1", "url": "https://m/@n/1"})
    j("/xrpc/com.atproto.server.createSession").respond_with_json(
        {"accessJwt": "a", "refreshJwt": "r", "did": "did:plc:n"}
    )
    j("/xrpc/com.atproto.repo.uploadBlob").respond_with_json(
        {"blob": {"$type": "blob", "ref": {"$link": "b"}, "mimeType": "image/jpeg", "size": 1}}
    )
    j("/xrpc/com.atproto.repo.createRecord").respond_with_json(
        {"uri": "at://did:plc:n/app.bsky.feed.post/x", "cid": "c"}
    )
    j("/2/media/upload").respond_with_json({"data": {"id": "7"}})
    j("/2/media/metadata").respond_with_json({"data": {}})
    j("/2/tweets").respond_with_json({"data": {"id": "5", "text": ""}}, status=201)
    j("/botTOKEN/sendPhoto").respond_with_json({"ok": True, "result": {"message_id": 3}})
    j("/v21.0/1/feed").respond_with_json({"id": "1_2"})
    j("/rest/images").respond_with_json(
        {"value": {"uploadUrl": httpserver.url_for("/up"), "image": "urn:li:image:1"}}
    )
    j("/up", method="PUT").respond_with_data("", status=201)
    j("/rest/posts").respond_with_data("", status=201, headers={"x-restli-id": "urn:li:share:1"})
    j("/v1.0/9/threads").respond_with_json({"id": "c"})
    j("/v1.0/9/threads_publish").respond_with_json({"id": "t"})
    j("/discord", query_string="wait=true").respond_with_json({"id": "d"})
    j("/slack").respond_with_data("internal error", status=500)  # one network is down


def _social(url: str) -> str:
    return f"""
[social.outbox]
provider = "file"
{LANGS}

[social.mastodon]
provider = "mastodon"
base_url = "{url}"
{LANGS}

[social.bluesky]
provider = "bluesky"
base_url = "{url}"
handle = "news.example"
{LANGS}

[social.x]
provider = "x"
base_url = "{url}"
{LANGS}

[social.telegram]
provider = "telegram"
base_url = "{url}"
chat_id = "@news"
{LANGS}

[social.facebook]
provider = "facebook"
base_url = "{url}"
page_id = "1"
{LANGS}

[social.linkedin]
provider = "linkedin"
base_url = "{url}"
author = "urn:li:organization:1"
{LANGS}

[social.threads]
provider = "threads"
base_url = "{url}"
user_id = "9"
{LANGS}

[social.discord]
provider = "discord"
{LANGS}

[social.slack]
provider = "slack"
max_retry_wait = 0
{LANGS}
"""


SECRETS = {
    "DISTRIBUTOR_SOCIAL_MASTODON_ACCESS_TOKEN": "t",
    "DISTRIBUTOR_SOCIAL_BLUESKY_APP_PASSWORD": "p",
    "DISTRIBUTOR_SOCIAL_X_API_KEY": "k",
    "DISTRIBUTOR_SOCIAL_X_API_SECRET": "s",
    "DISTRIBUTOR_SOCIAL_X_ACCESS_TOKEN": "a",
    "DISTRIBUTOR_SOCIAL_X_ACCESS_TOKEN_SECRET": "b",
    "DISTRIBUTOR_SOCIAL_TELEGRAM_BOT_TOKEN": "TOKEN",
    "DISTRIBUTOR_SOCIAL_FACEBOOK_PAGE_ACCESS_TOKEN": "f",
    "DISTRIBUTOR_SOCIAL_LINKEDIN_ACCESS_TOKEN": "l",
    "DISTRIBUTOR_SOCIAL_THREADS_ACCESS_TOKEN": "h",
}


def test_run_posts_through_every_network_once(
    tmp_path: Path, httpserver: HTTPServer, make_context: Any
) -> None:
    _network_server(httpserver)
    env = SECRETS | {
        "DISTRIBUTOR_SOCIAL_DISCORD_WEBHOOK_URL": httpserver.url_for("/discord"),
        "DISTRIBUTOR_SOCIAL_SLACK_WEBHOOK_URL": httpserver.url_for("/slack"),
    }
    settings = settings_for(
        write_config(tmp_path, social=_social(httpserver.url_for("").rstrip("/"))), env
    )
    ctx = make_context(settings)
    report = run(ctx)
    with ctx.store.engine.connect() as conn:
        rows = conn.execute(select(posts.c.channel, posts.c.language, posts.c.state)).all()
    by_channel: dict[str, list[str]] = {}
    for channel, language, state in rows:
        by_channel.setdefault(channel, []).append(state)
        if channel != "outbox":
            assert language in ("ja", "ar")
    stories_ja_ar = len(by_channel["mastodon"])
    assert stories_ja_ar >= 4
    for channel in (
        "mastodon",
        "bluesky",
        "x",
        "telegram",
        "facebook",
        "linkedin",
        "threads",
        "discord",
    ):
        assert by_channel[channel] == ["sent"] * stories_ja_ar, channel
    assert set(by_channel["slack"]) == {"failed"}  # Slack is down ...
    assert report.posts.sent == sum(
        len(v) for k, v in by_channel.items() if k != "slack"
    )  # ... the rest went
    assert any(e.stage == "social" and e.subject == "slack" for e in report.errors)
    assert (
        len([r for r, _ in httpserver.log if r.path == "/xrpc/com.atproto.server.createSession"])
        == 1
    )

    calls = len(httpserver.log)
    again = run(make_context(settings))
    assert again.posts.sent == 0  # nothing posted twice
    # cards are also made for the story pages of stories in an edition (not posted to
    # these channels); the re-run only looks up those of the posted stories: all cached
    assert again.cards_made == 0
    assert 0 < again.cards_cached <= report.cards_made + report.cards_cached
    assert again.story_pages_written == 0 and again.story_pages_unchanged == again.cards_cached
    new_paths = {r.path for r, _ in httpserver.log[calls:]}
    assert new_paths <= {"/slack", "/api/v2/instance"}  # only the failed Slack posts are retried


def _sample_env(tmp_path: Path) -> dict[str, str]:
    return {"DISTRIBUTOR_DATA_DIR": str(tmp_path / "var")}


def test_cli_post_dry_run_composes_for_every_defined_channel(tmp_path: Path) -> None:
    out = cli(
        "post",
        "--dry-run",
        "--json",
        "--story",
        "urn:meridian:marel-river-treaty:ar",
        cwd=ROOT,
        env=_sample_env(tmp_path),
    )
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    channels = {r["channel"] for r in rows}
    assert channels == {
        "outbox",
        "mastodon",
        "bluesky",
        "x",
        "telegram",
        "facebook",
        "linkedin",
        "threads",
        "discord",
        "slack",
    }
    for row in rows:
        assert row["length"] <= row["limit"]
        assert row["language"] == "ar"
    bsky = next(r for r in rows if r["network"] == "bluesky")
    data = bsky["text"].encode("utf-8")
    link = next(f for f in bsky["facets"] if "uri" in f["features"][0])
    assert (
        data[link["index"]["byteStart"] : link["index"]["byteEnd"]].decode()
        == link["features"][0]["uri"]
    )
    human = cli(
        "post",
        "--dry-run",
        "--channel",
        "x",
        "--story",
        "urn:meridian:marel-river-treaty:ar",
        cwd=ROOT,
        env=_sample_env(tmp_path),
    )
    assert human.returncode == 0 and "/280 weighted characters" in human.stdout
    bad = cli("post", "--dry-run", "--channel", "nope", cwd=ROOT, env=_sample_env(tmp_path))
    assert bad.returncode == 1 and bad.stderr.startswith(
        "distributor: error: no social channel named 'nope'"
    )
    assert len(bad.stderr.strip().splitlines()) == 1


def test_cli_cards_and_links(tmp_path: Path) -> None:
    story_id = "urn:meridian:marel-river-treaty:ja"
    out = cli(
        "cards",
        story_id,
        "--out",
        str(tmp_path / "c"),
        "--json",
        cwd=ROOT,
        env=_sample_env(tmp_path),
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert doc["cards"]["og"]["width"] == 1200 and doc["cards"]["square"]["height"] == 1080
    assert (
        doc["cards"]["thumb"]["bytes"] <= 1_000_000
        and Path(doc["cards"]["og"]["path"]).parent == tmp_path / "c"
    )
    assert doc["cached"] is False and doc["alt_text"]
    again = cli(
        "cards",
        story_id,
        "--out",
        str(tmp_path / "c"),
        "--json",
        cwd=ROOT,
        env=_sample_env(tmp_path),
    )
    assert json.loads(again.stdout)["cached"] is True
    links = cli("links", story_id, "--json", cwd=ROOT, env=_sample_env(tmp_path))
    assert links.returncode == 0, links.stderr
    found = json.loads(links.stdout)
    assert set(found) >= {
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
    assert found["email"].startswith("mailto:")
    missing = cli("links", "no-such-story", cwd=ROOT, env=_sample_env(tmp_path))
    assert missing.returncode == 1 and "no story with id 'no-such-story'" in missing.stderr


def test_crash_mid_post_reposts_only_where_the_network_deduplicates(
    tmp_path: Path, httpserver: HTTPServer, make_context: Any
) -> None:
    """Rows left in `sending` by a crash: Bluesky (deterministic record key) is retried
    and finds its record; X (no idempotency) is marked unknown, never reposted."""
    created: dict[str, str] = {}

    def create(req: Any) -> Any:
        from werkzeug import Response

        rkey = req.get_json()["rkey"]
        if rkey in created:
            return Response(
                json.dumps({"error": "InvalidRequest", "message": "Record already exists"}),
                400,
                content_type="application/json",
            )
        created[rkey] = req.get_json()["record"]["text"]
        return Response(
            json.dumps({"uri": f"at://did:plc:n/app.bsky.feed.post/{rkey}", "cid": "c"}),
            content_type="application/json",
        )

    def get_record(req: Any) -> Any:
        from werkzeug import Response

        rkey = req.args["rkey"]
        if rkey not in created:
            return Response(
                json.dumps({"error": "RecordNotFound"}), 400, content_type="application/json"
            )
        return Response(
            json.dumps({"uri": f"at://did:plc:n/app.bsky.feed.post/{rkey}"}),
            content_type="application/json",
        )

    j = httpserver.expect_request
    j("/xrpc/com.atproto.server.createSession").respond_with_json(
        {"accessJwt": "a", "refreshJwt": "r", "did": "did:plc:n"}
    )
    j("/xrpc/com.atproto.repo.uploadBlob").respond_with_json(
        {"blob": {"$type": "blob", "ref": {"$link": "b"}, "mimeType": "image/jpeg", "size": 1}}
    )
    j("/xrpc/com.atproto.repo.createRecord").respond_with_handler(create)
    j("/xrpc/com.atproto.repo.getRecord").respond_with_handler(get_record)
    j("/2/media/upload").respond_with_json({"data": {"id": "7"}})
    j("/2/media/metadata").respond_with_json({"data": {}})
    j("/2/tweets").respond_with_json({"data": {"id": "5", "text": ""}}, status=201)
    url = httpserver.url_for("").rstrip("/")
    social = f"""
[social.bluesky]
provider = "bluesky"
base_url = "{url}"
handle = "n.example"
languages = ["ja"]

[social.x]
provider = "x"
base_url = "{url}"
languages = ["ja"]
"""
    settings = settings_for(write_config(tmp_path, social=social), SECRETS)
    ctx = make_context(settings)
    first = run(ctx)
    assert first.posts.sent > 0
    # A crash after the request went out and before the reply was recorded:
    with ctx.store.engine.begin() as conn:
        conn.execute(posts.update().values(state="sending"))
    again = run(make_context(settings))
    with ctx.store.engine.connect() as conn:
        states = {
            ch: {st for c, st in conn.execute(select(posts.c.channel, posts.c.state)) if c == ch}
            for ch in ("bluesky", "x")
        }
    assert states == {"bluesky": {"sent"}, "x": {"unknown"}}
    assert again.posts.sent == len(created)  # retried, found the existing records
    assert any("marked unknown" in n for n in again.notes) and any(
        "reposted" in n for n in again.notes
    )
    assert (
        len([r for r, _ in httpserver.log if r.path == "/2/tweets"]) == first.posts.sent // 2
    )  # X never reposted
