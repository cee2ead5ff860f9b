"""Shared fixtures: a config on the sample newsroom, a real SMTP server, a fixed clock."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import pytest
import requests
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from distributor.config import Settings, load_settings
from distributor.models import Edition, Subscriber
from distributor.pipeline import Context
from distributor.store import Store

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "config" / "sample"
NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


def pinned_now(now: datetime = NOW) -> dict[str, str]:
    """Environment variables that pin "now" for a distributor process (or a click runner).

    The process's clock (``distributor.clock.process_clock``) then starts at
    ``now`` and ticks on from there: a test through a door controls the date as
    a test of the service does with ``clock=``.
    """
    return {"DISTRIBUTOR_TESTING": "1", "DISTRIBUTOR_TEST_NOW": now.isoformat()}


def write_config(
    tmp_path: Path,
    *,
    mail: str = 'provider = "file"',
    feed: str | Path = SAMPLE / "newsroom.atom.xml",
    subscribers: str | Path = SAMPLE / "subscribers.csv",
    social: str = '[social.outbox]\nprovider = "file"',
    extra: str = "",
    list_extra: str = "",
) -> Path:
    """A configuration file in ``tmp_path`` on the sample newsroom, data under tmp_path/var."""
    path = tmp_path / "distributor.toml"
    path.write_text(
        f"""
data_dir = "var"
{database_line(tmp_path, extra)}
{extra}
[newsroom]
name = "Meridian World News"
url = "https://news.example"
postal_address = "1 Example Square, Example City"

[web]
base_url = "https://news.example/newsletter"

[sources.meridian]
url = "{feed}"

[lists.daily]
title = "Meridian Daily"
from_address = "Meridian Daily <digest@news.example>"
mail = "main"
max_age_hours = 876000
subscribers_file = "{subscribers}"
{list_extra}

[mail.main]
{mail}

