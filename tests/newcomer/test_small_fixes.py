"""The small things a newcomer trips on: a stray API query parameter, ``pinned`` in
``stories list --json``, every problem of a CSV row, the scheduler's outcome lines."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from distributor.cli import main
from distributor.report import RunReport, SourceReport
from distributor.service.outcomes import poll_outcome, slot_outcome
from distributor.store import Store
from distributor.store import sources as source_store
from distributor.subscribers import read_subscribers_csv
from tests.conftest import NOW, pinned_now, settings_for, write_config
from tests.web.conftest import WebEnv, env  # noqa: F401 - the web tests' fixture


# --------------------------------------------------------------- API parameters
def test_unknown_query_parameters_are_refused_naming_them(env: WebEnv) -> None:  # noqa: F811
    env.import_sample()
    auth = {"Authorization": f"Bearer {env.web.create_api_token('cms', env.clock())}"}
    stray = env.client.get("/api/subscribers?search=hamid&limit=5", headers=auth)
    assert stray.status_code == 400
    assert stray.mimetype == "application/problem+json"
    body = stray.json
    assert body is not None and body["title"] == "unknown query parameter"
    assert body["detail"] == (
        "not known here: search (this operation takes: limit, list, offset, q, status)"
    )
    two = env.client.get("/api/planned-editions?lst=daily&sate=draft", headers=auth)
    assert two.status_code == 400 and two.json is not None
    assert two.json["title"] == "unknown query parameters"
    assert two.json["detail"].startswith("not known here: lst, sate")
    # the documented ones pass, and the filter works
    found = env.client.get("/api/subscribers?q=hamid", headers=auth)
    assert found.status_code == 200 and found.json is not None
    assert found.json and all("hamid" in s["email"] for s in found.json["subscribers"])
    assert env.client.get("/api/editions/1?list=daily", headers=auth).status_code == 400
    # no token: 401 first, the parameters are not looked at
    assert env.client.get("/api/subscribers?search=x").status_code == 401


# ------------------------------------------------------------------ pinned
def test_stories_list_json_says_pinned_as_stories_show_does(tmp_path: Path) -> None:
    config = write_config(tmp_path, social="")
    runner = CliRunner()
    base = ["--config", str(config)]
    assert runner.invoke(main, [*base, "stories", "fetch"], env=pinned_now()).exit_code == 0
    story = "urn:meridian:marel-river-treaty:en"
    store = Store.open(settings_for(config).database_url)
    try:
        assert source_store.set_flags(store, story, pinned=True, priority=2)
    finally:
        store.close()
    listed = json.loads(runner.invoke(main, [*base, "stories", "list", "--json"]).stdout)
    shown = json.loads(runner.invoke(main, [*base, "stories", "show", story, "--json"]).stdout)
    row = next(s for s in listed if s["id"] == story)
    for key in ("pinned", "excluded", "priority", "resend_updates"):
        assert row[key] == shown[key], key
    assert (row["pinned"], row["priority"], row["excluded"]) == (True, 2, False)
    other = next(s for s in listed if s["id"] != story)
    assert other["pinned"] is False  # a boolean, never null


# ------------------------------------------------------------------ CSV rows
def test_a_csv_row_lists_every_problem(tmp_path: Path) -> None:
    path = tmp_path / "readers.csv"
    path.write_text(
        "email,name,language,timezone,topics\n"
        "not-an-address,Bad,x_y_z_w,Mars/Base,\n"
        "ana@example.org,Ana,pt-BR,America/Sao_Paulo,\n"
        "ana@example.org,Ana again,en,Nowhere/City,\n",
        encoding="utf-8",
    )
    good, rejected = read_subscribers_csv(path, default_language="en")
    assert [s.email for s in good] == ["ana@example.org"]
    first, second = rejected
    assert first.line == 2 and len(first.problems) == 3
    assert first.problems[0].startswith("invalid address:")
    assert first.problems[1:] == (
        "unknown time zone 'Mars/Base'",
        "'x_y_z_w' is not a language tag (like 'en' or 'pt-BR')",
    )
    assert first.reason == "; ".join(first.problems)
    assert second.problems == ("duplicate address", "unknown time zone 'Nowhere/City'")


def test_the_cli_import_reports_every_problem_of_a_row(tmp_path: Path) -> None:
    config = write_config(tmp_path, social="")
    path = tmp_path / "readers.csv"
    path.write_text("email,language,timezone\nbroken,zz_top_1,Mars/Base\n", encoding="utf-8")
    out = CliRunner().invoke(
        main,
        ["--config", str(config), "subscribers", "import", str(path), "--list", "daily", "--json"],
    )
    text = out.stdout + out.stderr
    assert "Mars/Base" in text and "zz_top_1" in text and "invalid address" in text


# -------------------------------------------------------------- scheduler lines
@pytest.mark.parametrize(
    ("summary", "line"),
    [
        (
            {"editions": 15, "sent": 24, "posts": 18},
            "sent: 24 emails (0 failed, 0 unknown, 0 pending), 18 posts, 15 editions",
        ),
        (
            {"editions": 1, "sent": 3, "failed": 1, "errors": ["[mail] smtp: 421 try later"]},
            "failed: 3 emails (1 failed, 0 unknown, 0 pending), 0 posts, 1 editions; "
            "[mail] smtp: 421 try later",
        ),
        ({"held": [12]}, 'held: edition 12 waits for an editor\'s approval (approval = "editor")'),
        ({"tasks_enqueued": 4, "editions": 2}, "enqueued: 4 batch tasks for the workers"),
        (
            {"notes": ["list daily: no new stories; no edition made"]},
            "skipped: list daily: no new stories; no edition made",
        ),
        ({}, "skipped: nothing to send"),
    ],
)
def test_each_slot_outcome_is_one_line(summary: dict[str, object], line: str) -> None:
    assert slot_outcome(summary) == line


def test_the_poll_line() -> None:
    report = RunReport(started_at="", dry_run=False)
    report.sources = [SourceReport("meridian", fetched=20, new=3, updated=1)]
    report.stories_fetched = 20
    assert poll_outcome(report) == (
        "fetched 20 stories from 1 source (3 new, 1 updated), 0 posts, "
        "0 emails of scheduled editions, 0 warnings, 0 errors"
    )


def test_the_scheduler_logs_a_slots_outcome_and_its_polls(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from distributor.scheduler import Runner

    config = write_config(tmp_path)
    settings = settings_for(config)
    store = Store.open(settings.database_url)
    try:
        runner = Runner(settings, store, owner="test", clock=lambda: NOW, lock=None)
        with caplog.at_level(logging.INFO, logger="distributor.scheduler"):
            runner.poll()
            runner.edition_slot("daily", NOW)
        lines = [r.getMessage() for r in caplog.records]
        assert any(m.startswith("poll: fetched 24 stories from 1 source (24 new") for m in lines)
        assert any(
            m.startswith("list daily: slot 2026-11-28 07:00:00+00:00 sent: 24 emails")
            for m in lines
        ), lines
    finally:
        store.close()
