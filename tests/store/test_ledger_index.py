"""The ledger's claim index (issue 20): on the generated ``unsent`` flag, used by claims on
both databases, and claims and non-sent outcomes are HOT updates on PostgreSQL.

The PostgreSQL cases use the ``pg_url`` fixture (a fresh, empty database per test).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Connection, create_engine, inspect, select, text

from distributor.models import DeliveryResult, Subscriber
from distributor.store import Store, claims, migrate
from distributor.store import schema as s
from tests.conftest import readers_edition

NOW = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
BEFORE = "0007_deliveries_no_foreign_keys"


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of each kind."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
    else:
        yield request.getfixturevalue("pg_url")


def _ledger(url: str) -> list[tuple[object, ...]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return [
                tuple(r)
                for r in conn.exec_driver_sql(
                    "SELECT id, email, state, error FROM deliveries ORDER BY id"
                )
            ]
    finally:
        engine.dispose()


def _index_sql(url: str) -> str:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                sql = "SELECT sql FROM sqlite_master WHERE name = 'ix_deliveries_unsent'"
            else:
                sql = "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_deliveries_unsent'"
            return str(conn.exec_driver_sql(sql).scalar_one())
    finally:
        engine.dispose()


def _fillfactor(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            options = conn.exec_driver_sql(
                "SELECT reloptions FROM pg_class WHERE relname = 'deliveries'"
            ).scalar_one()
            return list(options or [])
    finally:
        engine.dispose()


def test_migration_adds_the_flag_to_a_ledger_and_takes_it_away(db_url: str) -> None:
    """``0008`` on a ledger written at ``0007`` (one sent, one failed, one pending): the rows
    are kept, ``unsent`` is computed for them, the index's condition is the flag; down to
    ``0007`` the index is on ``state`` again and the column is gone; up again agrees with
    the schema."""
    engine = create_engine(db_url)
    try:
        migrate.upgrade(engine, BEFORE)
    finally:
        engine.dispose()
    engine = create_engine(db_url)
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO subscribers (email, name, language, topics, created_at)"
                " VALUES ('a@example.org', '', 'en', '[]', '2026-12-02 07:00:00'),"
                " ('b@example.org', '', 'en', '[]', '2026-12-02 07:00:00'),"
                " ('c@example.org', '', 'en', '[]', '2026-12-02 07:00:00')"
            )
            conn.exec_driver_sql(
                "INSERT INTO editions (list_name, key, language, segment, created_at)"
                " VALUES ('daily', 'old', 'en', '', '2026-12-02 07:00:00')"
            )
            conn.exec_driver_sql(
                "INSERT INTO deliveries (edition_id, subscriber_id, email, state, attempts,"
                " error, retryable, updated_at) SELECT 1, id, email,"
                " CASE email WHEN 'a@example.org' THEN 'sent' WHEN 'b@example.org'"
                " THEN 'failed' ELSE 'pending' END, 1, NULL, "
                + ("false" if engine.dialect.name == "postgresql" else "0")
                + ", '2026-12-02 07:00:00' FROM subscribers ORDER BY id"
            )
        assert "unsent" not in {c["name"] for c in inspect(engine).get_columns("deliveries")}
    finally:
        engine.dispose()
    rows = _ledger(db_url)
    postgres = db_url.startswith("postgresql")

    engine = create_engine(db_url)
    try:
        migrate.upgrade(engine)
    finally:
        engine.dispose()
    assert _ledger(db_url) == rows
    assert _index_sql(db_url).rstrip().endswith("WHERE unsent")
    if postgres:
        assert _fillfactor(db_url) == [f"fillfactor={s.DELIVERIES_FILLFACTOR}"]
    store = Store.open(db_url)
    try:
        assert migrate.differences(store.engine) == []
        with store.engine.connect() as conn:
            flags = conn.execute(
                select(s.deliveries.c.email, s.deliveries.c.unsent).order_by(s.deliveries.c.id)
            ).all()
        assert [tuple(f) for f in flags] == [
            ("a@example.org", False),
            ("b@example.org", True),
            ("c@example.org", True),
        ]
        edition = store.edition(1)
        claimed = store.claim_deliveries(edition, 10, NOW)
        assert [c.email for c in claimed] == ["c@example.org"]  # only the pending one
        store.release_deliveries(claimed, NOW)
    finally:
        store.close()

    engine = create_engine(db_url)
    try:
        migrate.downgrade(engine, BEFORE)
        assert "unsent" not in {c["name"] for c in inspect(engine).get_columns("deliveries")}
    finally:
        engine.dispose()
    assert _ledger(db_url) == rows
    assert (
        _index_sql(db_url)
        .rstrip()
        .endswith("WHERE ((state)::text <> 'sent'::text)" if postgres else "WHERE state <> 'sent'")
    )
    if postgres:
        assert _fillfactor(db_url) == []
    engine = create_engine(db_url)
    try:
        migrate.upgrade(engine)
        assert migrate.differences(engine) == []
    finally:
        engine.dispose()
    assert _ledger(db_url) == rows


def test_a_missing_or_plain_flag_is_drift(db_url: str) -> None:
    """Alembic leaves the generated column out of its comparison; ``differences`` checks it
    itself: without ``unsent``, or with a plain column of that name, the database differs."""
    engine = create_engine(db_url)
    try:
        migrate.upgrade(engine, BEFORE)

        def flag_drift() -> list[tuple[str, str]]:
            return [
                (str(d[0]), str(d[2]))
                for d in migrate.differences(engine)
                if d[0] in ("add_column", "modify_computed")
            ]

        assert flag_drift() == [("add_column", "deliveries")]
        with engine.begin() as conn:
            conn.exec_driver_sql("ALTER TABLE deliveries ADD COLUMN unsent BOOLEAN")
        assert flag_drift() == [("modify_computed", "deliveries")]
    finally:
        engine.dispose()


def _claim_plan(conn: Connection) -> str:
    """The query plan of the claim's selection of rows, as the database reports it."""
    params: Any
    if conn.dialect.name == "sqlite":
        sql = "EXPLAIN QUERY PLAN " + claims._SQLITE_CLAIM
        at = "2026-12-02 07:00:00.000000"
        params = (at, 1, at, 0, claims.LAST_ID, 1000)
        rows = conn.exec_driver_sql(sql, params).all()
        return "\n".join(str(r[-1]) for r in rows)
    conn.exec_driver_sql("SET LOCAL enable_seqscan = off")  # a tiny table: ask the index
    sql = "EXPLAIN " + claims._POSTGRES_CLAIM
    params = {"edition": 1, "now": NOW.replace(tzinfo=None), "first": 0}
    params |= {"last": claims.LAST_ID, "limit": 1000}
    return "\n".join(str(r[0]) for r in conn.exec_driver_sql(sql, params).all())


