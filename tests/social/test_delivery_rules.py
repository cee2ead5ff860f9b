"""Never twice, never lost: lost replies, Bluesky's existing records, refused credentials.

Local HTTP servers answer as the networks do (a reply that comes after the
client's timeout; a PDS that answers 500 "already a value at key" for an
existing record key, as the reference ``@atproto/pds`` does).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import select
from werkzeug import Request, Response

from distributor.dispatch import publish_posts
from distributor.errors import (
    OutcomeUnknown,
    ProviderConfigError,
    TransientProviderError,
)
from distributor.models import Post
from distributor.pipeline import run
from distributor.store import Store
from distributor.store.schema import posts
from tests.conftest import NOW, settings_for, write_config
from tests.social.conftest import story
from tests.social.test_channels import build, env_for, json_response, requests_to

SLOW = 0.8  # the reply comes after the client's timeout (0.3 s)


@pytest.fixture
def httpserver() -> Iterator[HTTPServer]:
    """A threaded server: a late reply must not hold up the client's next request."""
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    srv.start()
    yield srv
    srv.clear()
    srv.stop()


def plain_post(network: str, story: str = "s1") -> Post:
    return Post(
        key=f"{story}/{network}-main/en",
        story_id=story,
        channel=f"{network}-main",
        language="en",
        text="Ministers agree https://news.example/s1",
        url="https://news.example/s1",
        extra={"title": "Ministers agree", "description": "Talks ran late."},
    )


#: paths of the requests the late handlers received (counted on arrival: the server's
#: own log only has a request once its reply is written)
ARRIVED: list[str] = []


def arrived(path: str) -> int:
    return ARRIVED.count(path)


@pytest.fixture(autouse=True)
def _clear_arrivals() -> None:
    ARRIVED.clear()


def late(body: Any, status: int = 200, *, text: bool = False) -> Any:
    def handler(req: Request) -> Response:
        ARRIVED.append(req.path)
        time.sleep(SLOW)
        if text:
            return Response(str(body), status=status)
        return json_response(body, status)

    return handler


# (network, extra config, secrets, the posting path, the late reply)
NON_IDEMPOTENT: list[tuple[str, str, dict[str, str], str, Any]] = [
    (
        "x",
        "",
        {
            "api_key": "ck-secret",
            "api_secret": "cs-secret",
            "access_token": "at-secret",
            "access_token_secret": "ats-secret",
        },
        "/2/tweets",
        late({"data": {"id": "1"}}, 201),
    ),
    (
        "facebook",
        'page_id = "1234"',
        {"page_access_token": "pat-secret"},
        "/v21.0/1234/feed",
        late({"id": "1_2"}),
    ),
    (
        "linkedin",
        'author = "urn:li:organization:1"',
        {"access_token": "li-secret"},
        "/rest/posts",
        late("", 201, text=True),
    ),
    (
        "threads",
        'user_id = "9"',
        {"access_token": "th-secret"},
        "/v1.0/9/threads_publish",
        late({"id": "t"}),
    ),
    (
        "telegram",
        'chat_id = "@news"',
        {"bot_token": "123456:SECRET-TOKEN"},
        "/bot123456:SECRET-TOKEN/sendMessage",
        late({"ok": True, "result": {"message_id": 3}}),
    ),
]


@pytest.mark.parametrize("case", NON_IDEMPOTENT, ids=[c[0] for c in NON_IDEMPOTENT])
def test_a_lost_reply_is_unknown_and_never_repeated(
    case: tuple[str, str, dict[str, str], str, Any], tmp_path: Path, httpserver: HTTPServer
) -> None:
    network, extra, secrets, path, handler = case
    httpserver.expect_request("/v1.0/9/threads").respond_with_json({"id": "c-1"})
    httpserver.expect_request(path).respond_with_handler(handler)
    ch = build(
        tmp_path,
        network,
        f'base_url = "{httpserver.url_for("")}"\ntimeout = 0.3\n{extra}',
        env_for(network, **secrets),
    )
    with pytest.raises(OutcomeUnknown, match="not resent") as err:
        ch.publish(plain_post(network))
    assert arrived(path) == 1  # sent once, not again
    for value in secrets.values():
        assert value not in str(err.value)  # the bot token of the URL is redacted


@pytest.mark.parametrize("network", ["discord", "slack"])
def test_a_lost_webhook_reply_is_unknown_and_the_url_is_redacted(
    network: str, tmp_path: Path, httpserver: HTTPServer
) -> None:
    path = "/api/webhooks/1/SECRETtok" if network == "discord" else "/services/T/B/SECRETX"
    handler = late({"id": "1"}) if network == "discord" else late("ok", text=True)
    httpserver.expect_request(path).respond_with_handler(handler)
    ch = build(
        tmp_path, network, "timeout = 0.3", env_for(network, webhook_url=httpserver.url_for(path))
    )
    with pytest.raises(OutcomeUnknown) as err:
        ch.publish(plain_post(network))
    assert arrived(path) == 1
    assert "SECRET" not in str(err.value) and "[redacted]" in str(err.value)
    # nothing sent at all (connection refused): transient, safe to retry; still redacted
    closed = build(
        tmp_path, network, "", env_for(network, webhook_url="http://127.0.0.1:9/hook/SECRETpath")
    )
    with pytest.raises(TransientProviderError, match="cannot connect") as refused:
        closed.publish(plain_post(network))
    assert "SECRET" not in str(refused.value)


