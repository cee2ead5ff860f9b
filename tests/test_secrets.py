"""Secrets that travel inside URLs never reach a report, a traceback, a log or the database."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from distributor.cli.common import CliState, errors_as_one_line
from distributor.errors import ProviderError
from distributor.redact import MASK, Redactor, secret_values
from distributor.store.schema import posts
from tests.conftest import free_port, settings_for, write_config
from tests.test_cli import cli

WEBHOOK_PATH = "/services/T0001/B0002/SECRETslackPATH"
BOT_TOKEN = "123456789:SECRETtelegramTOKEN"


def test_redactor_masks_urls_their_paths_and_tokens() -> None:
    redact = Redactor([f"https://hooks.slack.com{WEBHOOK_PATH}", BOT_TOKEN, "short"])
    assert redact(f"POST https://hooks.slack.com{WEBHOOK_PATH}: 500") == f"POST {MASK}: 500"
    # requests names only the path in its own messages
    assert "SECRET" not in redact(f"Max retries exceeded with url: {WEBHOOK_PATH} (Caused by")
    assert redact(f"/bot{BOT_TOKEN}/sendMessage") == f"/bot{MASK}/sendMessage"
    assert redact("a short word stays") == "a short word stays"  # too short to be a secret
    assert redact.any({"errors": [f"x {BOT_TOKEN}"]}) == {"errors": [f"x {MASK}"]}


def test_every_secret_of_the_configuration_is_known(tmp_path: Path) -> None:
    social = (
        '[social.slack]\nprovider = "slack"\n[social.tg]\nprovider = "telegram"\nchat_id = "@n"'
    )
    env = {
        "DISTRIBUTOR_SOCIAL_SLACK_WEBHOOK_URL": f"https://hooks.slack.com{WEBHOOK_PATH}",
        "DISTRIBUTOR_SOCIAL_TG_BOT_TOKEN": BOT_TOKEN,
    }
    values = secret_values(settings_for(write_config(tmp_path, social=social), env))
    assert BOT_TOKEN in values and f"https://hooks.slack.com{WEBHOOK_PATH}" in values


def test_debug_traceback_and_logs_are_redacted(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    social = '[social.slack]\nprovider = "slack"'
    env = {"DISTRIBUTOR_SOCIAL_SLACK_WEBHOOK_URL": f"https://hooks.slack.com{WEBHOOK_PATH}"}
    path = write_config(tmp_path, social=social)
    state = CliState(config=str(path), debug=True)
    import os

    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        with pytest.raises(SystemExit) as exit_info, errors_as_one_line(state):
            settings = state.settings()
            assert settings.social["slack"]
            try:
                raise OSError(f"Max retries exceeded with url: {WEBHOOK_PATH}")
            except OSError as err:
                raise ProviderError("slack", "cannot connect") from err
        record = logging.getLogRecordFactory()(
            "urllib3", logging.DEBUG, __file__, 1, 'POST %s HTTP/1.1" 200', (WEBHOOK_PATH,), None
        )
        assert "SECRET" not in record.getMessage()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert exit_info.value.code == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and "cannot connect" in err  # the traceback is shown ...
    assert "SECRET" not in err and MASK in err  # ... without the webhook's path


def test_post_json_and_the_database_never_show_a_webhook_or_token(tmp_path: Path) -> None:
    closed = free_port()
    social = f"""
[social.slack]
provider = "slack"
languages = ["ja"]

[social.tg]
provider = "telegram"
base_url = "http://127.0.0.1:{closed}"
chat_id = "@news"
languages = ["ja"]
"""
    config = write_config(tmp_path, social=social)
    env = {
        "DISTRIBUTOR_SOCIAL_SLACK_WEBHOOK_URL": f"http://127.0.0.1:{closed}{WEBHOOK_PATH}",
        "DISTRIBUTOR_SOCIAL_TG_BOT_TOKEN": BOT_TOKEN,
    }
    out = cli("--config", str(config), "post", "--json", cwd=tmp_path, env=env)
    assert out.returncode == 3, out.stderr  # partial: the networks are down
    summary = json.loads(out.stdout)
    assert summary["posts"]["failed"] > 0 and summary["errors"]
    for text in (out.stdout, out.stderr):
        assert "SECRET" not in text
    assert MASK in out.stdout
    run = cli("--config", str(config), "--debug", "run", "--json", cwd=tmp_path, env=env)
    assert "SECRET" not in run.stdout + run.stderr
    settings = settings_for(config, env)
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as conn:
            errors = [r.error for r in conn.execute(select(posts.c.error))]
            from distributor.store.schema import runs

            reports = [str(r.report) for r in conn.execute(select(runs.c.report))]
    finally:
        engine.dispose()
    assert errors and all("SECRET" not in (e or "") for e in errors)
    assert reports and all("SECRET" not in r for r in reports)
