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
from distributor.models import DeliveryResult, Subscriber
from distributor.store import Store, migrate
from distributor.store import schema as s
from tests.conftest import readers_edition, write_config

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
    """A database as the first migrated build left it (``0001``) reaches head: the claim
    index of ``0002`` has become the partial index of ``0006``."""
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
        assert "ix_deliveries_unsent" in indexes
        assert not indexes & {"ix_deliveries_claim", "ix_deliveries_state"}
        assert migrate.differences(engine) == []
    finally:
        engine.dispose()


def _ledger_of_three(url: str) -> None:
    """An edition of three readers: one sent, one failed, one pending."""
    store = Store.open(url)
    try:
        edition = readers_edition(store, 3, NOW)
        claimed = store.claim_deliveries(edition, 2, NOW)
        store.record_deliveries(
            claimed,
            [
                DeliveryResult.sent(claimed[0].key, provider_id="<p@mg>"),
                DeliveryResult.failed(claimed[1].key, "mailbox full", retryable=True),
            ],
            NOW,
        )
    finally:
        store.close()


def test_unsent_index_migration_keeps_the_ledger_and_its_claims(db_url: str) -> None:
    """``0006`` on a database with a ledger (at ``0003``): the rows are kept, the partial
    index holds only the rows not sent, claims and counts work; down again restores the
    claim index."""
    engine = create_engine(db_url)
    try:
        migrate.upgrade(engine, migrate.BASELINE)
        migrate.upgrade(engine, "0003_planned_editions")
    finally:
        engine.dispose()
    # the ledger written by the code of 0003's time: the claim index on every row
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                insert(s.subscribers),
                [
                    {
                        "email": f"old{i}@example.org",
                        "name": "",
                        "language": "en",
                        "topics": [],
                        "created_at": NOW,
                    }
                    for i in range(3)
                ],
            )
            conn.execute(
                insert(s.editions).values(
                    list_name="daily", key="old", language="en", segment="", created_at=NOW
                )
            )
            eid = conn.execute(select(func.max(s.editions.c.id))).scalar_one()
            sids = conn.execute(select(s.subscribers.c.id).order_by(s.subscribers.c.id)).scalars()
            conn.execute(
                insert(s.deliveries),
                [
                    {
                        "edition_id": eid,
                        "subscriber_id": sid,
                        "email": f"old{i}@example.org",
                        "state": state,
                        "attempts": 1 if state == "sent" else 0,
                        "message_id": "<m@x>" if state == "sent" else None,
                        "retryable": False,
                        "updated_at": NOW,
                    }
                    for i, (sid, state) in enumerate(
                        zip(sids, ["sent", "pending", "pending"], strict=True)
                    )
                ],
            )
        assert "ix_deliveries_claim" in {
            i["name"] for i in inspect(engine).get_indexes("deliveries")
        }
    finally:
        engine.dispose()
    store = Store.open(db_url)  # to head
    try:
        indexes = {i["name"]: i for i in inspect(store.engine).get_indexes("deliveries")}
        assert "ix_deliveries_unsent" in indexes and "ix_deliveries_claim" not in indexes
        assert indexes["ix_deliveries_unsent"]["column_names"] == ["edition_id", "id"]
        assert migrate.differences(store.engine) == []
        with store.engine.connect() as conn:
            # the index holds the two rows not sent, not the sent one (the planner may read
            # the table instead on three rows, so the index's content is asked directly)
            if store.engine.dialect.name == "sqlite":
                sql = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = 'ix_deliveries_unsent'"
                ).scalar_one()
            else:
                sql = conn.exec_driver_sql(
                    "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_deliveries_unsent'"
                ).scalar_one()
            assert sql.rstrip().endswith("WHERE unsent")  # 0008: on the generated flag
            kept = conn.execute(
                select(s.deliveries.c.state, s.deliveries.c.message_id).order_by(s.deliveries.c.id)
            ).all()
        assert [tuple(r) for r in kept] == [("sent", "<m@x>"), ("pending", None), ("pending", None)]
        edition = store.edition(int(eid))
        claimed = store.claim_deliveries(edition, 10, NOW)
        assert [c.email for c in claimed] == ["old1@example.org", "old2@example.org"]
        store.record_deliveries(claimed, [DeliveryResult.sent(claimed[0].key)], NOW)
        counts = store.delivery_counts([edition.id])
        assert (counts.sent, counts.unknown, counts.pending) == (2, 1, 0)
    finally:
        store.close()
    _ledger_of_three(db_url)  # the new code on the migrated database
    engine = create_engine(db_url)
    try:
        migrate.downgrade(engine, "0003_planned_editions")
        indexes = {i["name"] for i in inspect(engine).get_indexes("deliveries")}
        assert "ix_deliveries_claim" in indexes and "ix_deliveries_unsent" not in indexes
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(s.deliveries)).scalar_one() == 6
    finally:
        engine.dispose()


def test_ledger_loses_its_foreign_keys_and_keeps_its_rows(db_url: str) -> None:
    """``0007`` drops the ledger's two foreign keys (rows, ids, unique key and the partial
    claim index kept; SQLite rebuilds the table); down to ``0006`` puts them back."""
    _ledger_of_three(db_url)  # at head
    engine = create_engine(db_url)
    try:

        def ledger() -> tuple[list[object], set[str], list[tuple[object, ...]]]:
            found = inspect(engine)
            keys = sorted(str(fk["referred_table"]) for fk in found.get_foreign_keys("deliveries"))
            with engine.connect() as conn:
                rows = conn.execute(
                    select(s.deliveries.c.id, s.deliveries.c.email, s.deliveries.c.state).order_by(
                        s.deliveries.c.id
                    )
                ).all()
            return (
                keys,
                {str(i["name"]) for i in found.get_indexes("deliveries")},
                [tuple(r) for r in rows],
            )

        keys, indexes, rows = ledger()
        assert keys == [] and "ix_deliveries_unsent" in indexes and len(rows) == 3
        migrate.downgrade(engine, "0006_deliveries_unsent_index")
        engine.dispose()
        back, indexes_back, rows_back = ledger()
        assert back == ["editions", "subscribers"]
        assert "ix_deliveries_unsent" in indexes_back and rows_back == rows
        migrate.upgrade(engine)
        engine.dispose()
        again, indexes_again, rows_again = ledger()
        assert again == [] and "ix_deliveries_unsent" in indexes_again and rows_again == rows
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
        match=rf"no revision, this version needs {migrate.head_revision()}: run `distributor db upgrade`",
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
