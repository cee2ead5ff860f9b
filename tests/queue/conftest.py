"""Fixtures of the worker tests: Redis and RabbitMQ (skip outside CI, fail in CI), a
Mailgun-contract server that fails on purpose, a bulk-seeded edition, worker processes."""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

pytest.importorskip("dramatiq", reason="needs distributor[scale] (dramatiq)")
import redis

from tests.conftest import ROOT, write_config

REDIS_URL = os.environ.get("DISTRIBUTOR_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
AMQP_URL = os.environ.get("DISTRIBUTOR_TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/%2F")
API_KEY = "key-mailgun"
DOMAIN = "mg.news.example"


def _missing(service: str, err: Exception) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{service} is required in CI and did not answer: {err}")
    pytest.skip(f"no {service} server: {err}")


@pytest.fixture
def redis_ns() -> Iterator[tuple[str, str]]:
    """(Redis URL, a namespace of this test); the namespace's keys are deleted afterwards."""
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as err:
        client.close()
        _missing("Redis", err)
    ns = f"distributor-test-{uuid.uuid4().hex[:10]}"
    try:
        yield REDIS_URL, ns
    finally:
        for key in client.scan_iter(match=f"{ns}*", count=1000):
            client.delete(key)
        client.close()


@pytest.fixture
def amqp_url() -> str:
    try:
        with socket.create_connection(("127.0.0.1", 5672), timeout=2):
            pass
    except OSError as err:
        _missing("RabbitMQ", err)
    return AMQP_URL


# ------------------------------------------------------------------ the provider
@dataclass
class ChaosMailgun:
    """Mailgun's batch-sending contract; fails ``fail_rate`` of the calls on purpose.

    Failures: 429 with Retry-After, 503, or a hang longer than the client's
    timeout *after* recording the recipients (accepted, but the reply is lost).
    Every accepted recipient is recorded with the time of the call.
    """

    fail_rate: float = 0.0
    hang_seconds: float = 2.0
    retry_after: str = "1"
    seed: int = 9
    received: list[tuple[float, str]] = field(default_factory=list)
    calls: list[tuple[float, int]] = field(default_factory=list)  # (time, recipients accepted)
    failures: Counter[str] = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def handler(self, request: Request) -> Response:
        if request.method != "POST" or request.path != f"/v3/{DOMAIN}/messages":
            return Response(json.dumps({"message": "not found"}), 404)
        auth = request.authorization
        if auth is None or auth.username != "api" or auth.password != API_KEY:
            return Response("Forbidden", 401)
        request.max_form_parts = 5000
        form = request.form
        to = form.getlist("to")
        variables = json.loads(form.get("recipient-variables", "{}"))
        problems = []
        if not 0 < len(to) <= 1000:
            problems.append("'to' parameter: between 1 and 1000 recipients")
        if not form.get("from") or not form.get("subject"):
            problems.append("'from' and 'subject' are required")
        if not (form.get("text") or form.get("html")):
            problems.append("need at least one of 'text' or 'html'")
        if set(variables) != set(to):
            problems.append("recipient-variables must cover every recipient")
        if problems:
            return Response(json.dumps({"message": "; ".join(problems)}), 400)
        with self.lock:
            roll = self.rng.random()
        if roll < self.fail_rate / 3:
            with self.lock:
                self.failures["429"] += 1
            return Response(
                json.dumps({"message": "rate limited"}),
                429,
                headers={"Retry-After": self.retry_after},
            )
        if roll < 2 * self.fail_rate / 3:
            with self.lock:
                self.failures["503"] += 1
            return Response(json.dumps({"message": "unavailable"}), 503)
        now = time.time()
        with self.lock:
            self.received += [(now, r) for r in to]
            self.calls.append((now, len(to)))
        if roll < self.fail_rate:
            with self.lock:
                self.failures["hang"] += 1
            time.sleep(self.hang_seconds)  # accepted, but the reply comes too late
        return Response(
            json.dumps({"id": f"<{uuid.uuid4().hex}@{DOMAIN}>", "message": "Queued. Thank you."}),
            200,
            content_type="application/json",
        )

    def counts(self) -> Counter[str]:
        with self.lock:
            return Counter(r for _, r in self.received)


@pytest.fixture
def mailgun() -> Iterator[tuple[HTTPServer, ChaosMailgun]]:
    srv = HTTPServer(host="127.0.0.1", port=0, threaded=True)
    fake = ChaosMailgun()
    srv.expect_request(f"/v3/{DOMAIN}/messages").respond_with_handler(fake.handler)
    srv.start()
    try:
        yield srv, fake
    finally:
        srv.clear()
        srv.stop()


def mailgun_toml(server: HTTPServer, *, timeout: float = 1.0, extra: str = "") -> str:
    base = server.url_for("").rstrip("/")
    return (
        f'provider = "mailgun"\ndomain = "{DOMAIN}"\nbase_url = "{base}"\n'
        f"timeout = {timeout}\nmax_retries = 2\nmax_retry_wait = 3\n{extra}"
    )


def queue_config(
    tmp_path: Path,
    *,
    db_url: str,
    broker_url: str,
    namespace: str,
    mail: str,
    queue_extra: str = "",
    subscribers: Path | None = None,
) -> Path:
    extra = (
        f'database_url = "{db_url}"\n\n[queue]\nbroker_url = "{broker_url}"\n'
        f'namespace = "{namespace}"\nqueue_name = "{namespace}"\n{queue_extra}\n'
    )
    kwargs: dict[str, Any] = {}
    if subscribers is not None:
        kwargs["subscribers"] = subscribers
    return write_config(tmp_path, mail=mail, extra=extra, social="", **kwargs)


def seed_subscribers(db_url: str, n: int, list_name: str = "daily") -> None:
    """``n`` English readers on the list, inserted in bulk (the tables are made first)."""
    from sqlalchemy import insert

    from distributor.store import Store
    from distributor.store import schema as s

    store = Store.open(db_url)
    now = datetime.now(UTC)
    try:
        with store.engine.begin() as conn:
            rows = [
                {
                    "email": f"reader{i:06d}@example.org",
                    "name": f"Reader {i}",
                    "language": "en",
                    "timezone": None,
                    "topics": [],
                    "created_at": now,
                }
                for i in range(n)
            ]
            for i in range(0, n, 5000):
                conn.execute(insert(s.subscribers), rows[i : i + 5000])
            ids = [r.id for r in conn.execute(s.subscribers.select())]
            members = [
                {
                    "list_name": list_name,
                    "subscriber_id": sid,
                    "status": "subscribed",
                    "updated_at": now,
                }
                for sid in ids
            ]
            for i in range(0, len(members), 5000):
                conn.execute(insert(s.memberships), members[i : i + 5000])
    finally:
        store.close()


def cli_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTOR_")}
    env["DISTRIBUTOR_MAIL_MAIN_API_KEY"] = API_KEY
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra or {})
    return env


