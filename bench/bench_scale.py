"""Scale benchmark (not a test): one edition to N subscribers through a batch mail API.

The real daily job (``distributor.pipeline.run``) on a configuration written to a
temporary directory: the sample newsroom's feed, one list of N seeded subscribers
(several languages, topic segments, weekly readers, suppressed addresses), sent
through the Mailgun backend to a Mailgun-contract server running in its own process
(it checks the endpoint, basic auth, the form fields, at most 1,000 recipients per
call and recipient-variables for every recipient, and counts recipients).

Each measured run is a fresh process: wall time from selection to every delivery
recorded (the run minus fetching the feed), and the peak RSS (``VmHWM``) of every
process: the run, each worker, the server.  Configurations (BENCH_CONFIGS,
``backend:workers``): SQLite in-process, PostgreSQL (a fresh database on
127.0.0.1:5432, skipped if none answers) in-process, with 1 and with 2
``distributor worker`` processes (Redis broker on 127.0.0.1:6379, a namespace per
measure; the run enqueues and waits on the ledger as ``run --wait`` does), each at
N = BENCH_SMALL (10,000) and BENCH_LARGE (1,000,000).  Next to them, the naive path (the ledger and mail path as
it was before issue 9: every recipient loaded, one UPDATE per ledger row, each
message fully personalized then factored back by ``merge``) on BENCH_NAIVE (20,000;
0 leaves it out) subscribers, per-recipient rates compared.

:func:`measure` runs one configuration and returns its figures.
Ends with ONE JSON line.
Environment: BENCH_SMALL, BENCH_LARGE, BENCH_NAIVE, BENCH_CONFIGS, BENCH_PG_URL,
BENCH_REDIS_URL, BENCH_SKIP_PG=1, BENCH_PROFILE, BENCH_PROFILE_GIL=1, BENCH_SQLITE_PRAGMAS.
"""

from __future__ import annotations

import base64
import json
import multiprocessing
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SMALL = int(os.environ.get("BENCH_SMALL", "10000"))
LARGE = int(os.environ.get("BENCH_LARGE", "1000000"))
NAIVE = int(os.environ.get("BENCH_NAIVE", "20000"))
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
#: BENCH_PROFILE=prefix: every run process under py-spy, its stacks in prefix-*.txt
PROFILE = os.environ.get("BENCH_PROFILE", "")
PY_SPY = str(Path(sys.executable).with_name("py-spy"))
#: BENCH_PROFILE_GIL=1: sample only the thread holding the GIL (``--gil``), not every
#: thread's wall time (``--idle``): where the interpreter's time goes, thread by thread
PROFILE_GIL = os.environ.get("BENCH_PROFILE_GIL", "") == "1"
#: BENCH_SQLITE_PRAGMAS="cache_size=-16384;mmap_size=268435456": tried on the run's
#: SQLite connections on top of the store's own (to measure a setting before making it one)
PRAGMAS = os.environ.get("BENCH_SQLITE_PRAGMAS", "")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
API_KEY = "key-bench"
DOMAIN = "mg.bench.example"
LANGUAGES = ("en", "en", "en", "fr", "es", "pt-BR", "ar", "de")
TOPICS = ([], [], [], ["world"], ["business"], ["world", "science"])


