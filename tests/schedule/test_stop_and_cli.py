"""Graceful stop between batches, and the editors' commands through real processes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from distributor.scheduler import Runner
from distributor.store.schedule import ScheduleStore
from distributor.store.schema import deliveries
from tests.conftest import SAMPLE
from tests.schedule.conftest import READERS, Clock, rows, settings_of, utc, write_schedule_config

FEED = SAMPLE / "newsroom.atom.xml"


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTOR_")}
    return subprocess.run(
        [sys.executable, "-m", "distributor", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_stop_lets_the_batch_finish_and_a_restart_resumes(
    tmp_path: Path, smtp_server: Any, open_store: Any
) -> None:
    """A stop asked during the first batch: that batch is sent and recorded, the rest
    stays pending; the next start finishes the edition, nobody twice."""
    controller, recorder = smtp_server
    config = write_schedule_config(
        tmp_path,
        feed=str(FEED),
        mail=f'provider = "smtp"\nhost = "127.0.0.1"\nport = {controller.port}\n'
        f'security = "none"\nbatch_size = 2',
    )
    settings = settings_of(config)
    store = open_store(settings)
    clock = Clock(utc("2026-11-27T07:00+00:00"))
    runner = Runner(settings, store, owner="t", clock=clock, lock=None)
    runner.stop.set()  # as SIGTERM does, while the first batch is in flight
    try:
        runner.edition_slot("daily", clock.now)
    except Exception as err:
        assert type(err).__name__ == "SchedulerStopping"
    else:
        raise AssertionError("the run did not stop")
    states = sorted(r.state for r in rows(store, deliveries))
    assert states == ["pending"] * 3 + ["sent"] * 2
    assert len(recorder.messages) == 2
    [slot] = ScheduleStore(store).slots("daily")
    assert slot.state == "running" and "interrupted" in (slot.reason or "")

    restarted = Runner(settings, store, owner="t2", clock=clock, lock=None)
    [done] = restarted.resume_interrupted()
    assert done.state == "done"
    received = [env.rcpt_tos[0] for env, _ in recorder.messages]
    assert sorted(received) == sorted(e for e, _ in READERS)


def test_schedule_list_pause_resume_and_send_now(tmp_path: Path) -> None:
    config = write_schedule_config(
        tmp_path, feed=str(FEED), list_extra='timezone = "America/New_York"'
    )
    base = ("--config", str(config))
    listed = cli(*base, "schedule", "list", "--json", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    data = json.loads(listed.stdout)
    daily = next(j for j in data["jobs"] if j["id"] == "edition:daily")
    assert daily["schedule"] == "0 7 * * *" and daily["timezone"] == "America/New_York"
    assert daily["next_run_local"].endswith(("-05:00", "-04:00"))
    assert daily["next_run_local"][11:16] == "07:00"
    assert any(j["id"] == "poll:sources" for j in data["jobs"])

    assert cli(*base, "schedule", "pause", "daily", cwd=tmp_path).returncode == 0
    paused = json.loads(cli(*base, "schedule", "list", "--json", cwd=tmp_path).stdout)
    assert next(j for j in paused["jobs"] if j["list"] == "daily")["paused"] is True
    human = cli(*base, "schedule", "list", cwd=tmp_path)
    assert "paused" in human.stdout
    assert cli(*base, "schedule", "resume", "daily", cwd=tmp_path).returncode == 0
    resumed = json.loads(cli(*base, "schedule", "list", "--json", cwd=tmp_path).stdout)
    assert next(j for j in resumed["jobs"] if j["list"] == "daily")["paused"] is False

    unknown = cli(*base, "schedule", "pause", "weekly", cwd=tmp_path)
    assert unknown.returncode == 1 and "no list named 'weekly'" in unknown.stderr

    sent = cli(*base, "send", "--list", "daily", "--now", "--json", cwd=tmp_path)
    assert sent.returncode == 0, sent.stderr
    report = json.loads(sent.stdout)
    assert report["emails"]["sent"] == len(READERS)
    after = json.loads(cli(*base, "schedule", "list", "--json", cwd=tmp_path).stdout)
    last = next(j for j in after["jobs"] if j["list"] == "daily")["last_slot"]
    assert last["owner"] == "send --now" and last["edition_key"] == report["edition_key"]
    again = json.loads(
        cli(*base, "send", "--list", "daily", "--now", "--json", cwd=tmp_path).stdout
    )
    assert again["emails"]["sent"] == 0 and again["edition_key"].endswith(".2")


def test_bad_schedule_is_one_line(tmp_path: Path) -> None:
    config = write_schedule_config(tmp_path, list_extra='schedule = "0 25 * * *"')
    out = cli("--config", str(config), "schedule", "list", cwd=tmp_path)
    assert out.returncode == 1
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "lists.daily.schedule" in lines[0], out.stderr
    bad_channel = write_schedule_config(
        tmp_path, extra='[scheduler]\npost_on_publish = ["mastodon"]'
    )
    out = cli("--config", str(bad_channel), "schedule", "list", cwd=tmp_path)
    assert out.returncode == 1 and "no social channel named 'mastodon'" in out.stderr