@dataclass
class Workers:
    """``distributor worker`` processes (the real CLI), killed and restarted at will."""

    config: Path
    threads: int = 3
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)
    kills: int = 0

    def start(self, n: int) -> None:
        for _ in range(n):
            self.procs.append(self._spawn(len(self.logs)))

    def _spawn(self, i: int) -> subprocess.Popen[bytes]:
        log = self.config.parent / f"worker-{i}.log"
        self.logs.append(log)
        with log.open("wb") as fh:  # the child keeps its own descriptor
            return subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "distributor",
                    "--config",
                    str(self.config),
                    "worker",
                    "--threads",
                    str(self.threads),
                ],
                stdout=subprocess.DEVNULL,
                stderr=fh,
                env=cli_env(),
                cwd=self.config.parent,
            )

    def kill_one(self, rng: random.Random) -> None:
        i = rng.randrange(len(self.procs))
        self.procs[i].send_signal(signal.SIGKILL)
        self.procs[i].wait()
        self.kills += 1
        self.procs[i] = self._spawn(len(self.logs))

    def stop(self) -> list[int]:
        for p in self.procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        codes = []
        for p in self.procs:
            try:
                codes.append(p.wait(timeout=30))
            except subprocess.TimeoutExpired:
                p.kill()
                codes.append(p.wait())
        return codes

    def stderr(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')}" for p in self.logs)


@pytest.fixture
def workers() -> Iterator[list[Workers]]:
    made: list[Workers] = []
    yield made
    for w in made:
        for p in w.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