{social}
""",
        encoding="utf-8",
    )
    return path


ADMIN_URL = os.environ.get(
    "DISTRIBUTOR_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)

# The whole suite on PostgreSQL: with DISTRIBUTOR_TEST_DATABASE=postgresql every config the
# tests write (write_config and the areas' own writers, through database_line) points at a
# fresh PostgreSQL database of its own, copied from a template migrated once per process
# (CREATE DATABASE ... TEMPLATE is a file copy: far faster than migrating each time) and
# dropped when the test ends. Otherwise the configs keep the default SQLite file in data_dir.
TEST_DATABASE = os.environ.get("DISTRIBUTOR_TEST_DATABASE", "sqlite").strip().lower()
if TEST_DATABASE not in ("sqlite", "postgresql"):
    raise RuntimeError(
        f"DISTRIBUTOR_TEST_DATABASE must be sqlite or postgresql, not {TEST_DATABASE!r}"
    )


class PostgresDatabases:
    """Fresh PostgreSQL databases for the tests of one process (xdist-safe: unique names)."""

    def __init__(self, admin_url: str) -> None:
        self.admin_url = admin_url
        self.admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        self.template: str | None = None
        self.by_path: dict[Path, str] = {}

    def url(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    def _template(self) -> str:
        if self.template is None:
            name = f"distributor_tpl_{uuid.uuid4().hex[:12]}"
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
            Store.open(self.url(name)).close()  # migrated to head, then no connection left
            self.template = name
        return self.template

    def for_path(self, path: Path) -> str:
        """The database of the config written in ``path`` (one per directory)."""
        if path not in self.by_path:
            name = f"distributor_test_{uuid.uuid4().hex[:12]}"
            with self.admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{self._template()}"'))
            self.by_path[path] = name
        return self.url(self.by_path[path])

    def drop_test_databases(self) -> None:
        names, self.by_path = list(self.by_path.values()), {}
        with self.admin.connect() as conn:
            for name in names:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def close(self) -> None:
        self.drop_test_databases()
        if self.template is not None:
            with self.admin.connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.template}" WITH (FORCE)'))
        self.admin.dispose()


_postgres_databases: list[PostgresDatabases] = []  # the process's one instance, when in use


def readers_edition(store: Store, readers: int, now: datetime = NOW) -> Edition:
    """An edition of the ``daily`` list (key ``k``, English, no stories) to ``readers``
    new readers ``r0@example.org``, ``r1@example.org``...: one pending ledger row each."""
    subs = [Subscriber(0, f"r{i}@example.org", f"R {i}", "en") for i in range(readers)]
    store.add_subscribers("daily", subs, now)
    return store.create_edition(
        list_name="daily",
        key="k",
        language="en",
        stories=(),
        recipients=store.recipients("daily"),
        now=now,
    )


def database_line(tmp_path: Path, extra: str = "") -> str:
    """The ``database_url = ...`` line of a test config (empty: the default SQLite file)."""
    if TEST_DATABASE != "postgresql" or "database_url" in extra:
        return ""
    if not _postgres_databases:
        _postgres_databases.append(PostgresDatabases(ADMIN_URL))
    return f'database_url = "{_postgres_databases[0].for_path(tmp_path.resolve())}"'


@pytest.fixture(autouse=True)
def _drop_postgres_test_databases() -> Iterator[None]:
    yield
    if _postgres_databases:
        _postgres_databases[0].drop_test_databases()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    while _postgres_databases:
        _postgres_databases.pop().close()


# PostgreSQL tests: a fresh database per test on this server (DISTRIBUTOR_TEST_POSTGRES_URL).
# Outside CI they skip with the reason when no server answers; in CI that is a failure.
@pytest.fixture
def pg_url() -> Iterator[str]:
    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text("select 1"))
    except Exception as err:
        admin.dispose()
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required in CI and did not answer: {err}")
        pytest.skip(f"no PostgreSQL server at {make_url(ADMIN_URL).host}: {err}")
    name = f"distributor_test_{uuid.uuid4().hex[:12]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _fake_clock_environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k == "LD_PRELOAD" or k.startswith("FAKETIME")}


def browser_environment() -> dict[str, str]:
    """The environment for Chromium (``launch(env=...)``): this one without libfaketime.

    Chromium stalls under libfaketime, and a reader's clock is not the server's
    anyway, so under ``make test-future`` the browser keeps the real time. Only
    the child's environment changes: libfaketime re-reads ``FAKETIME`` from the
    environment of *this* process every few seconds, so unsetting it here (as a
    context manager once did) moved the test process's own wall clock 400 days
    back during a browser test and forward again just after it, and every
    session cookie signed on one side of that jump was refused on the other.
    """
    return {
        k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.startswith("FAKETIME")
    }


WALL_CLOCK_JUMP = 30.0  # seconds; a jump that large in one test is a moved clock, not drift


def _wall_minus_monotonic() -> float:
    return time.time() - time.monotonic()


@pytest.fixture(autouse=True)
def _the_test_process_keeps_its_clock() -> Iterator[None]:
    """No test may move the wall clock of its own process (see :func:`browser_environment`).

    Two checks: libfaketime's variables are the same after the test as before,
    and the wall clock kept pace with the monotonic one during it (a test that
    unset ``FAKETIME`` and set it back makes the clock jump even so).
    """
    before = _fake_clock_environment()
    offset = _wall_minus_monotonic()
    yield
    after = _fake_clock_environment()
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, (
        f"this test changed {changed} in the test process: libfaketime would move the "
        "wall clock of every later test in this worker (give the child its own env=)"
    )
    jump = _wall_minus_monotonic() - offset
    assert abs(jump) < WALL_CLOCK_JUMP, (
        f"the wall clock of this test process jumped {jump:+.0f} s during the test "
        "(libfaketime re-reads FAKETIME from this process's environment every 10 s: "
        "did a test change it?)"
    )


def settings_for(path: Path, env: dict[str, str] | None = None) -> Settings:
    return load_settings(path, environ=env or {}, dotenv_path=path.parent / "no.env")


@pytest.fixture
def clock() -> Any:
    return lambda: NOW


@pytest.fixture
def make_context(clock: Any) -> Iterator[Any]:
    opened: list[Context] = []

    def make(settings: Settings) -> Context:
        ctx = Context(
            settings=settings,
            store=Store.open(settings.database_url),
            session=requests.Session(),
            clock=clock,
        )
        opened.append(ctx)
        return ctx

    yield make
    for ctx in opened:
        ctx.close()
        ctx.session.close()
        ctx.store.close()


@dataclass
class SmtpRecorder:
    """An aiosmtpd handler that keeps what it receives and refuses what it is told to."""

    messages: list[tuple[Envelope, EmailMessage]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)  # address -> SMTP reply
    data_reply: dict[str, str] = field(default_factory=dict)  # address -> reply to DATA
    hang: set[str] = field(default_factory=set)  # addresses whose DATA never gets a reply
    hanging: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        for rcpt in envelope.rcpt_tos:
            if rcpt in self.hang:
                self.hanging.set()
                await asyncio.sleep(30)
                return "451 4.3.0 gave up"
            if rcpt in self.data_reply:
                return self.data_reply[rcpt]
        msg = message_from_bytes(envelope.content, policy=default_policy)
        assert isinstance(msg, EmailMessage)
        with self.lock:
            self.messages.append((envelope, msg))
        return f"250 2.0.0 Ok: queued as {len(self.messages)}"

    def by_recipient(self) -> dict[str, EmailMessage]:
        return {env.rcpt_tos[0]: msg for env, msg in self.messages}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp_server() -> Iterator[tuple[Controller, SmtpRecorder]]:
    recorder = SmtpRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        yield controller, recorder
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def tls_ca() -> Any:
    import trustme

    return trustme.CA()


@pytest.fixture
def smtp_tls_server(tls_ca: Any, tmp_path: Path) -> Iterator[tuple[Controller, SmtpRecorder, Path]]:
    """STARTTLS required, AUTH (user 'digest', password 's3cret') only after TLS."""
    cert = tls_ca.issue_cert("127.0.0.1", "localhost")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(server_ctx)
    ca_file = tmp_path / "ca.pem"
    tls_ca.cert_pem.write_to_path(str(ca_file))

    def authenticator(
        server: Any, session: Any, envelope: Any, mechanism: str, auth_data: Any
    ) -> AuthResult:
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login == b"digest" and auth_data.password == b"s3cret"
        )
        return AuthResult(success=ok, handled=False)

    recorder = SmtpRecorder()
    controller = Controller(
        recorder,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=server_ctx,
        require_starttls=True,
        authenticator=authenticator,
        auth_required=True,
        auth_require_tls=True,
        auth_exclude_mechanism=["LOGIN"],
    )
    controller.start()
    try:
        yield controller, recorder, ca_file
    finally:
        controller.stop()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The PostgreSQL pass leaves out the tests that always use PostgreSQL (``pg_url``):
    they ran, on the same server, in the default pass, and would only run twice."""
    if TEST_DATABASE != "postgresql":
        return
    keep = [i for i in items if "pg_url" not in getattr(i, "fixturenames", ())]
    if len(keep) != len(items):
        config.hook.pytest_deselected(items=[i for i in items if i not in keep])
        items[:] = keep