def test_mastodon_retries_a_lost_reply_with_the_same_key(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    replies = iter([True, False])

    def status(_req: Request) -> Response:
        if next(replies):
            time.sleep(SLOW)
        return json_response({"id": "9", "url": "https://m.example/@n/9"})

    httpserver.expect_request("/api/v1/statuses").respond_with_handler(status)
    ch = build(
        tmp_path,
        "mastodon",
        f'base_url = "{httpserver.url_for("")}"\ntimeout = 0.3\nmax_chars = 500',
        env_for("mastodon", access_token="tok"),
    )
    assert ch.publish(plain_post("mastodon")).state == "sent"
    time.sleep(SLOW)  # the late reply is logged once written
    sent = requests_to(httpserver, "/api/v1/statuses")
    assert len(sent) == 2
    assert sent[0].headers["Idempotency-Key"] == sent[1].headers["Idempotency-Key"]


# ------------------------------------------------------------------ Bluesky
class Pds:
    """Answers createRecord as the reference PDS does: 500 for a key that is taken."""

    def __init__(self, httpserver: HTTPServer, *, lose_first_reply: bool = False) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.lose_first_reply = lose_first_reply
        j = httpserver.expect_request
        j("/xrpc/com.atproto.server.createSession").respond_with_json(
            {"accessJwt": "a", "refreshJwt": "r", "did": "did:plc:n", "handle": "n.example"}
        )
        j("/xrpc/com.atproto.repo.createRecord").respond_with_handler(self.create)
        j("/xrpc/com.atproto.repo.getRecord").respond_with_handler(self.get)

    def create(self, req: Request) -> Response:
        body = req.get_json()
        rkey = body["rkey"]
        if rkey in self.records:
            return json_response(
                {
                    "error": "InternalServerError",
                    "message": f"There is already a value at key: {body['collection']}/{rkey}",
                },
                500,
            )
        self.records[rkey] = body["record"]
        if self.lose_first_reply:
            self.lose_first_reply = False
            time.sleep(SLOW)
        return json_response({"uri": f"at://did:plc:n/app.bsky.feed.post/{rkey}", "cid": "c"})

    def get(self, req: Request) -> Response:
        rkey = req.args["rkey"]
        if rkey not in self.records:
            return json_response({"error": "RecordNotFound", "message": "Could not locate"}, 400)
        return json_response(
            {"uri": f"at://did:plc:n/app.bsky.feed.post/{rkey}", "value": self.records[rkey]}
        )


def bluesky(tmp_path: Path, httpserver: HTTPServer, extra: str = "") -> Any:
    return build(
        tmp_path,
        "bluesky",
        f'base_url = "{httpserver.url_for("")}"\nhandle = "n.example"\n{extra}',
        env_for("bluesky", app_password="pw"),
    )


def test_bluesky_existing_key_answered_500_is_sent_after_reading_it_back(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    pds = Pds(httpserver)
    ch = bluesky(tmp_path, httpserver)
    post = plain_post("bluesky")
    first = ch.publish(post)
    again = ch.publish(post)  # a later run: the PDS answers 500 for the existing key
    assert first.state == again.state == "sent" and first.provider_id == again.provider_id
    assert len(pds.records) == 1
    assert len(requests_to(httpserver, "/xrpc/com.atproto.repo.createRecord")) == 2


def test_bluesky_lost_reply_is_retried_and_found(tmp_path: Path, httpserver: HTTPServer) -> None:
    pds = Pds(httpserver, lose_first_reply=True)
    ch = bluesky(tmp_path, httpserver, "timeout = 0.3")
    result = ch.publish(plain_post("bluesky"))
    assert result.state == "sent" and len(pds.records) == 1
    time.sleep(SLOW)  # the late reply is logged once written
    assert len(requests_to(httpserver, "/xrpc/com.atproto.repo.createRecord")) == 2


def test_bluesky_500_without_a_record_is_transient(tmp_path: Path, httpserver: HTTPServer) -> None:
    Pds(httpserver)
    httpserver.clear()
    j = httpserver.expect_request
    j("/xrpc/com.atproto.server.createSession").respond_with_json(
        {"accessJwt": "a", "refreshJwt": "r", "did": "did:plc:n"}
    )
    j("/xrpc/com.atproto.repo.createRecord").respond_with_json({"error": "Oops"}, status=502)
    j("/xrpc/com.atproto.repo.getRecord").respond_with_json({"error": "RecordNotFound"}, 400)
    with pytest.raises(TransientProviderError):
        bluesky(tmp_path, httpserver).publish(plain_post("bluesky"))


# ------------------------------------------------------------------ dispatch
def _store(tmp_path: Path, social: str, env: dict[str, str]) -> tuple[Any, Store]:
    settings = settings_for(write_config(tmp_path, social=social), env)
    return settings, Store.open(settings.database_url)


def _states(store: Store) -> list[str]:
    with store.engine.connect() as conn:
        return [r.state for r in conn.execute(select(posts.c.state).order_by(posts.c.id))]


def test_refused_credentials_mid_batch_give_the_rest_back(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    replies = iter([201, 401])

    def tweet(_req: Request) -> Response:
        code = next(replies, 401)
        body = {"data": {"id": "1"}} if code == 201 else {"title": "Unauthorized"}
        return json_response(body, code)

    httpserver.expect_request("/2/tweets").respond_with_handler(tweet)
    secrets = {"api_key": "k", "api_secret": "s", "access_token": "a", "access_token_secret": "b"}
    env = {f"DISTRIBUTOR_SOCIAL_X_{k.upper()}": v for k, v in secrets.items()}
    settings, store = _store(
        tmp_path, f'[social.x]\nprovider = "x"\nbase_url = "{httpserver.url_for("")}"', env
    )
    try:
        from distributor.social.base import build_channel

        channel = build_channel("x", settings)
        store.upsert_stories([story("en", id=f"s{i}") for i in range(4)], NOW)
        store.ensure_posts([(f"s{i}", "x", "en") for i in range(4)], NOW)
        out = publish_posts(
            store=store,
            channel=channel,
            compose=lambda c: plain_post("x", c.story_id),
            clock=lambda: NOW,
        )
        assert out.sent == 1 and out.failed == 0 and out.left_pending == 3
        assert out.stopped and "credentials refused" in out.errors[0]
        assert _states(store) == ["sent", "pending", "pending", "pending"]
        with store.engine.connect() as conn:
            attempts = [r.attempts for r in conn.execute(select(posts.c.attempts))]
        assert attempts == [1, 0, 0, 0]  # giving back does not use up a try
    finally:
        store.close()


def test_a_missing_endpoint_stops_the_channel_and_keeps_posts_pending(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/v21.0/1234/feed").respond_with_data("Not Found", status=404)
    ch = build(
        tmp_path,
        "facebook",
        f'base_url = "{httpserver.url_for("")}"\npage_id = "1234"',
        env_for("facebook", page_access_token="pat-secret"),
    )
    with pytest.raises(ProviderConfigError, match="404"):
        ch.publish(plain_post("facebook"))


UNKNOWN_SOCIAL = """
[social.slack]
provider = "slack"
timeout = 0.3
languages = ["ja"]
"""


def test_unknown_post_is_reported_and_waits_for_an_editor(
    tmp_path: Path, httpserver: HTTPServer, make_context: Any
) -> None:
    """A Slack reply lost after sending: unknown, shown in the report, never reposted by a
    later run; the editor's decision (repost) puts it back, and only then it goes again."""
    httpserver.expect_request("/services/T/B/SECRETX").respond_with_handler(late("ok", text=True))
    url = httpserver.url_for("/services/T/B/SECRETX")
    settings = settings_for(
        write_config(tmp_path, social=UNKNOWN_SOCIAL), {"DISTRIBUTOR_SOCIAL_SLACK_WEBHOOK_URL": url}
    )
    ctx = make_context(settings)
    report = run(ctx)
    assert report.posts.unknown > 0 and report.posts.sent == 0
    unknown = report.posts.unknown
    assert any(e.stage == "social" and "outcome unknown" in e.cause for e in report.errors)
    dumped = json.dumps(report.to_dict())
    assert "SECRETX" not in dumped  # the webhook URL never reaches the report ...
    with ctx.store.engine.connect() as conn:
        errors = [r.error for r in conn.execute(select(posts.c.error))]
    assert all("SECRETX" not in (e or "") for e in errors)  # ... nor the database
    time.sleep(SLOW)  # the late replies are logged once written
    calls = len(httpserver.log)
    again = run(make_context(settings))
    assert again.posts.sent == again.posts.unknown == 0
    assert len(httpserver.log) == calls  # never posted again on its own
    assert any("unknown outcome" in w.cause for w in again.warnings)  # and it says so
    httpserver.clear()
    httpserver.expect_request("/services/T/B/SECRETX").respond_with_data("ok")
    assert ctx.store.resolve_unknown_posts("slack", decision="repost", now=NOW) == unknown
    third = run(make_context(settings))
    assert third.posts.sent == unknown
