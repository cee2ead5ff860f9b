"""The CLI contract, through real processes: one-line errors, --json, exit codes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from distributor.config import load_settings
from distributor.store import Store
from distributor.store.schema import deliveries
from tests.conftest import ROOT, SAMPLE, write_config


def cli(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTOR_")}
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "distributor", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=timeout,
    )


def test_run_json_then_nothing_new(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    first = cli("--config", str(config), "run", "--json", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    assert report["ok"] is True and report["emails"]["sent"] >= 20
    assert report["posts"]["sent"] > 0 and report["cards_made"] > 0
    assert {s["name"] for s in report["sources"]} == {"meridian"}

    second = cli("--config", str(config), "run", "--json", cwd=tmp_path)
    again = json.loads(second.stdout)
    assert again["emails"]["sent"] == 0 and again["posts"]["sent"] == 0
    assert "nothing new to deliver" in again["notes"]


def test_human_report_has_the_summary_table(tmp_path: Path) -> None:
    out = cli("--config", str(write_config(tmp_path)), "run", "--dry-run", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    for label in (
        "stories fetched",
        "stories selected",
        "editions",
        "emails sent",
        "emails failed",
        "posts sent",
        "cards made",
        "dry run",
    ):
        assert label in out.stdout


def test_bad_config_is_one_line_on_stderr(tmp_path: Path) -> None:
    config = write_config(tmp_path, list_extra="colour = 3")
    out = cli("--config", str(config), "run", cwd=tmp_path)
    assert out.returncode == 1
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown key 'lists.daily.colour'" in lines[0]
    assert "Traceback" not in out.stderr


def test_config_from_environment_and_missing_secret(tmp_path: Path) -> None:
    config = write_config(tmp_path, mail='provider = "smtp"\nhost = "127.0.0.1"\nusername = "u"')
    out = cli("run", cwd=tmp_path, env={"DISTRIBUTOR_CONFIG": str(config)})
    assert out.returncode == 1
    assert "DISTRIBUTOR_MAIL_MAIN_PASSWORD" in out.stderr
    assert len(out.stderr.strip().splitlines()) == 1


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    out = cli("--debug", "--config", str(tmp_path / "absent.toml"), "run", cwd=tmp_path)
    assert out.returncode != 0 and "Traceback" in out.stderr


def test_config_check_json(tmp_path: Path) -> None:
    out = cli("--config", str(write_config(tmp_path)), "config", "check", "--json", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["lists"] == ["daily"]


def test_default_config_from_the_repository(tmp_path: Path) -> None:
    """What `make run` does, with the data directory moved out of the checkout."""
    out = cli("run", "--json", cwd=ROOT, env={"DISTRIBUTOR_DATA_DIR": str(tmp_path / "var")})
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert (
        report["emails"]["sent"] == len((SAMPLE / "subscribers.csv").read_text().splitlines()) - 1
    )
    assert list((tmp_path / "var/outbox/mail/daily").rglob("*.eml"))


def test_killed_mid_send_never_sends_twice(tmp_path: Path, smtp_server: Any) -> None:
    """SIGKILL during an SMTP send: the rerun sends the rest once and reports the uncertain."""
    controller, recorder = smtp_server
    victim = "valentina.rojas@example.net"
    subscribers = (SAMPLE / "subscribers.csv").read_text(encoding="utf-8")
    assert victim in subscribers
    recorder.hang.add(victim)
    config = write_config(
        tmp_path,
        mail=f'provider = "smtp"\nhost = "127.0.0.1"\nport = {controller.port}\n'
        f'security = "none"\nbatch_size = 3\ntimeout = 60',
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTOR_")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "distributor", "--config", str(config), "run"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert recorder.hanging.wait(60), "the send never reached the hanging recipient"
        time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(30)
    delivered_before = {env_.rcpt_tos[0] for env_, _ in recorder.messages}
    recorder.hang.clear()

    out = cli("--config", str(config), "run", "--json", cwd=tmp_path)
    report = json.loads(out.stdout)
    received = [env_.rcpt_tos[0] for env_, _ in recorder.messages]
    assert len(received) == len(set(received)), "a recipient got the digest twice"

    settings = load_settings(config, environ={}, dotenv_path=tmp_path / "none")
    store = Store.open(settings.database_url)
    try:
        with store.engine.connect() as conn:
            rows = {r.email: r.state for r in conn.execute(deliveries.select())}
    finally:
        store.close()
    unknown = {e for e, s in rows.items() if s == "unknown"}
    assert victim in unknown
    assert report["emails"]["unknown"] == 0  # marked during recovery, reported as a note
    assert any("marked unknown" in n for n in report["notes"])
    # every recipient either received exactly one message or is marked unknown
    assert set(received) | unknown == set(rows)
    assert {e for e, s in rows.items() if s == "sent"} == set(received) - (unknown & set(received))
    assert delivered_before <= set(received)
    assert out.returncode == 0


def test_send_needs_exactly_one_of_now_and_test_to(tmp_path: Path) -> None:
    config = str(write_config(tmp_path))
    for extra in ([], ["--now", "--test-to", "editor@example.com"]):
        out = cli("--config", config, "send", "--list", "daily", *extra, cwd=tmp_path)
        assert out.returncode == 2 and out.stdout == ""
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1 and "--test-to ADDRESS or --now" in lines[0]
    assert not (tmp_path / "var/outbox").exists()  # nothing was sent
