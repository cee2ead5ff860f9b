"""Benchmark: the click redirect ``GET /r/<token>`` under concurrent local clients.

The sample newsroom is run once (file outbox, SQLite in WAL mode); the ``/r/`` links are
taken from its ``.eml`` files.  The real app is served by waitress in its own process;
client processes (one selector loop each over keep-alive connections and raw HTTP/1.1,
so the load generator stays cheap on the same 2 cores: its CPU is reported) click those
links for a fixed time, each request as a different reader (its own browser string),
and time each one.
Four ways, in the same run:

* ``batched``: the shipped recorder: clicks held for the sweep window, then one upsert
  per (variant, story, kind, network, hour) and batch (``[clicks] flush_seconds``);
* ``upsert``: the same recorder writing with every click (``flush_seconds = 0``): one
  transaction with one upsert per click;
* ``naive``: insert-per-click: one row per click in a raw table, one commit each (what
  a tool that keeps every click does; counts are a ``GROUP BY`` later);
* ``floor``: the same endpoint recording nothing (waitress, Flask, the token and the
  target lookup): the ceiling of this machine for any way of recording.

Reported: clicks recorded per second (302 answers / wall time), p50/p99 latency, the
rows each way leaves, the load average before and after (the machine is shared), and
the CPU the server and the clients used (in cores, and the server's per click).
``--profile DIR`` samples the server with py-spy (``DIR/<mode>.txt``, collapsed stacks
of the thread holding the GIL).  Target: at least
2,000 clicks/s and p99 under 50 ms on SQLite WAL.

Run: ``.venv/bin/python bench/bench_clicks.py [--seconds S] [--clients C] [--connections N]
[--server-threads T] [--modes floor,batched,upsert,naive]``.
The last line of output is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing as mp
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE = ROOT / "config" / "sample"
NOW = "2026-11-28T07:00:00+00:00"
CONFIG = """
data_dir = "var"
database_url = "sqlite:///{db}"
[newsroom]
name = "Meridian World News"
url = "https://news.example"
[web]
base_url = "http://127.0.0.1:{port}"
[sources.meridian]
url = "{feed}"
[lists.daily]
title = "Meridian Daily"
from_address = "Meridian Daily <digest@news.example>"
mail = "main"
max_age_hours = 876000
subscribers_file = "{subscribers}"
[mail.main]
provider = "file"
[clicks]
rate_limit_per_minute = 1000000
flush_seconds = {flush}
burst_seconds = 1.0
"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def write_config(folder: Path, port: int, flush: float) -> Path:
    path = folder / f"distributor-{port}.toml"
    path.write_text(
        CONFIG.format(
            db=folder / "bench.db",
            port=port,
            feed=SAMPLE / "newsroom.atom.xml",
            subscribers=SAMPLE / "subscribers.csv",
            flush=flush,
        ),
        encoding="utf-8",
    )
    return path


def env() -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if not k.startswith("DISTRIBUTOR_")}
    out.update({"DISTRIBUTOR_TESTING": "1", "DISTRIBUTOR_TEST_NOW": NOW})
    return out


def links(folder: Path) -> list[str]:
    found: list[str] = []
    for path in sorted((folder / "var" / "outbox" / "mail").rglob("*.eml")):
        msg = message_from_bytes(path.read_bytes(), policy=default_policy)
        html = msg.get_body(("html",)).get_content()  # type: ignore[union-attr]
        found.extend(re.findall(r'href="(http://127\.0\.0\.1:\d+/r/[^"]+)"', html))
    return list(dict.fromkeys(found))


# ----------------------------------------------------------------------- the server
def serve(config: Path, mode: str, port: int, threads: int) -> None:
    """The app under waitress (run in its own process: ``--serve``)."""
    from waitress import serve as waitress_serve

    from distributor.clock import process_clock
    from distributor.config import load_settings
    from distributor.store import Store
    from distributor.web import create_app
    from distributor.web.clicks import close_clicks

    settings = load_settings(config, environ={}, dotenv_path=config.parent / "no.env")
    clock = process_clock(os.environ)
    store = Store.open(settings.database_url)
    app = create_app(settings, store)
    app.config["DISTRIBUTOR_CLOCK"] = clock
    # the parent stops this server with SIGINT; a shell's background job starts with SIGINT
    # ignored (and Python then keeps it ignored), so put Python's handler back
    signal.signal(signal.SIGINT, signal.default_int_handler)
    if mode == "naive":
        app.extensions["distributor"]["clicks"] = naive_recorder(settings, store, clock)
    elif mode == "floor":
        app.extensions["distributor"]["clicks"] = floor_recorder(settings, store, clock)
    try:
        waitress_serve(app, host="127.0.0.1", port=port, threads=threads, ident="bench")
    finally:
        close_clicks(app)
        store.close()


