"""[queue] settings, the missing-Dramatiq error, the shared cool-down, `distributor worker` errors."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import redis
import time_machine

from distributor.errors import ConfigError
from distributor.queue import open_queue
from distributor.queue.limits import SharedLimiter, window_for
from tests.conftest import NOW, settings_for, write_config
from tests.queue.conftest import cli_env


def test_no_queue_section_means_in_process_delivery(tmp_path: Path) -> None:
    assert settings_for(write_config(tmp_path)).queue is None


def test_queue_urls_are_checked_and_come_from_the_environment(tmp_path: Path) -> None:
    bad = write_config(tmp_path, extra='[queue]\nbroker_url = "http://x"\n')
    with pytest.raises(ConfigError, match="redis://"):
        settings_for(bad)
    path = write_config(tmp_path, extra='[queue]\nbroker_url = "redis://127.0.0.1/0"\n')
    secret = "amqp://user:s3cret@mq.example:5672/%2F"
    settings = settings_for(path, {"DISTRIBUTOR_QUEUE_BROKER_URL": secret})
    assert settings.queue is not None and settings.queue.broker_kind == "rabbitmq"
    assert "s3cret" not in repr(settings)


def test_rate_limits_with_rabbitmq_need_redis(tmp_path: Path) -> None:
    path = write_config(
        tmp_path,
        mail='provider = "mailgun"\ndomain = "mg.x"\nrate_limit = 10\n',
        extra='[queue]\nbroker_url = "amqp://guest:guest@127.0.0.1:1/%2F"\n',
    )
    settings = settings_for(path, {"DISTRIBUTOR_MAIL_MAIN_API_KEY": "k"})
    with pytest.raises(ConfigError, match="rate_limit_url"):
        open_queue(settings, lambda: NOW)


def test_missing_dramatiq_is_a_clear_config_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_config(tmp_path, extra='[queue]\nbroker_url = "redis://127.0.0.1:1/0"\n')
    monkeypatch.delitem(sys.modules, "distributor.queue.broker", raising=False)
    monkeypatch.setitem(sys.modules, "dramatiq", None)
    with pytest.raises(ConfigError, match=r"install distributor\[scale\]"):
        open_queue(settings_for(path), lambda: NOW)


def test_worker_without_queue_section_is_one_line_error(tmp_path: Path) -> None:
    path = write_config(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "distributor", "--config", str(path), "worker"],
        capture_output=True,
        text=True,
        env=cli_env(),
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        "distributor: error: no [queue] section: `distributor worker` needs a broker"
    ]


def test_window_fits_two_batches() -> None:
    assert window_for(400, 50) == (400, 1)
    assert window_for(10, 100) == (200, 20)
    assert window_for(10, 100, window=5) == (50, 5)


def test_a_retry_after_seen_by_one_worker_holds_every_worker(
    redis_ns: tuple[str, str],
) -> None:
    url, ns = redis_ns
    clients = [redis.Redis.from_url(url), redis.Redis.from_url(url)]
    try:
        one, two = (SharedLimiter(c, f"{ns}:mail:main", per_second=None, batch=10) for c in clients)
        one.pause(1.0)  # worker one got a 429 with Retry-After: 1
        started = time.monotonic()
        two.wait(10)  # worker two, another connection, waits it out
        assert 0.8 <= time.monotonic() - started < 2.0
        started = time.monotonic()
        two.wait(10)
        assert time.monotonic() - started < 0.2  # and only once
    finally:
        for c in clients:
            c.close()


def test_shared_window_limit_holds_across_threads(redis_ns: tuple[str, str]) -> None:
    """The shared window counts calls per second of Redis's clock (here the caller's too).

    Each call's second is known only when the call started and returned in the
    same second; those are counted per second and may never pass the limit.
    A call that straddles a second boundary could belong to either, so it only
    counts towards the total (stamping after the call let a late thread's stamp
    slip into the next second and fail the check by chance).
    """
    url, ns = redis_ns
    client = redis.Redis.from_url(url)
    limiter = SharedLimiter(client, f"{ns}:mail:main", per_second=50, batch=10, window=1)
    spans: list[tuple[float, float]] = []
    lock = threading.Lock()

    def send() -> None:
        for _ in range(6):
            before = time.time()
            limiter.wait(10)
            after = time.time()
            with lock:
                spans.append((before, after))

    threads = [threading.Thread(target=send) for _ in range(3)]
    started = time.time()
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        client.close()
    finished = time.time()
    per_second: dict[int, int] = {}
    for before, after in spans:
        if int(before) == int(after):
            per_second[int(before)] = per_second.get(int(before), 0) + 10
    assert len(spans) == 18
    assert max(per_second.values(), default=0) <= 50
    # 180 slots at 50 a second fill at least four distinct seconds.
    assert int(finished) - int(started) >= 3


def test_the_window_is_kept_on_redis_clock_not_the_workers(redis_ns: tuple[str, str]) -> None:
    """Two workers whose wall clocks disagree by a day still fill one window.

    Keyed by each worker's ``time.time()`` (Dramatiq's way) the second worker would
    count a window of its own and send the limit again.
    """
    url, ns = redis_ns
    clients = [redis.Redis.from_url(url), redis.Redis.from_url(url)]
    try:
        one, two = (
            SharedLimiter(c, f"{ns}:mail:main", per_second=5, batch=1, window=60) for c in clients
        )
        assert one.limiter is not None and two.limiter is not None
        assert one.limiter.acquire_slots(300)  # the whole minute's allowance
        with time_machine.travel(time.time() + 86_400, tick=True):
            assert not two.limiter.acquire_slots(1)
        assert not one.limiter.acquire_slots(1)
    finally:
        for c in clients:
            c.close()


def test_a_broker_down_during_the_run_is_reported_and_nothing_is_lost(
    tmp_path: Path, make_context: Any
) -> None:
    """No broker answers: the run says so, sends nothing, and the ledger keeps every
    reader pending for the next run (or scheduler slot) to enqueue."""
    from distributor.pipeline import run
    from distributor.store.schema import deliveries

    path = write_config(tmp_path, extra='[queue]\nbroker_url = "redis://127.0.0.1:1/0"\n')
    ctx = make_context(settings_for(path))
    report = run(ctx)
    queue_errors = [e for e in report.errors if e.stage == "queue"]
    assert queue_errors and not report.ok, report.errors
    assert report.emails.sent == 0 and report.tasks_enqueued == 0
    with ctx.store.engine.connect() as conn:
        states = [r.state for r in conn.execute(deliveries.select())]
    assert len(states) >= 20 and set(states) == {"pending"}
    assert not (tmp_path / "var/outbox/mail").exists()
