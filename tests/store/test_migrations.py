"""Alembic migrations on SQLite and PostgreSQL: head is exactly ``schema.metadata``.

The PostgreSQL cases use the ``pg_url`` fixture (a fresh, empty database per test).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import create_engine, func, insert, inspect, select, text

from distributor.cli import main
from distributor.errors import StoreError
from distributor.models import Subscriber
from distributor.store import Store, migrate
from distributor.store import schema as s
from tests.conftest import write_config

NOW = datetime(2026, 11, 28, 7, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
    else:
        yield request.getfixturevalue("pg_url")


def _tables(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_head_is_exactly_the_schema(db_url: str) -> None:
    """Fails when schema.py changes without a revision: add one under store/migrations."""
    store = Store.open(db_url)
    try:
        assert migrate.differences(store.engine) == []
        state = migrate.status(store.engine)
        assert state.up_to_date and state.current == migrate.head_revision()
    finally:
        store.close()
    assert _tables(db_url) == set(s.metadata.tables) | {"alembic_version"}


def test_downgrade_to_base_then_upgrade_again(db_url: str) -> None:
    store = Store.open(db_url)
    try:
        down = migrate.downgrade(store.engine, "base")
        assert down.current is None
        assert _tables(db_url) <= {"alembic_version"}
        up = migrate.upgrade(store.engine)
        assert up.current == up.head
        assert migrate.differences(store.engine) == []
        reader = Subscriber(id=0, email="a@example.org", name="A", language="en")
        assert store.add_subscribers("daily", [reader], NOW) == (1, 0)
        assert [r.email for r in store.recipients("daily")] == ["a@example.org"]
    finally:
        store.close()


def test_database_made_by_create_all_is_stamped_and_kept(db_url: str) -> None:
    engine = create_engine(db_url)
    s.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            insert(s.subscribers).values(
                email="kept@example.org", name="", language="en", topics=[], created_at=NOW
            )
        )
    engine.dispose()

    store = Store.open(db_url)
    try:
        # stamped at the baseline, then brought to head
        assert migrate.status(store.engine).current == migrate.head_revision()
        assert migrate.differences(store.engine) == []
        with store.engine.connect() as conn:
            emails = conn.execute(select(s.subscribers.c.email)).scalars().all()
        assert emails == ["kept@example.org"]
    finally:
        store.close()


def test_database_of_the_baseline_build_gets_the_claim_index(db_url: str) -> None:
    """A database as the first migrated build left it (``0001``) reaches head (``0002``)."""
    engine = create_engine(db_url)
    try:
        migrate.upgrade(engine, migrate.BASELINE)
        indexes = {i["name"] for i in inspect(engine).get_indexes("deliveries")}
        assert "ix_deliveries_state" in indexes and "ix_deliveries_claim" not in indexes
    finally:
        engine.dispose()
    Store.open(db_url).close()
    engine = create_engine(db_url)
    try:
        indexes = {i["name"] for i in inspect(engine).get_indexes("deliveries")}
        assert "ix_deliveries_claim" in indexes and "ix_deliveries_state" not in indexes
        assert migrate.differences(engine) == []
    finally:
        engine.dispose()


def test_unversioned_database_that_differs_is_refused_with_the_reason(db_url: str) -> None:
    engine = create_engine(db_url)
    s.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE schedule_paused"))
        conn.execute(text("ALTER TABLE runs ADD COLUMN notes TEXT"))
    engine.dispose()
    with pytest.raises(StoreError) as err:
        Store.open(db_url)
    message = str(err.value)
    assert "no migration history" in message
    assert "missing tables schedule_paused" in message and "runs (+notes)" in message
    assert "distributor db stamp 0001_baseline" in message
    assert "alembic_version" not in _tables(db_url)  # nothing was stamped


def test_open_without_upgrade_refuses_a_database_behind(db_url: str) -> None:
    with pytest.raises(
        StoreError,
        match=r"no revision, this version needs 0004_click_counts: run `distributor db upgrade`",
    ):
        Store.open(db_url, upgrade=False)
    Store.open(db_url).close()
    Store.open(db_url, upgrade=False).close()


def _version_rows(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.execute(text("SELECT version_num FROM alembic_version")).scalars())
    finally:
        engine.dispose()


def test_concurrent_open_on_postgres_from_processes_and_threads(pg_url: str) -> None:
    """Several processes and threads migrating one empty database at once: one migrates."""
    script = "import sys; from distributor.store import Store; Store.open(sys.argv[1]).close()"
    procs = [
        subprocess.Popen([sys.executable, "-c", script, pg_url], stderr=subprocess.PIPE)
        for _ in range(4)
    ]
    errors: list[BaseException] = []

    def open_close() -> None:
        try:
            Store.open(pg_url).close()
        except BaseException as err:  # collected and asserted below
            errors.append(err)

    threads = [threading.Thread(target=open_close) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    outcomes = [(p.communicate(timeout=60)[1].decode(), p.returncode) for p in procs]
    assert errors == [], errors
    assert [code for _, code in outcomes] == [0] * 4, outcomes
    assert _version_rows(pg_url) == [migrate.head_revision()]
    engine = create_engine(pg_url)
    try:
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(s.stories)).scalar_one() == 0
    finally:
        engine.dispose()


# ------------------------------------------------------------------- the CLI


def _cli(config: Path, *args: str) -> Result:
    return CliRunner().invoke(main, ["--config", str(config), *args])


def _config(tmp_path: Path, db_url: str) -> Path:
    return write_config(tmp_path, extra=f'database_url = "{db_url}"')


def test_db_commands(tmp_path: Path, db_url: str) -> None:
    config = _config(tmp_path, db_url)
    head = migrate.head_revision()

    current = _cli(config, "db", "current", "--json")
    assert current.exit_code == 0, current.stderr
    assert json.loads(current.stdout) == {
        "current": None,
        "head": head,
        "up_to_date": False,
        "unversioned": False,
    }

    behind = _cli(config, "db", "check")
    assert behind.exit_code == 1
    assert behind.stderr.strip().splitlines() == [
        f"distributor: error: the database schema is at no revision, this version needs {head}:"
        " run `distributor db upgrade`"
    ]

    upgraded = _cli(config, "db", "upgrade")
    assert upgraded.exit_code == 0, upgraded.stderr
    assert upgraded.stdout.strip() == f"database upgraded: empty -> {head}"
    again = _cli(config, "db", "upgrade", "--json")
    assert json.loads(again.stdout)["from"] == head and json.loads(again.stdout)["up_to_date"]

    ok = _cli(config, "db", "check")
    assert ok.exit_code == 0 and ok.stdout.strip() == f"database schema up to date ({head})"
    human = _cli(config, "db", "current")
    assert human.stdout.splitlines() == [f"current: {head}", f"head:    {head}"]


def test_db_check_reports_drift_at_head(tmp_path: Path, db_url: str) -> None:
    Store.open(db_url).close()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("DROP INDEX ix_stories_group"))
    engine.dispose()
    out = _cli(_config(tmp_path, db_url), "db", "check")
    assert out.exit_code == 1
    assert len(out.stderr.strip().splitlines()) == 1
    assert "differs from it in 1 place(s)" in out.stderr and "ix_stories_group" in out.stderr


def test_tables_of_others_are_not_drift(tmp_path: Path, db_url: str) -> None:
    """APScheduler keeps its jobs in the same database; that is not a schema difference."""
    Store.open(db_url).close()
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE apscheduler_jobs (id VARCHAR(191) PRIMARY KEY)"))
    engine.dispose()
    out = _cli(_config(tmp_path, db_url), "db", "check")
    assert out.exit_code == 0, out.stderr


def test_db_stamp_adopts_a_database_fixed_by_hand(tmp_path: Path, db_url: str) -> None:
    engine = create_engine(db_url)
    s.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE runs ADD COLUMN notes TEXT"))
    engine.dispose()
    config = _config(tmp_path, db_url)
    refused = _cli(config, "subscribers", "list", "--json")
    assert refused.exit_code == 1 and "runs (+notes)" in refused.stderr

    stamped = _cli(config, "db", "stamp", migrate.BASELINE)
    assert stamped.exit_code == 0, stamped.stderr
    assert stamped.stdout.strip() == f"database stamped at {migrate.BASELINE}"
    listed = _cli(config, "subscribers", "list", "--json")
    assert listed.exit_code == 0, listed.stderr

    bad = _cli(config, "db", "stamp", "no_such_revision")
    assert bad.exit_code == 1 and "cannot stamp the database" in bad.stderr


def test_auto_upgrade_off_leaves_the_upgrade_to_db_upgrade(tmp_path: Path) -> None:
    config = write_config(
        tmp_path,
        extra=f'database_url = "sqlite:///{tmp_path / "d.db"}"\ndatabase_auto_upgrade = false',
    )
    refused = _cli(config, "subscribers", "list", "--json")
    assert refused.exit_code == 1
    assert "run `distributor db upgrade`" in refused.stderr
    assert _cli(config, "db", "upgrade").exit_code == 0
    listed = _cli(config, "subscribers", "list", "--json")
    assert listed.exit_code == 0, listed.stderr
    assert json.loads(listed.stdout) == []
