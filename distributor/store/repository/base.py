"""What every group of the store's queries holds: the engine, its transactions and row
locks; and how a database is opened (schema check, SQLite pragmas)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from distributor.errors import StoreError
from distributor.store import migrate


class StoreBase:
    """The engine every group of queries works on; :class:`~distributor.store.Store`
    joins the groups."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def close(self) -> None:
        self.engine.dispose()

    @property
    def shared_by_threads(self) -> bool:
        """Whether several threads may use this store at once: every database but an
        in-memory SQLite one (each thread would see its own empty database)."""
        url = self.engine.url
        return not (url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:"))

    def _tx(self) -> Any:
        return self.engine.begin()

    def _locking(self, query: Any) -> Any:
        """``FOR UPDATE SKIP LOCKED`` where the database has row locks (not SQLite).

        Claims use it as a CTE (``WITH claim AS (SELECT ... LIMIT n FOR UPDATE SKIP
        LOCKED) UPDATE ... WHERE id IN (SELECT id FROM claim)``), never as a plain
        ``IN (subquery)``: PostgreSQL may re-run such a subquery for each row it updates,
        and each run skips the rows the earlier ones locked, so a claim of 2 took 5 rows.
        A CTE with a locking clause is evaluated once."""
        if self.engine.dialect.name == "sqlite":
            return query
        return query.with_for_update(skip_locked=True)


def _safe_url(url: str) -> str:
    """A database URL with any password masked."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<database url>"


def _bring_schema_to_head(engine: Engine, *, upgrade: bool) -> None:
    """Migrate to head (Alembic), or with ``upgrade=False`` only check that it is there."""
    if upgrade:
        migrate.upgrade(engine)
        return
    state = migrate.status(engine)
    if not state.up_to_date:
        raise StoreError(
            f"the schema is at {state.current or 'no revision'}, this version needs "
            f"{state.head}: run `distributor db upgrade`"
        )


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: a commit is not fsynced (the WAL is at checkpoints); a crash of the
    # process loses nothing, a power cut may lose the last commits, never corrupts.
    # With FULL, the ledger's two commits per batch cost more than everything else.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=10000")
    cur.close()