def naive_recorder(settings: Any, store: Any, clock: Any) -> Any:
    """The same endpoint keeping one raw row per click (one commit each)."""
    from sqlalchemy import text

    from distributor.service.clicks import ClickRecorder

    with store.engine.begin() as conn:
        conn.execute(
            text(
                "CREATE TABLE IF NOT EXISTS raw_clicks (id INTEGER PRIMARY KEY, edition_id INT,"
                " story_index INT, kind TEXT, network TEXT, at TIMESTAMP, client TEXT, agent TEXT)"
            )
        )

    class Naive(ClickRecorder):
        def _count(
            self, tok: Any, target: Any, reader: Any, method: str, ua: str, client: str
        ) -> Any:
            with self.store.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO raw_clicks (edition_id, story_index, kind, network, at,"
                        " client, agent) VALUES (:e, :i, :k, :n, :at, :c, :a)"
                    ),
                    {
                        "e": tok.edition_id,
                        "i": tok.index,
                        "k": tok.kind,
                        "n": tok.network,
                        "at": self.clock().isoformat(),
                        "c": client,
                        "a": ua,
                    },
                )
            return "click"

    return Naive(settings, store, clock, background=False)


def floor_recorder(settings: Any, store: Any, clock: Any) -> Any:
    """The same endpoint recording nothing: what waitress, Flask and the token cost."""
    from distributor.service.clicks import ClickRecorder

    class Floor(ClickRecorder):
        def _count(
            self, tok: Any, target: Any, reader: Any, method: str, ua: str, client: str
        ) -> Any:
            return "click"

    return Floor(settings, store, clock, background=False)


