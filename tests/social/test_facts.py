"""What a network says about itself is asked once and kept (NetworkFacts): the editor's
live count does not ask the Mastodon instance on every keystroke, and an instance that
is down costs one request a minute."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from distributor.social.base import build_channel
from distributor.social.facts import FAILED_TTL, TTL, NetworkFacts
from distributor.social.mastodon import MastodonChannel
from tests.social.conftest import channel_settings
from tests.web.conftest import WebEnv, make_env

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
LIMITS = {
    "configuration": {"statuses": {"max_characters": 1000, "characters_reserved_per_url": 30}}
}


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def instance_asks(server: HTTPServer) -> int:
    return sum(1 for req, _ in server.log if req.path == "/api/v2/instance")


def mastodon_section(server: HTTPServer) -> str:
    return f'[social.masto]\nprovider = "mastodon"\nbase_url = "{server.url_for("")}"\n'


TOKEN = {"DISTRIBUTOR_SOCIAL_MASTO_ACCESS_TOKEN": "tok"}


def test_an_answer_is_kept_for_its_ttl_and_a_failure_for_a_minute() -> None:
    clock = Clock()
    facts = NetworkFacts(clock)
    answers: list[int | None] = [None, 7, 8]
    asked: list[int | None] = []

    def look_up() -> int | None:
        asked.append(answers[len(asked)])
        return asked[-1]

    assert facts.get("k", look_up, 0) == 0  # failed: the default
    clock.now += timedelta(seconds=FAILED_TTL - 1)
    assert facts.get("k", look_up, 0) == 0 and len(asked) == 1  # the failure stands
    clock.now += timedelta(seconds=2)
    assert facts.get("k", look_up, 0) == 7 and len(asked) == 2  # asked again
    clock.now += timedelta(seconds=TTL - 1)
    assert facts.get("k", look_up, 0) == 7 and len(asked) == 2
    assert facts.get("other", lambda: 3, 0) == 3  # keys are separate
    clock.now += timedelta(seconds=2)
    assert facts.get("k", look_up, 0) == 8 and len(asked) == 3


def test_channels_sharing_facts_ask_the_instance_once(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/v2/instance", method="GET").respond_with_json(LIMITS)
    settings = channel_settings(tmp_path, mastodon_section(httpserver), TOKEN)
    clock = Clock()
    facts = NetworkFacts(clock)
    for _ in range(3):  # three use cases, each building its own channel
        channel = build_channel("masto", settings, facts)
        assert isinstance(channel, MastodonChannel)
        rules = channel.rules()
        assert rules.limit == 1000
        assert rules.count("see https://example.com/" + "a" * 100) == 4 + 30
        channel.close()
    assert instance_asks(httpserver) == 1
    clock.now += timedelta(seconds=TTL + 1)
    assert build_channel("masto", settings, facts).rules().limit == 1000
    assert instance_asks(httpserver) == 2  # an hour later: asked again
    # without a shared memory each channel asks for itself
    build_channel("masto", settings).rules()
    assert instance_asks(httpserver) == 3


def test_an_instance_that_is_down_gives_the_defaults_and_is_asked_a_minute_later(
    tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/api/v2/instance").respond_with_data("down", status=503)
    settings = channel_settings(tmp_path, mastodon_section(httpserver), TOKEN)
    clock = Clock()
    facts = NetworkFacts(clock)
    channel = build_channel("masto", settings, facts)
    assert isinstance(channel, MastodonChannel)
    channel.max_retries = 0  # one request per look-up: what is counted here
    assert channel.rules().limit == 500  # Mastodon's default
    asked = instance_asks(httpserver)
    assert asked >= 1
    assert build_channel("masto", settings, facts).rules().limit == 500
    assert instance_asks(httpserver) == asked  # not asked again within the minute
    clock.now += timedelta(seconds=FAILED_TTL + 1)
    httpserver.clear_all_handlers()
    httpserver.expect_request("/api/v2/instance").respond_with_json(LIMITS)
    assert build_channel("masto", settings, facts).rules().limit == 1000


@pytest.fixture
def newsroom(tmp_path: Path, httpserver: HTTPServer) -> Iterator[WebEnv]:
    httpserver.expect_request("/api/v2/instance", method="GET").respond_with_json(LIMITS)
    social = mastodon_section(httpserver) + 'approval = "editor"\n'
    yield from make_env(tmp_path, social=social, environ=TOKEN)


def test_the_live_count_asks_the_instance_once_for_the_app(
    newsroom: WebEnv, httpserver: HTTPServer
) -> None:
    auth = {"Authorization": f"Bearer {newsroom.web.create_api_token('desk', newsroom.clock())}"}
    for text in ("M", "Mi", "Min", "Mini"):  # an editor typing
        reply = newsroom.client.post(
            "/api/posts/count", json={"channel": "masto", "text": text}, headers=auth
        )
        assert reply.status_code == 200 and reply.json is not None
        assert reply.json["limit"] == 1000 and reply.json["length"] == len(text)
    assert instance_asks(httpserver) == 1
