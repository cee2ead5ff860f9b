"""Per-post counts (issue 18): Mastodon's ``GET /api/v1/statuses/:id`` and Bluesky's
``app.bsky.feed.getPosts``, read from local servers that check each request as the
networks document them, politely (at most every ``metrics_minutes``); the scheduler
posts due posts at their slot."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from distributor.models import PostState
from distributor.scheduler import Runner
from distributor.service import Context, post_metrics, posts
from tests.conftest import settings_for, write_config
from tests.editions.conftest import MovableClock
from tests.social.conftest import story
from tests.social.test_queue import MORNING, Queue

TID = re.compile(r"^[234567a-z]{13}$")


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


class Networks:
    """Mastodon and a Bluesky PDS on one local server; counts that grow per reading."""

    def __init__(self, server: HTTPServer) -> None:
        self.readings = 0
        self.problems: list[str] = []
        j = server.expect_request
        j("/api/v2/instance").respond_with_json({})
        j("/api/v2/media", method="POST").respond_with_json({"id": "m", "url": "https://m/m.png"})
        j("/api/v1/statuses", method="POST").respond_with_json(
            {"id": "109", "url": "https://m.example/@news/109"}
        )
        j(re.compile(r"^/api/v1/statuses/[^/]+$"), method="GET").respond_with_handler(self.status)
        j("/xrpc/com.atproto.server.createSession").respond_with_json(
            {"accessJwt": "jwt-a", "refreshJwt": "r", "did": "did:plc:n", "handle": "n.example"}
        )
        j("/xrpc/com.atproto.repo.uploadBlob").respond_with_json(
            {"blob": {"$type": "blob", "ref": {"$link": "b"}, "mimeType": "image/jpeg", "size": 1}}
        )
        j("/xrpc/com.atproto.repo.createRecord").respond_with_handler(self.create_record)
        j("/xrpc/app.bsky.feed.getPosts", method="GET").respond_with_handler(self.get_posts)

    def status(self, req: Request) -> Response:
        # GET /api/v1/statuses/:id: a numeric id, a bearer token, no body
        status_id = req.path.rsplit("/", 1)[-1]
        if not status_id.isdigit():
            self.problems.append(f"status id {status_id!r} is not the id")
        if req.headers.get("Authorization") != "Bearer tok":
            self.problems.append("no bearer token")
        if status_id != "109":
            return _json({"error": "Record not found"}, 404)
        self.readings += 1
        return _json(
            {
                "id": "109",
                "favourites_count": 3 * self.readings,
                "reblogs_count": 2,
                "replies_count": 1,
            }
        )

    def create_record(self, req: Request) -> Response:
        rkey = req.get_json()["rkey"]
        return _json({"uri": f"at://did:plc:n/app.bsky.feed.post/{rkey}", "cid": "c"})

    def get_posts(self, req: Request) -> Response:
        # app.bsky.feed.getPosts: uris (1 to 25 AT-URIs, repeated), an access token
        uris = req.args.getlist("uris")
        if not 1 <= len(uris) <= 25 or not all(u.startswith("at://") for u in uris):
            self.problems.append(f"bad uris {uris}")
            return _json({"error": "InvalidRequest"}, 400)
        if req.headers.get("Authorization") != "Bearer jwt-a":
            self.problems.append("no access token")
        posts_ = [
            {
                "uri": u,
                "cid": "c",
                "likeCount": 7,
                "repostCount": 4,
                "replyCount": 2,
                "quoteCount": 1,
            }
            for u in uris
            if TID.match(u.rsplit("/", 1)[-1])
        ]
        return _json({"posts": posts_})

    def calls(self, server: HTTPServer, path: str, method: str = "GET") -> int:
        return len([r for r, _ in server.log if r.path.startswith(path) and r.method == method])


SOCIAL = """
[social.masto]
provider = "mastodon"
base_url = "{url}"
metrics_minutes = 60

[social.sky]
provider = "bluesky"
base_url = "{url}"
handle = "n.example"