# ---------------------------------------------------------------------- the clients
def client(port: int, urls: list[str], seconds: float, conns: int, seed: int, out: Any) -> None:
    """``conns`` keep-alive connections driven by one selector loop (no threads, no
    http.client: the load generator shares the 2 cores with the server, so it must be
    cheap); sends (count, errors, latencies in ms, CPU seconds) back."""
    import resource
    import selectors
    import socket

    paths = [urlsplit(u).path for u in urls]
    host = f"127.0.0.1:{port}"
    sel = selectors.DefaultSelector()
    latencies: list[float] = []
    errors = 0
    sent = [0]
    stop_at = time.perf_counter() + seconds

    def request(n: int) -> bytes:
        i = sent[0]
        sent[0] += 1
        path = paths[(i * 7919 + seed) % len(paths)]
        # each request a different reader (its own browser string)
        agent = f"Mozilla/5.0 (reader {seed}-{n}-{i}) Chrome/131"
        return f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {agent}\r\n\r\n".encode()

    def connect(n: int) -> None:
        sock = socket.create_connection(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setblocking(False)
        state = {"n": n, "buf": b"", "t0": time.perf_counter()}
        sock.send(request(n))
        sel.register(sock, selectors.EVENT_READ, state)

    for n in range(conns):
        connect(n)
    while sel.get_map():
        for key, _ev in sel.select(timeout=1.0):
            sock = cast(Any, key.fileobj)
            state = key.data
            try:
                chunk = sock.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if not chunk:  # closed by the server: count it and open another
                errors += 1
                sel.unregister(sock)
                sock.close()
                if time.perf_counter() < stop_at:
                    connect(state["n"])
                continue
            buf = state["buf"] + chunk
            head_end = buf.find(b"\r\n\r\n")
            if head_end < 0:
                state["buf"] = buf
                continue
            head = buf[:head_end].lower()
            at = head.find(b"content-length:")
            length = int(head[at + 15 : head.find(b"\r\n", at)]) if at >= 0 else 0
            if len(buf) < head_end + 4 + length:
                state["buf"] = buf
                continue
            now = time.perf_counter()
            if buf[9:12] == b"302":
                latencies.append((now - state["t0"]) * 1000)
            else:
                errors += 1
            state["buf"] = buf[head_end + 4 + length :]
            if now >= stop_at:
                sel.unregister(sock)
                sock.close()
                continue
            state["t0"] = now
            sock.send(request(state["n"]))
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out.put((len(latencies), errors, latencies, usage.ru_utime + usage.ru_stime))


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_up(port: int, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit("server did not start")


def measure(folder: Path, mode: str, urls: list[str], args: argparse.Namespace) -> dict[str, Any]:
    port = free_port()
    flush = 0.0 if mode == "upsert" else 0.5
    config = write_config(folder, port, flush)
    # the links name the run's port; the path is all a client needs
    proc = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--serve",
            mode,
            str(config),
            str(port),
            str(args.server_threads),
        ],
        env=env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_up(port, proc)
        before = rows(folder)
        load = os.getloadavg()[0]
        server_cpu0 = cpu_seconds(proc.pid)
        spy = None
        if args.profile:  # py-spy (the test extra) samples the server while it serves
            spy = subprocess.Popen(
                [
                    str(Path(sys.executable).with_name("py-spy")),
                    "record",
                    "--pid",
                    str(proc.pid),
                    "--format",
                    "raw",
                    "--rate",
                    "200",
                    "--output",
                    str(Path(args.profile) / f"{mode}.txt"),
                    "--duration",
                    str(int(args.seconds)),
                    "--nonblocking",
                    "--gil",
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        queue: Any = mp.Queue()
        t0 = time.perf_counter()
        clients = [
            mp.Process(target=client, args=(port, urls, args.seconds, args.connections, k, queue))
            for k in range(args.clients)
        ]
        for c in clients:
            c.start()
        results = [queue.get() for _ in clients]
        for c in clients:
            c.join()
        wall = time.perf_counter() - t0
        server_cpu = cpu_seconds(proc.pid) - server_cpu0
        if spy is not None:
            spy.wait(60)
        load_after = os.getloadavg()[0]
    finally:
        proc.send_signal(signal.SIGINT)  # the server writes the clicks it still holds
        proc.wait(30)
    done = sum(r[0] for r in results)
    errors = sum(r[1] for r in results)
    lat = sorted(x for r in results for x in r[2])
    after = rows(folder)
    return {
        "mode": mode,
        "clicks": done,
        "errors": errors,
        "clicks_per_s": round(done / wall, 1),
        "p50_ms": round(statistics.median(lat), 2) if lat else None,
        "p99_ms": round(lat[int(len(lat) * 0.99) - 1], 2) if lat else None,
        "recorded": after["recorded"] - before["recorded"],
        "rows_added": after["rows"] - before["rows"],
        # the machine is shared: the load when the way started and ended, and the CPU
        # the server and the load generator used (1.0 = one core for the whole time)
        "load_average_1min": round(load, 2),
        "load_average_1min_after": round(load_after, 2),
        "server_cpu_cores": round(server_cpu / wall, 2),
        "client_cpu_cores": round(sum(r[3] for r in results) / wall, 2),
        "server_cpu_us_per_click": round(server_cpu / max(done, 1) * 1e6, 1),
    }


def rows(folder: Path) -> dict[str, int]:
    import sqlite3

    db = sqlite3.connect(folder / "bench.db")
    try:
        counts = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN kind != 'reader' THEN clicks + machine ELSE 0 END), 0) FROM click_counts"
        ).fetchone()
        try:
            raw = db.execute("SELECT COUNT(*) FROM raw_clicks").fetchone()[0]
        except sqlite3.OperationalError:
            raw = 0
        return {"rows": int(counts[0]) + int(raw), "recorded": int(counts[1]) + int(raw)}
    finally:
        db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0, help="clicking time per way")
    parser.add_argument("--clients", type=int, default=2, help="client processes")
    parser.add_argument(
        "--connections", type=int, default=8, help="keep-alive connections per client process"
    )
    parser.add_argument("--server-threads", type=int, default=8, help="waitress threads")
    parser.add_argument("--modes", default="floor,batched,upsert,naive")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="sample the server with py-spy into DIR/<mode>.txt (collapsed stacks)",
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        port = free_port()
        config = write_config(folder, port, 0.5)
        run = subprocess.run(
            [sys.executable, "-m", "distributor", "--config", str(config), "run"],
            env=env(),
            capture_output=True,
            text=True,
            timeout=600,
        )
        if run.returncode != 0:
            raise SystemExit(run.stderr)
        urls = links(folder)
        print(f"{len(urls)} distinct /r/ links from the run's digests", flush=True)
        figures: dict[str, Any] = {"links": len(urls), "cpu_count": os.cpu_count()}
        for mode in args.modes.split(","):
            result = measure(folder, mode, urls, args)
            print(json.dumps(result), flush=True)
            for key, value in result.items():
                if key != "mode":
                    figures[f"{mode}_{key}"] = value
    if "batched_clicks_per_s" in figures and "naive_clicks_per_s" in figures:
        figures["batched_vs_naive"] = round(
            figures["batched_clicks_per_s"] / max(figures["naive_clicks_per_s"], 0.1), 2
        )
    if "upsert_clicks_per_s" in figures and "naive_clicks_per_s" in figures:
        figures["upsert_vs_naive"] = round(
            figures["upsert_clicks_per_s"] / max(figures["naive_clicks_per_s"], 0.1), 2
        )
    if "batched_clicks_per_s" in figures and "floor_clicks_per_s" in figures:
        figures["batched_vs_floor"] = round(
            figures["batched_clicks_per_s"] / max(figures["floor_clicks_per_s"], 0.1), 2
        )
    figures["target_clicks_per_s"] = 2000
    figures["target_p99_ms"] = 50
    figures["meets_target"] = bool(
        figures.get("batched_clicks_per_s", 0) >= 2000
        and (figures.get("batched_p99_ms") or 1e9) < 50
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--serve":
        serve(Path(sys.argv[3]), sys.argv[2], int(sys.argv[4]), int(sys.argv[5]))
    else:
        main()