# ------------------------------------------------------------------ the server
class MailgunContract(BaseHTTPRequestHandler):
    """Mailgun's messages API, checked and counted; fast enough not to be the bottleneck."""

    protocol_version = "HTTP/1.1"
    # TCP_NODELAY, as a real API's front end has it: the reply's headers and body are
    # two writes, and with Nagle's algorithm the body would wait for the client's
    # delayed ACK (40 ms a call on Linux: more than everything else a call costs)
    disable_nagle_algorithm = True
    counter: Any = None
    #: where the first full calls are kept (their bodies feed the floor); None: nowhere
    capture: Path | None = None
    captured = 0
    expected_auth = "Basic " + base64.b64encode(f"api:{API_KEY}".encode()).decode()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def reply(self, status: int, body: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != f"/v3/{DOMAIN}/messages":
            return self.reply(404, {"message": "not found"})
        if self.headers.get("Authorization") != self.expected_auth:
            return self.reply(401, {"message": "Forbidden"})
        ctype = self.headers.get("Content-Type", "")
        if not ctype.startswith("multipart/form-data; boundary="):
            return self.reply(400, {"message": "form data expected"})
        boundary = b"--" + ctype.split("boundary=", 1)[1].encode()
        fields: dict[str, list[bytes]] = {}
        for part in body.split(boundary)[1:-1]:
            head, _, value = part[2:-2].partition(b"\r\n\r\n")
            name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode()
            fields.setdefault(name, []).append(value)
        to = [t.decode() for t in fields.get("to", [])]
        if not 0 < len(to) <= 1000:
            return self.reply(400, {"message": "'to': between 1 and 1000 recipients"})
        for name in ("from", "subject", "recipient-variables"):
            if not fields.get(name):
                return self.reply(400, {"message": f"'{name}' parameter is missing"})
        if not (fields.get("text") or fields.get("html")):
            return self.reply(400, {"message": "need at least one of 'text' or 'html'"})
        variables = json.loads(fields["recipient-variables"][0])
        if set(variables) != set(to) or len(set(to)) != len(to):
            return self.reply(400, {"message": "recipient-variables must cover every recipient"})
        with self.counter.get_lock():
            self.counter.value += len(to)
            keep = self.capture is not None and len(to) == 1000 and MailgunContract.captured < 4
            if keep:
                MailgunContract.captured += 1
                index = MailgunContract.captured
        if keep and self.capture is not None:
            (self.capture / f"call{index}.ctype").write_text(ctype)
            (self.capture / f"call{index}.body").write_bytes(body)
        self.reply(200, {"id": f"<{self.counter.value}@{DOMAIN}>", "message": "Queued. Thank you."})


def serve(
    port: int, counter: Any, ready: Any, peak: Any, cpu: Any = None, capture: str = ""
) -> None:
    """One thread per connection: every worker thread keeps its own connection open.
    ``cpu``: the server's CPU time (ms) is written there as it goes; ``capture``: a
    directory where the first full calls are kept (for :func:`floor`)."""
    MailgunContract.counter = counter
    MailgunContract.capture = Path(capture) if capture else None
    server = ThreadingHTTPServer(("127.0.0.1", port), MailgunContract)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    ready.set()
    while True:
        time.sleep(0.05)
        # VmHWM, not ru_maxrss: Linux keeps ru_maxrss across exec, so a spawned child
        # would report its parent's peak (the seeding) as its own
        peak.value = int(_peak_mb() * 1024)
        if cpu is not None:
            cpu.value = int(time.process_time() * 1000)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------ seeding
def write_config(tmp: Path, url: str, database_url: str, namespace: str | None = None) -> Path:
    path = tmp / "distributor.toml"
    queue = (
        f'[queue]\nbroker_url = "{REDIS_URL}"\nnamespace = "{namespace}"\n'
        f'queue_name = "{namespace}"\n'
        if namespace
        else ""
    )
    path.write_text(
        f"""
data_dir = "var"
database_url = "{database_url}"
[newsroom]
name = "Meridian World News"
url = "https://news.example"
postal_address = "1 Example Square, Example City"
[web]
base_url = "https://news.example/newsletter"
[sources.meridian]
url = "{ROOT / "config" / "sample" / "newsroom.atom.xml"}"
[lists.daily]
title = "Meridian Daily"
from_address = "Meridian Daily <digest@news.example>"
mail = "main"
max_age_hours = 876000
weekly_day = "{_not_today()}"
[mail.main]
provider = "mailgun"
domain = "{DOMAIN}"
base_url = "{url}"
timeout = 60
"""
        + queue,
        encoding="utf-8",
    )
    return path


def _not_today() -> str:
    """A weekly day that is not today (UTC): weekly readers wait, the daily edition goes."""
    from datetime import UTC, datetime, timedelta

    return (datetime.now(UTC) + timedelta(days=3)).strftime("%A").lower()


def seed(database_url: str, n: int) -> None:
    """N subscribers on the list (bulk inserts), 1 in 500 suppressed, 1 in 100 weekly."""
    from datetime import UTC, datetime

    from sqlalchemy import insert

    from distributor.store import Store
    from distributor.store import schema as s

    store = Store.open(database_url)
    now = datetime.now(UTC)
    step = 20000
    with store.engine.begin() as conn:
        for start in range(1, n + 1, step):
            ids = range(start, min(start + step, n + 1))
            conn.execute(
                insert(s.subscribers),
                [
                    {
                        "id": i,
                        "email": f"reader{i}@example.org",
                        "name": f"Reader {i}" if i % 3 else "",
                        "language": LANGUAGES[i % len(LANGUAGES)],
                        "timezone": None,
                        "topics": TOPICS[i % len(TOPICS)],
                        "created_at": now,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(s.memberships),
                [
                    {
                        "list_name": "daily",
                        "subscriber_id": i,
                        "status": "subscribed",
                        "updated_at": now,
                    }
                    for i in ids
                ],
            )
            conn.execute(
                insert(s.suppressions),
                [
                    {"email": f"reader{i}@example.org", "reason": "hard bounce", "created_at": now}
                    for i in ids
                    if i % 500 == 0
                ],
            )
            conn.execute(
                insert(s.subscriber_preferences),
                [{"subscriber_id": i, "frequency": "weekly"} for i in ids if i % 100 == 7],
            )
    if store.engine.dialect.name == "postgresql":
        with store.engine.connect() as conn:
            conn.exec_driver_sql(
                "SELECT setval('subscribers_id_seq', (SELECT max(id) FROM subscribers))"
            )
            conn.commit()
            conn.exec_driver_sql("ANALYZE")
            conn.commit()
    store.close()


# ------------------------------------------------------------------ one run
def run_once(config: str, mode: str) -> None:
    """In a fresh process: the daily job; prints one JSON line of figures."""
    import requests

    from distributor.config import load_settings
    from distributor.pipeline import Context, run
    from distributor.store import Store

    settings = load_settings(
        Path(config),
        environ={"DISTRIBUTOR_MAIL_MAIN_API_KEY": API_KEY},
        dotenv_path=Path(config).parent / "no.env",
    )
    store = Store.open(settings.database_url)
    if PRAGMAS and store.engine.dialect.name == "sqlite":  # an experiment's extra pragmas

        def pragmas(dbapi_conn: Any, _record: Any) -> None:
            for pragma in PRAGMAS.split(";"):
                dbapi_conn.execute(f"PRAGMA {pragma}")

        __import__("sqlalchemy").event.listen(store.engine, "connect", pragmas)
        store.engine.dispose()
    if mode == "naive":
        naive_paths(store)
    ctx = Context(settings=settings, store=store, session=requests.Session())
    marks: dict[str, float] = {}
    real_fetch = __import__("distributor.pipeline", fromlist=["fetch_sources"]).fetch_sources

    def fetch_and_mark(*args: Any, **kwargs: Any) -> None:
        real_fetch(*args, **kwargs)
        marks["selection"] = time.perf_counter()
        marks["cpu"] = time.process_time()

    import distributor.pipeline as pipeline

    pipeline.fetch_sources = fetch_and_mark  # type: ignore[assignment]
    report = run(ctx)
    if settings.queue is not None:  # `run --wait`: until the workers have recorded every row
        from distributor.queue import ledger_report, wait_for

        ids = [e.edition_id for e in report.editions if e.edition_id is not None]
        assert wait_for(store, ids, ctx.clock, timeout=3600, poll=0.1), "workers did not finish"
        ledger_report(store, report)
    done = time.perf_counter()
    cpu = time.process_time() - marks["cpu"]
    ctx.close()
    with store.engine.connect() as conn:
        ids = [r[0] for r in conn.exec_driver_sql("SELECT id FROM editions")]
        rows = conn.exec_driver_sql("SELECT count(*) FROM deliveries").scalar_one()
    counts = store.delivery_counts(ids)
    store.close()
    print(
        json.dumps(
            {
                "seconds": done - marks["selection"],
                "run_cpu_seconds": round(cpu, 2),
                "sent": report.emails.sent,
                "failed": report.emails.failed,
                "pending_left": counts.pending + counts.sending,
                "ledger_rows": rows,
                "suppressed_left_out": counts.failed,
                "editions": len(report.editions),
                "error_lines": len(report.errors),
                "peak_rss_mb": _peak_mb(),
            }
        )
    )


def _peak_mb(pid: int | None = None) -> float:
    """Peak resident memory (``VmHWM``) of this process or of ``pid``, MB."""
    status = Path(f"/proc/{pid or 'self'}/status")
    for line in status.read_text().splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def naive_paths(store: Any) -> None:
    """Put back the paths as they were before issue 9, in this process only."""
    from sqlalchemy import update

    import distributor.pipeline as pipeline
    from distributor.mail.mailgun import MailgunBackend
    from distributor.models import DeliveryResult
    from distributor.store import schema as s
    from distributor.store.repository import NewVariant

    # 1. selection loads every recipient (pipeline.select) and writes per plan
    def create_editions(
        *, list_name: str, key: str, variants: Any, variant_of: Any, now: Any, **_: Any
    ) -> Any:
        plans = {(p.language, p.segment): p for p in pipeline.select(CTX[0], list_name, CTX[1])}
        out = []
        for v in variants:
            plan = plans[(v.language, v.segment)]
            out.append(
                (
                    store.create_edition(
                        list_name=list_name,
                        key=key,
                        language=v.language,
                        stories=v.stories,
                        recipients=plan.recipients,
                        now=now,
                        segment=v.segment,
                    ),
                    len(plan.recipients),
                )
            )
        return out

    real_plan_list = pipeline.plan_list

    def plan_list(ctx: Any, list_name: str, cfg: Any) -> Any:
        CTX[:] = [ctx, cfg]
        return real_plan_list(ctx, list_name, cfg)

    pipeline.plan_list = plan_list  # type: ignore[assignment]
    store.create_editions = create_editions
    assert NewVariant

    # 2. one UPDATE per ledger row
    def record_deliveries(claimed: Any, results: Any, now: Any) -> None:
        by_key = {r.key: r for r in results}
        with store.engine.begin() as conn:
            for c in claimed:
                res = by_key.get(c.key) or DeliveryResult.unknown(c.key, "no result")
                conn.execute(
                    update(s.deliveries)
                    .where(s.deliveries.c.id == c.id)
                    .values(
                        state=res.state.value,
                        provider_id=res.provider_id,
                        error=res.error,
                        retryable=res.retryable,
                        message_id=c.key,  # as it was: a value per row
                        updated_at=now,
                    )
                )

    store.record_deliveries = record_deliveries
    # 3. every message fully personalized, then factored back into a template by merge()
    MailgunBackend.templates = False  # type: ignore[misc]


CTX: list[Any] = []


def measure(backend: str, n: int, mode: str = "streaming", workers: int = 0) -> dict[str, Any]:
    """Seed ``n`` subscribers on ``backend`` (sqlite|postgresql), run the job once in a
    fresh process against a fresh Mailgun-contract server; return the figures.

    ``workers`` = 0: the run sends in its own process; 1 or more: a ``[queue]`` on
    Redis (a namespace of this measure), that many ``distributor worker`` processes
    (started before, idle until the run enqueues) send, the run waits on the ledger
    as ``run --wait`` does. The time is the same span: selection to every row recorded.
    """
    mp = multiprocessing.get_context("spawn")
    namespace = f"bench-{os.getpid()}-{int(time.time() * 1000)}" if workers else None
    worker_peaks: list[float] = []
    with tempfile.TemporaryDirectory() as tmp_dir:
        tmp = Path(tmp_dir)
        database_url, drop = _database(backend, tmp)
        port = free_port()
        counter, ready, peak, cpu = mp.Value("l", 0), mp.Event(), mp.Value("l", 0), mp.Value("l", 0)
        capture = tmp / "calls"
        capture.mkdir()
        server = mp.Process(
            target=serve, args=(port, counter, ready, peak, cpu, str(capture)), daemon=True
        )
        server.start()
        procs: list[subprocess.Popen[bytes]] = []
        try:
            assert ready.wait(30), "server did not start"
            config = write_config(tmp, f"http://127.0.0.1:{port}", database_url, namespace)
            started = time.perf_counter()
            seed(database_url, n)
            seed_seconds = time.perf_counter() - started
            procs = [_start_worker(config, tmp, i) for i in range(workers)]
            time.sleep(0.2)
            server_cpu_before = cpu.value
            command = [sys.executable, __file__, "--run", str(config), mode]
            if PROFILE:  # py-spy on the run process, collapsed stacks (both threads)
                profile = f"{PROFILE}-{backend}-{n}-{mode}.txt"
                spy = [PY_SPY, "record", "--format", "raw", "--rate", "250"]
                spy.append("--gil" if PROFILE_GIL else "--idle")
                spy += ["--output", profile]
                command = [*spy, "--", *command]
            out = subprocess.run(
                command,
                capture_output=True,
                text=True,
                check=False,
                cwd=tmp,
            )
            if out.returncode != 0:
                raise RuntimeError(f"run failed: {out.stderr[-3000:]}")
            lines = [x for x in out.stdout.splitlines() if x.startswith("{")]
            figures = json.loads(lines[-1])  # (py-spy prints its own lines after it)
            worker_peaks = [_peak_mb(p.pid) for p in procs]
            time.sleep(0.2)
            server_cpu = (cpu.value - server_cpu_before) / 1000
            # the floor in the same run: the same server, fed the calls it just received
            # (pre-built, no database, no rendering), as many recipients, one connection
            bottom = floor(capture, figures["ledger_rows"]) if mode == "streaming" else None
        finally:
            for p in procs:
                p.terminate()
            for p in procs:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    p.kill()
            server.kill()
            server.join(5)
            drop()
            if namespace:
                _drop_namespace(namespace)
    # every ledger row sent, each exactly once on the server; suppressed and weekly
    # readers (not their day) and readers of variants without stories have no row
    assert figures["sent"] == counter.value == figures["ledger_rows"], (figures, counter.value)
    assert figures["pending_left"] == 0, figures
    figures.update(
        backend=backend,
        subscribers=n,
        mode=mode,
        workers=workers,
        worker_peak_rss_mb=worker_peaks,
        server_recipients=counter.value,
        server_peak_rss_mb=round(peak.value / 1024, 1),
        seed_seconds=round(seed_seconds, 1),
        per_second=round(figures["sent"] / figures["seconds"]),
        seconds=round(figures["seconds"], 2),
        server_cpu_seconds=round(server_cpu, 2),
        us_per_recipient=round(figures["seconds"] / figures["sent"] * 1e6, 1),
        run_cpu_us_per_recipient=round(figures["run_cpu_seconds"] / figures["sent"] * 1e6, 1),
        load_average=round(os.getloadavg()[0], 2),
    )
    if bottom is not None:
        figures.update(
            floor=bottom,
            over_floor=round(figures["seconds"] / bottom["seconds"], 2),
        )
    print(json.dumps(figures), file=sys.stderr)
    return figures


def floor(capture: Path, recipients: int) -> dict[str, Any] | None:
    """The floor of the same work: a fresh Mailgun-contract server fed ``recipients``
    recipients in pre-built calls of 1,000 (the bodies the product sent, replayed in
    turn) over one keep-alive connection, nothing else: no database, no rendering.
    None when the run made no full call to replay."""
    import http.client

    calls = sorted(capture.glob("call*.body"))
    if not calls:
        return None
    bodies = [(c.read_bytes(), c.with_suffix(".ctype").read_text()) for c in calls]
    mp = multiprocessing.get_context("spawn")
    counter, ready, peak, cpu = mp.Value("l", 0), mp.Event(), mp.Value("l", 0), mp.Value("l", 0)
    port = free_port()
    server = mp.Process(target=serve, args=(port, counter, ready, peak, cpu), daemon=True)
    server.start()
    try:
        assert ready.wait(30), "server did not start"
        time.sleep(0.2)
        cpu_before = cpu.value
        auth = MailgunContract.expected_auth
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        n_calls = -(-recipients // 1000)
        started, cpu_started = time.perf_counter(), time.process_time()
        for i in range(n_calls):
            body, ctype = bodies[i % len(bodies)]
            conn.request(
                "POST",
                f"/v3/{DOMAIN}/messages",
                body=body,
                headers={"Authorization": auth, "Content-Type": ctype},
            )
            reply = conn.getresponse()
            reply.read()
            assert reply.status == 200, reply.status
        seconds = time.perf_counter() - started
        client_cpu = time.process_time() - cpu_started
        conn.close()
        time.sleep(0.2)
        server_cpu = (cpu.value - cpu_before) / 1000
    finally:
        server.kill()
        server.join(5)
    sent = counter.value
    assert sent == n_calls * 1000, (sent, n_calls)
    return {
        "recipients": sent,
        "seconds": round(seconds, 2),
        "per_second": round(sent / seconds),
        "us_per_recipient": round(seconds / sent * 1e6, 1),
        "server_cpu_seconds": round(server_cpu, 2),
        "client_cpu_seconds": round(client_cpu, 2),
    }


def _start_worker(config: Path, tmp: Path, index: int) -> subprocess.Popen[bytes]:
    """``distributor worker`` on this configuration; returns once it is consuming."""
    env = {**os.environ, "DISTRIBUTOR_MAIL_MAIN_API_KEY": API_KEY}
    log = tmp / f"worker{index}.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "distributor", "--config", str(config), "worker"],
            cwd=tmp,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
        )
    deadline = time.monotonic() + 60
    while "distributor worker:" not in log.read_text():  # "... 4 threads on <queue>"
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"worker did not start: {log.read_text()[-2000:]}")
        time.sleep(0.1)
    return proc


def _drop_namespace(namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        for key in client.scan_iter(match=f"{namespace}*", count=1000):
            client.delete(key)
    finally:
        client.close()


def _database(backend: str, tmp: Path) -> tuple[str, Any]:
    if backend == "sqlite":
        return f"sqlite:///{tmp / 'bench.db'}", lambda: None
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"bench_{os.getpid()}_{int(time.time() * 1000)}"
    admin = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    url = make_url(PG_ADMIN).set(database=name).render_as_string(hide_password=False)
    return url, drop


def postgres_available() -> bool:
    if os.environ.get("BENCH_SKIP_PG"):
        return False
    try:
        from sqlalchemy import create_engine, text

        with create_engine(PG_ADMIN).connect() as conn:
            conn.execute(text("select 1"))
        return True
    except Exception:
        return False


#: configurations measured: backend and queue workers (0 = the run sends in-process)
CONFIGS = os.environ.get("BENCH_CONFIGS", "sqlite:0,postgresql:0,postgresql:1,postgresql:2")


def _peaks(figures: dict[str, Any]) -> dict[str, float]:
    """Peak RSS (MB) of every process of one measure: the run, each worker, the server."""
    out = {"run": figures["peak_rss_mb"]}
    out.update({f"worker{i + 1}": mb for i, mb in enumerate(figures["worker_peak_rss_mb"])})
    out["server"] = figures["server_peak_rss_mb"]
    return out


def _summary(figures: dict[str, Any]) -> dict[str, Any]:
    out = {
        "n": figures["subscribers"],
        "recipients": figures["sent"],
        "seconds": figures["seconds"],
        "per_second": figures["per_second"],
        "us_per_recipient": figures["us_per_recipient"],
        "run_cpu_us_per_recipient": figures["run_cpu_us_per_recipient"],
        "server_cpu_seconds": figures["server_cpu_seconds"],
        "peak_mb": _peaks(figures),
        "load_average": figures["load_average"],
    }
    bottom = figures.get("floor")
    if bottom:
        # the floor of the same run: the same recipients through the same server with
        # nothing else to do; over_floor = the product's time / the floor's time
        out["floor_seconds"] = bottom["seconds"]
        out["floor_per_second"] = bottom["per_second"]
        out["floor_us_per_recipient"] = bottom["us_per_recipient"]
        out["over_floor"] = figures["over_floor"]
    return out


def main() -> None:
    has_pg = postgres_available()
    out: dict[str, Any] = {
        "load_average_at_start": round(os.getloadavg()[0], 2),
        "cpus": os.cpu_count(),
        "configurations": {},
        "naive": {},
    }
    for item in CONFIGS.split(","):
        backend, workers = item.split(":")[0], int(item.split(":")[1])
        if backend == "postgresql" and not has_pg:
            continue
        name = f"{backend}_{'in_process' if not workers else f'{workers}_workers'}"
        small = measure(backend, SMALL, workers=workers)
        large = measure(backend, LARGE, workers=workers)
        small_peaks, large_peaks = _peaks(small), _peaks(large)
        out["configurations"][name] = {
            "small": _summary(small),
            "large": _summary(large),
            "mem_large_over_small": {
                proc: round(large_peaks[proc] / small_peaks[proc], 3) for proc in large_peaks
            },
            "large_meets_30s": large["seconds"] <= 30,
            # what 30 s would be at the floor's pace of this run (the ratio holds under load)
            "large_30s_over_floor": (
                round(30 / large["floor"]["seconds"], 2) if large.get("floor") else None
            ),
            "large_memory_targets_met": all(
                large_peaks[p] <= 200 and large_peaks[p] <= 1.2 * small_peaks[p]
                for p in large_peaks
            ),
        }
        if not workers and NAIVE:  # the naive path (in-process) next to the fast one, same N
            naive = measure(backend, NAIVE, mode="naive")
            fast = measure(backend, NAIVE)
            out["naive"][backend] = {
                "n": NAIVE,
                "naive_per_second": naive["per_second"],
                "fast_per_second": fast["per_second"],
                "speedup_vs_naive": round(fast["per_second"] / naive["per_second"], 1),
                "naive_peak_mb": naive["peak_rss_mb"],
                "floor_per_second": fast["floor"]["per_second"] if fast.get("floor") else None,
                "fast_over_floor": fast.get("over_floor"),
                "naive_over_floor": (
                    round(naive["seconds"] / fast["floor"]["seconds"], 2)
                    if fast.get("floor")
                    else None
                ),
            }
    out["load_average_at_end"] = round(os.getloadavg()[0], 2)
    print(json.dumps(out))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--run":
        run_once(sys.argv[2], sys.argv[3])
    else:
        main()
