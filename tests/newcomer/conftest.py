"""``distributor demo`` (``make demo``) as a real process on the repository's own
configuration, for the tests that log in to it (over HTTP and in Chromium)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.conftest import ROOT, free_port, pinned_now


@dataclass
class Demo:
    """The running demo: where it listens, what it printed, where its data is."""

    base: str
    said: str
    email: str
    password: str
    data_dir: Path
    process: subprocess.Popen[str]

    def mails(self) -> list[Path]:
        return sorted(self.data_dir.glob("outbox/mail/**/*.eml"))


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


@pytest.fixture
def demo(tmp_path: Path) -> Iterator[Demo]:
    """``distributor demo --port N`` as ``make demo`` runs it (its own data directory,
    ``DISTRIBUTOR_WEB_BASE_URL`` on the port); after the test, nothing on its stderr
    may say "warning" (the links point where the server listens)."""
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
        said = "".join(server.stdout.readline() for _ in range(5))
        email = re.search(r"email:\s+(\S+)", said)
        password = re.search(r"password:\s+(\S+)", said)
        assert email and password, said
        yield Demo(base, said, email.group(1), password.group(1), tmp_path / "demo", server)
    finally:
        server.terminate()
        _out, err = server.communicate(timeout=20)
    assert "warning" not in err, err
