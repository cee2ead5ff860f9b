"""``distributor demo`` (``make demo``) as a real process on the repository's own
configuration: a seeded editor logs in and finds an edition to preview, test send and
send now; the server serves the sample's images with caching headers."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import ROOT, free_port, pinned_now


def _wait_until_up(server: subprocess.Popen[str], url: str) -> None:
    deadline = time.monotonic() + 60
    while True:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.ConnectionError:
            if time.monotonic() > deadline or server.poll() is not None:
                raise
            time.sleep(0.2)


def _csrf(session: requests.Session, url: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', session.get(url, timeout=10).text)
    assert found
    return found.group(1)


def test_demo_gives_a_dashboard_with_something_to_send(tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTOR_")}
    env.update(pinned_now())
    env["DISTRIBUTOR_DATA_DIR"] = str(tmp_path / "demo")
    env["DISTRIBUTOR_WEB_BASE_URL"] = base
    server = subprocess.Popen(
        [sys.executable, "-m", "distributor", "demo", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_until_up(server, f"{base}/healthz")
        assert server.stdout is not None
        lines = [server.stdout.readline() for _ in range(5)]
        said = "".join(lines)
        assert "24 stories fetched, 24 subscribers, nothing sent yet" in said
        assert f"dashboard: {base}/editor/" in said
        email = re.search(r"email:\s+(\S+)", said)
        password = re.search(r"password:\s+(\S+)", said)
        assert email and password, said
        assert email.group(1) == "editor@news.example"

        web = requests.Session()
        login = web.post(
            f"{base}/editor/login",
            data={
                "email": email.group(1),
                "password": password.group(1),
                "csrf_token": _csrf(web, f"{base}/editor/login"),
            },
            timeout=10,
            allow_redirects=False,
        )
        assert login.status_code == 302, login.text[:300]
        dashboard = web.get(f"{base}/editor/", timeout=30)
        assert dashboard.status_code == 200
        preview = web.get(f"{base}/editor/preview/daily/en", timeout=60)
        assert preview.status_code == 200, preview.text[:300]
        assert "Nothing to preview" not in preview.text
        send_page = web.get(f"{base}/editor/send/daily", timeout=60)
        assert send_page.status_code == 200
        assert "This sends to <strong>24</strong> recipients" in send_page.text

        image = requests.get(f"{base}/images/marel-river-treaty.jpg", timeout=10)
        assert image.status_code == 200
        assert image.headers["Content-Type"] == "image/jpeg"
        assert "max-age=86400" in image.headers["Cache-Control"]
        again = requests.get(
            f"{base}/images/marel-river-treaty.jpg",
            headers={"If-None-Match": image.headers["ETag"]},
            timeout=10,
        )
        assert again.status_code == 304
        # nothing was sent: the outbox is empty
        assert not list((tmp_path / "demo").glob("outbox/mail/daily/**/*.eml"))
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=20)
    assert "warning" not in err, err  # the links point where the server listens
