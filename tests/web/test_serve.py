"""``distributor serve`` as a real process: a digest's one-click unsubscribe over real HTTP."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import requests

from distributor.store import Store
from distributor.store.web import WebStore
from tests.conftest import free_port, settings_for, write_config


def test_serve_honors_one_click_unsubscribe_from_a_real_digest(tmp_path: Path) -> None:
    port = free_port()
    config = write_config(tmp_path, social="")
    config.write_text(
        config.read_text().replace(
            'base_url = "https://news.example/newsletter"', f'base_url = "http://127.0.0.1:{port}"'
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTOR_")}
    cmd = [sys.executable, "-m", "distributor", "--config", str(config)]
    run = subprocess.run([*cmd, "run"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    eml = sorted((tmp_path / "var" / "outbox" / "mail" / "daily").glob("**/*.eml"))[0]
    digest = message_from_bytes(eml.read_bytes(), policy=default_policy)
    found = re.search(r"<(http[^>]+)>", str(digest["List-Unsubscribe"]))
    assert found
    unsubscribe = found.group(1)
    assert unsubscribe.startswith(f"http://127.0.0.1:{port}/u/")

    server = subprocess.Popen(
        [*cmd, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).ok:
                    break
            except requests.ConnectionError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        page = requests.get(unsubscribe, timeout=10)
        assert page.status_code == 200 and "<form" in page.text
        # exactly what a mailbox provider sends (RFC 8058): no cookie, no token but the URL's
        reply = requests.post(
            unsubscribe,
            data="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=10,
        )
        assert reply.status_code == 200
    finally:
        server.terminate()
        server.wait(10)
    settings = settings_for(config)
    store = Store.open(settings.database_url)
    try:
        web = WebStore(store)
        sub = web.subscriber(int(eml.stem))
        assert sub is not None and web.membership(sub.id, "daily") == "unsubscribed"
    finally:
        store.close()