[social.outbox]
provider = "file"
"""
ENV = {
    "DISTRIBUTOR_SOCIAL_MASTO_ACCESS_TOKEN": "tok",
    "DISTRIBUTOR_SOCIAL_SKY_APP_PASSWORD": "pw",
}


def test_counts_are_read_politely_stored_and_shown(tmp_path: Path, httpserver: HTTPServer) -> None:
    net = Networks(httpserver)
    clock = MovableClock(MORNING)
    social = SOCIAL.format(url=httpserver.url_for("").rstrip("/"))
    settings = settings_for(write_config(tmp_path, social=social), ENV)
    with Context.open(settings, clock=clock) as ctx:
        q = Queue(ctx, clock, tmp_path)
        assert q.publish(story("en", id="c1", published_at=MORNING)).posts.sent == 3
        by_channel = {p.channel: p for p in posts.listing(ctx)}
        assert by_channel["masto"].provider_id == "https://m.example/@news/109"

        clock.move(minutes=5)
        read = post_metrics.read_counts(ctx)
        assert read.read == {"masto": 1, "sky": 1} and not read.errors, read.errors
        assert net.problems == []
        masto = posts.describe(ctx, by_channel["masto"])["counts"]
        assert (masto["likes"], masto["reposts"], masto["replies"]) == (3, 2, 1)
        sky = posts.describe(ctx, by_channel["sky"])["counts"]
        assert (sky["likes"], sky["reposts"], sky["replies"], sky["quotes"]) == (7, 4, 2, 1)

        # politely: read again only after metrics_minutes (60)
        clock.move(minutes=30)
        assert post_metrics.read_counts(ctx).read == {}
        assert net.calls(httpserver, "/api/v1/statuses/") == 1
        clock.move(minutes=31)
        assert post_metrics.read_counts(ctx).read == {"masto": 1, "sky": 1}
        rows = {r["channel"]: r for r in post_metrics.stats(ctx)}
        assert rows["masto"]["likes"] == 6 and rows["sky"]["reposts"] == 4
        assert rows["outbox"]["likes"] is None  # the file channel exposes none
        assert net.calls(httpserver, "/xrpc/app.bsky.feed.getPosts") == 2


def test_a_status_gone_from_the_network_is_marked_and_not_an_error(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    Networks(httpserver)
    clock = MovableClock(MORNING)
    social = SOCIAL.format(url=httpserver.url_for("").rstrip("/"))
    settings = settings_for(write_config(tmp_path, social=social), ENV)
    with Context.open(settings, clock=clock) as ctx:
        q = Queue(ctx, clock, tmp_path)
        q.publish(story("en", id="c2", published_at=MORNING))
        channel = ctx.enabled_channels()["masto"]
        assert channel.read_counts(["https://m.example/@news/404"]) == {}
        assert set(channel.read_counts(["https://m.example/@news/109"])) == {
            "https://m.example/@news/109"
        }


def test_the_scheduler_posts_a_queued_post_at_its_slot_once(tmp_path: Path) -> None:
    clock = MovableClock(MORNING)
    social = '[social.desk]\nprovider = "file"\napproval = "editor"\nslots = ["07:30"]\n'
    with Context.open(settings_for(write_config(tmp_path, social=social)), clock=clock) as ctx:
        q = Queue(ctx, clock, tmp_path)
        q.publish(story("en", id="slot-1", published_at=MORNING))
        (draft,) = posts.listing(ctx, channel="desk")
        posts.approve(ctx, draft.id, version=draft.version, by="ed")
        runner = Runner(ctx.settings, ctx.store, owner="test", clock=clock, lock=None)
        clock.move(minutes=89)  # 07:29
        runner.poll()
        assert q.outbox("desk") == [] and posts.get(ctx, draft.id).state == PostState.APPROVED
        clock.move(minutes=1)
        assert runner.poll().posts.sent == 1
        assert len(q.outbox("desk")) == 1
        assert runner.poll().posts.sent == 0  # never twice
        assert posts.get(ctx, draft.id).state == PostState.POSTED
