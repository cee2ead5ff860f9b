"""A worker whose transport refuses the configuration: one report line, no retry storm,
the readers left pending (not failed, not lost), sent once the configuration is fixed.

The real Mailgun backend against the Mailgun-contract server of ``conftest``: a wrong API
key (401) and a wrong domain (404, the endpoint does not exist)."""

from __future__ import annotations

import logging
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from distributor.pipeline import fetch_sources, select, sync_subscribers
from distributor.queue.tasks import STOP_FOR, BatchSender
from distributor.report import RunReport
from tests.conftest import NOW, settings_for, write_config
from tests.queue.conftest import API_KEY, DOMAIN, mailgun_toml


class Clock:
    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> Any:
        return self.now


@pytest.mark.parametrize(
    ("env", "domain", "words"),
    [
        ({"DISTRIBUTOR_MAIL_MAIN_API_KEY": "wrong-key"}, DOMAIN, "credentials refused"),
        ({"DISTRIBUTOR_MAIL_MAIN_API_KEY": API_KEY}, "mg.wrong.example", "configuration refused"),
    ],
    ids=["401", "404"],
)
def test_a_refused_configuration_stops_the_transport_and_keeps_readers_pending(
    tmp_path: Path,
    make_context: Any,
    mailgun: Any,
    caplog: pytest.LogCaptureFixture,
    env: dict[str, str],
    domain: str,
    words: str,
) -> None:
    server, fake = mailgun
    # Mailgun answers a domain the account does not have with a 404
    server.expect_request(f"/v3/{domain}/messages").respond_with_json(
        {"message": f"Domain not found: {domain}"}, status=404
    )
    csv = tmp_path / "readers.csv"
    csv.write_text(
        "email,name,language\n" + "".join(f"r{i}@example.org,R {i},en\n" for i in range(9)),
        encoding="utf-8",
    )
    mail = mailgun_toml(server).replace(f'domain = "{DOMAIN}"', f'domain = "{domain}"')
    path = write_config(
        tmp_path,
        subscribers=csv,
        mail=mail,
        extra='[queue]\nbroker_url = "redis://127.0.0.1:1/0"\nbatch_size = 3\n',
    )
    ctx = make_context(settings_for(path, env))
    report = RunReport(started_at=NOW.isoformat(), dry_run=False)
    fetch_sources(ctx, report)
    cfg = ctx.settings.lists["daily"]
    sync_subscribers(ctx, "daily", cfg, report)
    plan = max(select(ctx, "daily", cfg), key=lambda p: len(p.recipients))
    edition = ctx.store.create_edition(
        list_name="daily",
        key="2026-11-28",
        language=plan.language,
        stories=plan.stories,
        recipients=plan.recipients,
        now=NOW,
    )
    ids = [r["id"] for r in ctx.store.deliveries(edition.id)]
    assert len(ids) >= 6
    clock = Clock()
    sender = BatchSender(
        settings=ctx.settings, store=ctx.store, clock=clock, lease=timedelta(seconds=60)
    )
    ranges = [(ids[i], ids[min(i + 2, len(ids) - 1)]) for i in range(0, len(ids), 3)]
    caplog.set_level(logging.ERROR, logger="distributor.queue.tasks")
    outcomes = [sender.send_range(edition.id, a, b) for a, b in ranges]  # no exception: no retry
    assert all(o.stopped and words in o.stopped for o in outcomes)
    assert all(o.come_back is None and o.sent == o.failed == 0 for o in outcomes)
    # one call reached the provider, whatever the number of tasks; one line says why
    posts = [r for r, _ in server.log if r.method == "POST"]
    assert len(posts) == 1 and fake.received == []
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 1 and "'main' stopped" in lines[0] and words in lines[0]
    rows = ctx.store.deliveries(edition.id)
    assert {r["state"] for r in rows} == {"pending"}
    assert {r["attempts"] for r in rows} == {0}  # no attempt used up
    # after STOP_FOR the transport is tried again (one call, still one line per period)
    clock.now = NOW + STOP_FOR + timedelta(seconds=1)
    again = sender.send_range(edition.id, *ranges[0])
    assert again.stopped and len([r for r, _ in server.log if r.method == "POST"]) == 2
    sender.close()


def test_once_fixed_the_pending_readers_are_sent(
    tmp_path: Path, make_context: Any, mailgun: Any
) -> None:
    server, fake = mailgun
    csv = tmp_path / "readers.csv"
    csv.write_text("email,name,language\na@example.org,A,en\nb@example.org,B,en\n", "utf-8")
    path = write_config(
        tmp_path,
        subscribers=csv,
        mail=mailgun_toml(server),
        extra='[queue]\nbroker_url = "redis://127.0.0.1:1/0"\n',
    )
    report = RunReport(started_at=NOW.isoformat(), dry_run=False)
    bad = make_context(settings_for(path, {"DISTRIBUTOR_MAIL_MAIN_API_KEY": "wrong"}))
    fetch_sources(bad, report)
    cfg = bad.settings.lists["daily"]
    sync_subscribers(bad, "daily", cfg, report)
    plan = max(select(bad, "daily", cfg), key=lambda p: len(p.recipients))
    edition = bad.store.create_edition(
        list_name="daily",
        key="2026-11-28",
        language=plan.language,
        stories=plan.stories,
        recipients=plan.recipients,
        now=NOW,
    )
    ids = [r["id"] for r in bad.store.deliveries(edition.id)]
    lease = timedelta(seconds=60)
    first = BatchSender(settings=bad.settings, store=bad.store, clock=lambda: NOW, lease=lease)
    assert first.send_range(edition.id, ids[0], ids[-1]).stopped
    first.close()
    fixed = settings_for(path, {"DISTRIBUTOR_MAIL_MAIN_API_KEY": API_KEY})  # a restarted worker
    second = BatchSender(settings=fixed, store=bad.store, clock=lambda: NOW, lease=lease)
    out = second.send_range(edition.id, ids[0], ids[-1])
    second.close()
    assert out.stopped is None and out.sent == len(ids)
    assert sorted(r for _, r in fake.received) == ["a@example.org", "b@example.org"]
    assert {r["state"] for r in bad.store.deliveries(edition.id)} == {"sent"}