def test_claims_read_the_partial_index(db_url: str) -> None:
    """The claim's condition implies the index's (``unsent``), so both databases can use
    it: SQLite only when the query repeats the condition word for word."""
    store = Store.open(db_url)
    try:
        readers_edition(store, 3, NOW)
        with store.engine.begin() as conn:
            plan = _claim_plan(conn)
    finally:
        store.close()
    assert "ix_deliveries_unsent" in plan, plan


def test_unsent_is_the_index_condition_word_for_word() -> None:
    index = next(i for i in s.deliveries.indexes if i.name == "ix_deliveries_unsent")
    for where in ("sqlite_where", "postgresql_where"):
        assert str(index.kwargs[where]) == claims.UNSENT_CONDITION == str(claims.UNSENT)
    assert "state" not in {c.name for i in s.deliveries.indexes for c in i.columns}


def test_claims_and_outcomes_not_sent_are_hot_updates_on_postgres(pg_url: str) -> None:
    """A claim and the outcomes other than ``sent`` change no indexed column: PostgreSQL
    writes their new row versions on the same page with no new index entry (HOT). Counted
    from the transaction's own statistics (``pg_stat_xact_user_tables``), which need no
    flush: the claim and the record run in one transaction on one connection."""
    store = Store.open(pg_url)
    try:
        edition = readers_edition(store, 10, NOW)
        with store.engine.begin() as conn:
            claimed = claims.claim(conn, edition, 10, NOW, 0, claims.LAST_ID)
            assert len(claimed) == 10
            results = [
                DeliveryResult.sent(c.key, "p")
                if i < 4
                else DeliveryResult.failed(c.key, "full", retryable=True)
                if i < 7
                else DeliveryResult.unknown(c.key, "lost")
                for i, c in enumerate(claimed)
            ]
            claims.record(conn, claimed, results, NOW)
            updated, hot = conn.execute(
                text(
                    "SELECT n_tup_upd, n_tup_hot_upd FROM pg_stat_xact_user_tables"
                    " WHERE relname = 'deliveries'"
                )
            ).one()
        # 10 claims + 6 outcomes not sent are HOT; the 4 sent (``unsent`` changes) are not
        assert (updated, hot) == (20, 16)
        counts = store.delivery_counts([edition.id])
        assert (counts.sent, counts.failed, counts.unknown) == (4, 3, 3)
    finally:
        store.close()


def test_claim_reads_each_address_suppression(db_url: str) -> None:
    """A claimed row carries why its address is suppressed (since the edition was made),
    matched as ``Store.suppress`` stores it (Python's lower case): mixed-case ASCII and
    non-ASCII addresses alike; the others carry None."""
    store = Store.open(db_url)
    try:
        emails = ["Plain@Example.org", "IVAN@example.org", "Ünal@Example.org", "ok@example.org"]
        emails += ["ÉVE@example.org"]
        subs = [Subscriber(0, e, "", "en") for e in emails]
        store.add_subscribers("daily", subs, NOW)
        edition = store.create_edition(
            list_name="daily",
            key="k",
            language="en",
            stories=(),
            recipients=store.recipients("daily"),
            now=NOW,
        )
        # the store keeps addresses in lower case; a ledger written by other means may not
        with store.engine.begin() as conn:
            for email in emails:
                conn.execute(
                    s.deliveries.update()
                    .where(s.deliveries.c.email == email.lower())
                    .values(email=email)
                )
        store.suppress("plain@example.org", "hard bounce", NOW)
        store.suppress("Ivan@Example.org", "complaint", NOW)
        store.suppress("ünal@example.org", "unsubscribed", NOW)
        store.suppress("Éve@example.org", "hard bounce", NOW)  # stored as éve@example.org
        claimed = store.claim_deliveries(edition, 10, NOW)
    finally:
        store.close()
    assert {c.email: c.suppressed for c in claimed} == {
        "Plain@Example.org": "hard bounce",
        "IVAN@example.org": "complaint",
        "Ünal@Example.org": "unsubscribed",
        "ok@example.org": None,
        "ÉVE@example.org": "hard bounce",
    }
