"""Every channel against a real local HTTP server that checks requests as each network documents them."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from jinja2 import Environment, FileSystemLoader
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from distributor.errors import (
    AuthenticationError,
    OutcomeUnknown,
    ProviderError,
    TransientProviderError,
)
from distributor.models import Post
from distributor.registry import social_channel_class
from distributor.share.cards import CardMaker, CardSet
from distributor.share.counting import rules_for
from distributor.share.posts import compose_post
from distributor.social.base import HttpChannel
from distributor.social.bluesky import deterministic_tid
from tests.social.conftest import channel_settings, story

ROOT = Path(__file__).resolve().parents[2]
ENV = Environment(loader=FileSystemLoader(str(ROOT / "templates")), autoescape=False)


@pytest.fixture(scope="module")
def cards(tmp_path_factory: pytest.TempPathFactory) -> CardSet:
    maker = CardMaker(
        tmp_path_factory.mktemp("cards"), brand_name="Meridian", brand_color="#0b3d91"
    )
    return maker.card_set(story("en"))


def make_post(cards: CardSet, network: str, *, title: str | None = None, lang: str = "en") -> Post:
    s = story(lang, title=title or "Ministers agree <climate> pact & more", sections=("World",))
    return compose_post(
        s,
        channel=network + "-main",
        url=s.url + "&utm_source=" + network,
        rules=rules_for(network),
        env=ENV,
        card_path=cards.og.path,
        alt_text=cards.og.alt_text,
        thumb_path=cards.thumb.path,
    )


def build(
    tmp_path: Path,
    network: str,
    section: str,
    env: dict[str, str],
    sleeps: list[float] | None = None,
    now: float | None = None,
) -> Any:
    name = network + "-main"
    settings = channel_settings(
        tmp_path, f'[social.{name}]\nprovider = "{network}"\n{section}', env
    )
    cls = social_channel_class(network)
    channel = cls(
        name,
        settings.social[name],
        settings,
        sleep=(sleeps.append if sleeps is not None else lambda s: None),
        **({"now": lambda: now} if now is not None else {}),
    )
    assert isinstance(channel, HttpChannel)
    return channel


def env_for(network: str, **secrets: str) -> dict[str, str]:
    return {f"DISTRIBUTOR_SOCIAL_{network.upper()}_MAIN_{k.upper()}": v for k, v in secrets.items()}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(body), status=status, headers=headers or {}, content_type="application/json"
    )


class Seen:
    """A request the server received, read once (multipart files are read and closed)."""

    def __init__(self, req: Request) -> None:
        self.path = req.path
        self.headers = req.headers
        self.args = req.args
        self.form = req.form.to_dict()
        self.files = {}
        for name, storage in req.files.items():
            self.files[name] = storage.read()
            storage.close()
        self.data = req.get_data()
        self._json = req.get_json(silent=True)

    def get_json(self) -> Any:
        return self._json

    def get_data(self) -> bytes:
        return self.data


def requests_to(server: HTTPServer, path: str) -> list[Seen]:
    out = []
    for req, _resp in server.log:
        if req.path == path:
            if "test.seen" not in req.environ:  # read once: files are closed after reading
                req.environ["test.seen"] = Seen(req)
            out.append(req.environ["test.seen"])
    return out


# ------------------------------------------------------------------ Mastodon
def test_mastodon_media_polling_language_and_idempotency_key(
    tmp_path: Path, httpserver: HTTPServer, cards: CardSet
) -> None:
    sleeps: list[float] = []
    polls = iter([206, 200])
    httpserver.expect_request("/api/v2/instance", method="GET").respond_with_json(
        {"configuration": {"statuses": {"max_characters": 1000, "characters_reserved_per_url": 30}}}
    )
    httpserver.expect_request("/api/v2/media", method="POST").respond_with_json(
        {"id": "m1", "url": None}, status=202
    )

    def media_status(_req: Request) -> Response:
        code = next(polls)
        return json_response(
            {"id": "m1", "url": "https://m.example/m1.png" if code == 200 else None}, code
        )

    httpserver.expect_request("/api/v1/media/m1", method="GET").respond_with_handler(media_status)
    httpserver.expect_request("/api/v1/statuses", method="POST").respond_with_json(
        {"id": "9", "url": "https://m.example/@news/9"}
    )
    ch = build(
        tmp_path,
        "mastodon",
        f'base_url = "{httpserver.url_for("")}"',
        env_for("mastodon", access_token="tok"),
        sleeps,
    )
    assert ch.rules().limit == 1000  # from /api/v2/instance
    assert ch.rules().count("see https://example.com/" + "a" * 100) == 4 + 30
    post = make_post(cards, "mastodon")
    result = ch.publish(post)
    assert result.state == "sent" and result.provider_id == "https://m.example/@news/9"
    media = requests_to(httpserver, "/api/v2/media")[0]
    assert media.headers["Authorization"] == "Bearer tok"
    assert media.files["file"][:3] == b"\xff\xd8\xff"
    assert media.form["description"] == cards.og.alt_text
    assert len(requests_to(httpserver, "/api/v1/media/m1")) == 2 and len(sleeps) == 2
    status = requests_to(httpserver, "/api/v1/statuses")[0]
    body = status.get_json()
    assert body["status"] == post.text and body["language"] == "en" and body["media_ids"] == ["m1"]
    key = status.headers["Idempotency-Key"]
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    polls = iter([200, 200])
    ch.publish(post)  # a retry of the same post carries the same key
    assert requests_to(httpserver, "/api/v1/statuses")[1].headers["Idempotency-Key"] == key


def test_mastodon_429_is_waited_out_and_401_stops(
    tmp_path: Path, httpserver: HTTPServer, cards: CardSet
) -> None:
    sleeps: list[float] = []
    replies = iter(
        [
            json_response({"error": "Too many requests"}, 429, {"Retry-After": "2"}),
            json_response({"id": "1", "url": None}),
        ]
    )
    httpserver.expect_request("/api/v1/statuses").respond_with_handler(lambda _r: next(replies))
    ch = build(
        tmp_path,
        "mastodon",
        f'base_url = "{httpserver.url_for("")}"\nmax_chars = 500',
        env_for("mastodon", access_token="tok"),
        sleeps,
    )
    post = make_post(cards, "mastodon")
    post = Post(
        post.key, post.story_id, post.channel, post.language, post.text, post.url
    )  # no card
    assert ch.publish(post).state == "sent"
    assert sleeps == [2.0]
    httpserver.clear()
    httpserver.expect_request("/api/v1/statuses").respond_with_json(
        {"error": "The access token is invalid"}, status=401
    )
    with pytest.raises(AuthenticationError):
        ch.publish(post)


# ------------------------------------------------------------------ Bluesky
def _bsky_server(httpserver: HTTPServer, create_record: Callable[[Request], Response]) -> None:
    httpserver.expect_request(
        "/xrpc/com.atproto.server.createSession", method="POST"
    ).respond_with_json(
        {"accessJwt": "acc1", "refreshJwt": "ref1", "did": "did:plc:news", "handle": "news.example"}
    )
    httpserver.expect_request(
        "/xrpc/com.atproto.server.refreshSession", method="POST"
    ).respond_with_json(
        {"accessJwt": "acc2", "refreshJwt": "ref2", "did": "did:plc:news", "handle": "news.example"}
    )

    def upload(req: Request) -> Response:
        assert req.headers["Content-Type"] == "image/jpeg"
        assert len(req.get_data()) <= 1_000_000
        return json_response(
            {
                "blob": {
                    "$type": "blob",
                    "ref": {"$link": "bafkthumb"},
                    "mimeType": "image/jpeg",
                    "size": len(req.get_data()),
                }
            }
        )

    httpserver.expect_request(
        "/xrpc/com.atproto.repo.uploadBlob", method="POST"
    ).respond_with_handler(upload)
    httpserver.expect_request(
        "/xrpc/com.atproto.repo.createRecord", method="POST"
    ).respond_with_handler(create_record)


def test_bluesky_session_blob_facets_and_deterministic_rkey(
    tmp_path: Path, httpserver: HTTPServer, cards: CardSet
) -> None:
    _bsky_server(
        httpserver,
        lambda req: json_response(
            {"uri": f"at://did:plc:news/app.bsky.feed.post/{req.get_json()['rkey']}", "cid": "c"}
        ),
    )
    ch = build(
        tmp_path,
        "bluesky",
        f'base_url = "{httpserver.url_for("")}"\nhandle = "news.example"',
        env_for("bluesky", app_password="app-pw"),
    )
    post = make_post(cards, "bluesky", title="記録的な夜 👩🏽‍🔬 pact", lang="ja")
    ch.publish(post)
    ch.publish(make_post(cards, "bluesky", lang="en"))
    sessions = requests_to(httpserver, "/xrpc/com.atproto.server.createSession")
    assert len(sessions) == 1  # created once, reused
    assert sessions[0].get_json() == {"identifier": "news.example", "password": "app-pw"}
    create = requests_to(httpserver, "/xrpc/com.atproto.repo.createRecord")[0]
    assert create.headers["Authorization"] == "Bearer acc1"
    body = create.get_json()
    assert body["repo"] == "did:plc:news" and body["collection"] == "app.bsky.feed.post"
    assert body["rkey"] == deterministic_tid(post.story_id, post.channel, "ja")
    published = datetime(2026, 11, 28, 6, 0, tzinfo=UTC)
    tid = deterministic_tid("s", "bsky", "en", published)
    assert tid == deterministic_tid("s", "bsky", "en", published)
    assert tid != deterministic_tid("s", "bsky", "fr", published)
    value = 0
    for ch in tid:
        value = value * 32 + "234567abcdefghijklmnopqrstuvwxyz".index(ch)
    assert (value >> 10) // 1_000_000 == int(published.timestamp())  # the TID's time is the story's
    assert re.fullmatch(r"[234567abcdefghij][234567abcdefghijklmnopqrstuvwxyz]{12}", body["rkey"])
    record = body["record"]
    assert (
        record["$type"] == "app.bsky.feed.post"
        and record["langs"] == ["ja"]
        and record["text"] == post.text
    )
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", record["createdAt"])
    data = record["text"].encode("utf-8")
    link = next(
        f for f in record["facets"] if f["features"][0]["$type"] == "app.bsky.richtext.facet#link"
    )
    assert (
        data[link["index"]["byteStart"] : link["index"]["byteEnd"]].decode()
        == post.url
        == link["features"][0]["uri"]
    )
    external = record["embed"]["external"]
    assert record["embed"]["$type"] == "app.bsky.embed.external"
    assert external["uri"] == post.url and external["title"] == post.extra["title"]
    assert external["thumb"]["ref"] == {"$link": "bafkthumb"}


def test_bluesky_refreshes_an_expired_session(
    tmp_path: Path, httpserver: HTTPServer, cards: CardSet
) -> None:
    def create(req: Request) -> Response:
        if req.headers["Authorization"] == "Bearer acc1":
            return json_response({"error": "ExpiredToken", "message": "Token has expired"}, 400)
        return json_response({"uri": "at://x/app.bsky.feed.post/1", "cid": "c"})

    _bsky_server(httpserver, create)
    ch = build(
        tmp_path,
        "bluesky",
        f'base_url = "{httpserver.url_for("")}"\nhandle = "news.example"',
        env_for("bluesky", app_password="pw"),
    )
    post = make_post(cards, "bluesky")
    post = Post(
        post.key,
        post.story_id,
        post.channel,
        post.language,
        post.text,
        post.url,
        extra=post.extra | {"thumb_path": ""},
    )
    assert ch.publish(post).state == "sent"
    refresh = requests_to(httpserver, "/xrpc/com.atproto.server.refreshSession")
    assert len(refresh) == 1 and refresh[0].headers["Authorization"] == "Bearer ref1"
    assert (
        requests_to(httpserver, "/xrpc/com.atproto.repo.createRecord")[-1].headers["Authorization"]
        == "Bearer acc2"
    )


def test_bluesky_retry_after_a_lost_reply_does_not_duplicate(
    tmp_path: Path, httpserver: HTTPServer, cards: CardSet
) -> None:
    records: dict[str, dict[str, Any]] = {}

    def create(req: Request) -> Response:
        rkey = req.get_json()["rkey"]
        if rkey in records:  # what a PDS does for an existing record key
            return json_response(
                {"error": "InvalidRequest", "message": "Record already exists"}, 400
            )
        records[rkey] = req.get_json()["record"]
        return json_response({"uri": f"at://did:plc:news/app.bsky.feed.post/{rkey}", "cid": "c"})

    def get_record(req: Request) -> Response:
        rkey = req.args["rkey"]
        if rkey not in records:
            return json_response({"error": "RecordNotFound"}, 400)
        return json_response(
            {"uri": f"at://did:plc:news/app.bsky.feed.post/{rkey}", "value": records[rkey]}
        )

    _bsky_server(httpserver, create)
    httpserver.expect_request(
        "/xrpc/com.atproto.repo.getRecord", method="GET"
    ).respond_with_handler(get_record)
    ch = build(
        tmp_path,
        "bluesky",
        f'base_url = "{httpserver.url_for("")}"\nhandle = "news.example"',
        env_for("bluesky", app_password="pw"),
    )
    post = make_post(cards, "bluesky")
    first = ch.publish(post)
    again = ch.publish(post)  # e.g. the first reply was lost and the ledger retries
    assert first.state == again.state == "sent" and first.provider_id == again.provider_id
    assert len(records) == 1


# ------------------------------------------------------------------ X
def test_x_oauth1_media_alt_text_and_post(
    tmp_path: Path, httpserver: HTTPServer, cards: CardSet
) -> None:
    httpserver.expect_request("/2/media/upload", method="POST").respond_with_json(
        {"data": {"id": "777", "media_key": "3_777"}}
    )
    httpserver.expect_request("/2/media/metadata", method="POST").respond_with_json(
        {"data": {"associated_metadata": True}}
    )
    httpserver.expect_request("/2/tweets", method="POST").respond_with_json(
        {"data": {"id": "1850", "text": "x"}}, status=201
    )
    secrets = env_for(
        "x", api_key="ck", api_secret="cs", access_token="at", access_token_secret="ats"
    )
    ch = build(tmp_path, "x", f'base_url = "{httpserver.url_for("")}"', secrets)
    post = make_post(cards, "x")
    assert ch.publish(post).provider_id == "1850"
    for path in ("/2/media/upload", "/2/media/metadata", "/2/tweets"):
        auth = requests_to(httpserver, path)[0].headers["Authorization"]
        assert auth.startswith("OAuth ")
        assert 'oauth_consumer_key="ck"' in auth and 'oauth_token="at"' in auth
        assert 'oauth_signature_method="HMAC-SHA1"' in auth and "oauth_signature=" in auth
    upload = requests_to(httpserver, "/2/media/upload")[0]
    assert (
        upload.form["media_category"] == "tweet_image"
        and upload.files["media"][:3] == b"\xff\xd8\xff"
    )
    assert requests_to(httpserver, "/2/media/metadata")[0].get_json() == {
        "id": "777",
        "metadata": {"alt_text": {"text": cards.og.alt_text}},
    }
    assert requests_to(httpserver, "/2/tweets")[0].get_json() == {
        "text": post.text,
        "media": {"media_ids": ["777"]},
    }


def test_x_duplicate_is_already_posted_and_rate_limit_is_retryable(
    tmp_path: Path, httpserver: HTTPServer, cards: CardSet
) -> None:
    secrets = env_for(
        "x", api_key="ck", api_secret="cs", access_token="at", access_token_secret="ats"
    )
    now = 1_800_000_000.0  # an injected clock: the reset below is 900 s after it
    ch = build(
        tmp_path,
        "x",
        f'base_url = "{httpserver.url_for("")}"\nmax_retry_wait = 5',
        secrets,
        now=now,
    )
    post = make_post(cards, "x")
    post = Post(post.key, post.story_id, post.channel, post.language, post.text, post.url)
    httpserver.expect_oneshot_request("/2/tweets").respond_with_json(
        {
            "detail": "You are not allowed to create a Tweet with duplicate content.",
            "type": "about:blank",
            "title": "Forbidden",
            "status": 403,
        },
        status=403,
    )
    assert ch.publish(post).state == "sent"
    reset = str(int(now) + 900)
    httpserver.expect_request("/2/tweets").respond_with_json(
        {"title": "Too Many Requests", "status": 429},
        status=429,
        headers={"x-rate-limit-remaining": "0", "x-rate-limit-reset": reset},
    )
    with pytest.raises(TransientProviderError) as err:
        ch.publish(post)
    assert err.value.retryable and err.value.retry_after == 900


# ------------------------------------------------------------------ Telegram
def test_telegram_photo_with_escaped_caption_and_retry_after(
    tmp_path: Path, httpserver: HTTPServer, cards: CardSet
) -> None:
    sleeps: list[float] = []
    replies = iter(
        [
            json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": "Too Many Requests: retry after 3",
                    "parameters": {"retry_after": 3},
                },
                429,
            ),
            json_response({"ok": True, "result": {"message_id": 42}}),
        ]
    )
    httpserver.expect_request("/botT0K3N/sendPhoto", method="POST").respond_with_handler(
        lambda _r: next(replies)
    )
    ch = build(
        tmp_path,
        "telegram",
        f'base_url = "{httpserver.url_for("")}"\nchat_id = "@meridian"',
        env_for("telegram", bot_token="T0K3N"),
        sleeps,
    )
    post = make_post(cards, "telegram")
    assert ch.publish(post).provider_id == "42"
    assert sleeps == [3.0]
    req = requests_to(httpserver, "/botT0K3N/sendPhoto")[-1]
    assert req.form["chat_id"] == "@meridian" and req.form["parse_mode"] == "HTML"
    assert "Ministers agree &lt;climate&gt; pact &amp; more" in req.form["caption"]
    assert req.files["photo"][:3] == b"\xff\xd8\xff"


def test_telegram_long_text_goes_after_the_photo(
    tmp_path: Path, httpserver: HTTPServer, cards: CardSet
) -> None:
    httpserver.expect_request("/botT/sendPhoto").respond_with_json(
        {"ok": True, "result": {"message_id": 1}}
    )
    httpserver.expect_request("/botT/sendMessage").respond_with_json(
        {"ok": True, "result": {"message_id": 2}}
    )
    ch = build(
        tmp_path,
        "telegram",
        f'base_url = "{httpserver.url_for("")}"\nchat_id = "-100123"\nlong_posts = true',
        env_for("telegram", bot_token="T"),
    )
    assert ch.rules().limit == 4096
    s = story("en", title="T", summary_text="word " * 500)
    post = compose_post(
        s, channel="telegram-main", url=s.url, rules=ch.rules(), env=ENV, card_path=cards.og.path
    )
    assert 1024 < len(post.text) <= 4096
    assert ch.publish(post).provider_id == "2"
    assert "caption" not in requests_to(httpserver, "/botT/sendPhoto")[0].form
    assert requests_to(httpserver, "/botT/sendMessage")[0].form["text"] == post.text
    httpserver.clear()
    httpserver.expect_request("/botT/sendPhoto").respond_with_json(
        {"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401
    )
    with pytest.raises(AuthenticationError):
        ch.publish(post)


# ------------------------------------------------------------------ Facebook, LinkedIn, Threads
def test_facebook_page_link_post(tmp_path: Path, httpserver: HTTPServer, cards: CardSet) -> None:
    httpserver.expect_request("/v21.0/1234/feed", method="POST").respond_with_json(
        {"id": "1234_99"}
    )
    ch = build(
        tmp_path,
        "facebook",
        f'base_url = "{httpserver.url_for("")}"\npage_id = "1234"',
        env_for("facebook", page_access_token="pat"),
    )
    post = make_post(cards, "facebook")
    assert ch.publish(post).provider_id == "1234_99"
    form = requests_to(httpserver, "/v21.0/1234/feed")[0].form
    assert (
        form["message"] == post.text and form["link"] == post.url and form["access_token"] == "pat"
    )
    httpserver.clear()
    httpserver.expect_request("/v21.0/1234/feed").respond_with_json(
        {
            "error": {
                "message": "Error validating access token",
                "type": "OAuthException",
                "code": 190,
            }
        },
        status=400,
    )
    with pytest.raises(AuthenticationError):
        ch.publish(post)


def test_linkedin_posts_api_article_with_thumbnail(
    tmp_path: Path, httpserver: HTTPServer, cards: CardSet
) -> None:
    upload_url = httpserver.url_for("/upload/abc")
    httpserver.expect_request(
        "/rest/images", method="POST", query_string="action=initializeUpload"
    ).respond_with_json(
        {"value": {"uploadUrlExpiresAt": 1, "uploadUrl": upload_url, "image": "urn:li:image:C4E"}}
    )
    httpserver.expect_request("/upload/abc", method="PUT").respond_with_data("", status=201)
    httpserver.expect_request("/rest/posts", method="POST").respond_with_data(
        "", status=201, headers={"x-restli-id": "urn:li:share:6844785523593134080"}
    )
    ch = build(
        tmp_path,
        "linkedin",
        f'base_url = "{httpserver.url_for("")}"\nauthor = "urn:li:organization:5515715"',
        env_for("linkedin", access_token="li"),
    )
    post = make_post(cards, "linkedin")
    assert ch.publish(post).provider_id == "urn:li:share:6844785523593134080"
    init = requests_to(httpserver, "/rest/images")[0]
    assert init.get_json() == {"initializeUploadRequest": {"owner": "urn:li:organization:5515715"}}
    assert requests_to(httpserver, "/upload/abc")[0].get_data()[:3] == b"\xff\xd8\xff"
    req = requests_to(httpserver, "/rest/posts")[0]
    assert (
        req.headers["Linkedin-Version"] == "202411"
        and req.headers["X-Restli-Protocol-Version"] == "2.0.0"
    )
    assert req.headers["Authorization"] == "Bearer li"
    body = req.get_json()
    assert body["author"] == "urn:li:organization:5515715" and body["lifecycleState"] == "PUBLISHED"
    assert body["content"]["article"] == {
        "source": post.url,
        "title": post.extra["title"],
        "description": post.extra["description"],
        "thumbnail": "urn:li:image:C4E",
    }
    assert "\\<climate\\>" in body["commentary"]  # little-text escaping
    assert body["distribution"]["feedDistribution"] == "MAIN_FEED"


def test_threads_container_then_publish(
    tmp_path: Path, httpserver: HTTPServer, cards: CardSet
) -> None:
    httpserver.expect_request("/v1.0/17841/threads", method="POST").respond_with_json({"id": "c-1"})
    httpserver.expect_request("/v1.0/17841/threads_publish", method="POST").respond_with_json(
        {"id": "t-9"}
    )
    ch = build(
        tmp_path,
        "threads",
        f'base_url = "{httpserver.url_for("")}"\nuser_id = "17841"',
        env_for("threads", access_token="th"),
    )
    post = make_post(cards, "threads")
    assert ch.publish(post).provider_id == "t-9"
    container = requests_to(httpserver, "/v1.0/17841/threads")[0].form
    assert container["media_type"] == "TEXT" and container["text"] == post.text
    assert container["link_attachment"] == post.url and container["access_token"] == "th"
    assert requests_to(httpserver, "/v1.0/17841/threads_publish")[0].form["creation_id"] == "c-1"
    assert ch.rules().limit == 500


# ------------------------------------------------------------------ webhooks
def test_discord_webhook_with_card_and_no_mentions(
    tmp_path: Path, httpserver: HTTPServer, cards: CardSet
) -> None:
    sleeps: list[float] = []
    replies = iter(
        [
            json_response(
                {"message": "You are being rate limited.", "retry_after": 0.5, "global": False},
                429,
                {"Retry-After": "0.5"},
            ),
            json_response({"id": "11", "channel_id": "2"}),
        ]
    )
    httpserver.expect_request(
        "/api/webhooks/1/tok", method="POST", query_string="wait=true"
    ).respond_with_handler(lambda _r: next(replies))
    ch = build(
        tmp_path,
        "discord",
        'username = "Meridian"',
        env_for("discord", webhook_url=httpserver.url_for("/api/webhooks/1/tok")),
        sleeps,
    )
    post = make_post(cards, "discord", title="@everyone look")
    assert ch.publish(post).provider_id == "11" and sleeps == [0.5]
    req = requests_to(httpserver, "/api/webhooks/1/tok")[-1]
    payload = json.loads(req.form["payload_json"])
    assert payload["content"] == post.text and payload["allowed_mentions"] == {"parse": []}
    assert (
        payload["embeds"][0]["image"]["url"] == "attachment://card.jpg"
        and payload["username"] == "Meridian"
    )
    assert req.files["files[0]"][:3] == b"\xff\xd8\xff"


def test_slack_webhook_escapes_and_reports_refusals(
    tmp_path: Path, httpserver: HTTPServer, cards: CardSet
) -> None:
    httpserver.expect_oneshot_request("/services/T/B/X", method="POST").respond_with_data("ok")
    ch = build(
        tmp_path, "slack", "", env_for("slack", webhook_url=httpserver.url_for("/services/T/B/X"))
    )
    post = make_post(cards, "slack")
    assert ch.publish(post).state == "sent"
    text = requests_to(httpserver, "/services/T/B/X")[0].get_json()["text"]
    assert "&lt;climate&gt; pact &amp; more" in text
    httpserver.expect_oneshot_request("/services/T/B/X").respond_with_data("no_service", status=404)
    with pytest.raises(AuthenticationError):
        ch.publish(post)
    httpserver.expect_oneshot_request("/services/T/B/X").respond_with_data(
        "invalid_payload", status=400
    )
    with pytest.raises(ProviderError) as err:
        ch.publish(post)
    assert not err.value.retryable


def test_server_errors_and_refused_connections_are_retryable_a_lost_reply_is_not(
    tmp_path: Path, httpserver: HTTPServer, cards: CardSet
) -> None:
    """A 503 or a refused connection: nothing was posted, retry later.  A reply lost
    after the request was sent: Slack has no idempotency, so the post is unknown and
    never sent again on its own (this test used to assert the repost)."""
    httpserver.expect_request("/services/T/B/X").respond_with_data("oops", status=503)
    ch = build(
        tmp_path,
        "slack",
        "timeout = 0.5",
        env_for("slack", webhook_url=httpserver.url_for("/services/T/B/X")),
    )
    with pytest.raises(TransientProviderError):
        ch.publish(make_post(cards, "slack"))
    closed = build(tmp_path, "slack", "", env_for("slack", webhook_url="http://127.0.0.1:9/hook"))
    with pytest.raises(TransientProviderError):
        closed.publish(make_post(cards, "slack"))
    httpserver.clear()
    seen: list[str] = []

    def late(req: Request) -> Response:
        seen.append(req.path)
        import time

        time.sleep(0.8)
        return Response("ok")

    httpserver.expect_request("/services/T/B/X").respond_with_handler(late)
    slow = build(
        tmp_path,
        "slack",
        "timeout = 0.3",
        env_for("slack", webhook_url=httpserver.url_for("/services/T/B/X")),
    )
    with pytest.raises(OutcomeUnknown):
        slow.publish(make_post(cards, "slack"))
    assert seen == ["/services/T/B/X"]  # posted once, not again
