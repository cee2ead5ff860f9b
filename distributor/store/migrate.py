"""Schema migrations (Alembic), driven from code: no ``alembic.ini`` is needed.

The revisions live in ``distributor/store/migrations/versions`` and ship with the
package, so an installed distributor can migrate its own database.

* :func:`upgrade` brings a database to the newest revision (``head``). On PostgreSQL it
  holds an advisory lock meanwhile, so several processes starting at once migrate once.
* A database made before migrations existed (tables from ``metadata.create_all``, no
  ``alembic_version``) is *adopted*: if its tables and columns are exactly those of the
  baseline revision it is stamped at the baseline and upgraded from there; otherwise
  :class:`~distributor.errors.StoreError` says what differs and what to do.
* :func:`status` reports where a database stands without changing it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Connection, Engine, inspect, text
from sqlalchemy.exc import SQLAlchemyError

from distributor.errors import StoreError
from distributor.store.schema import metadata

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
BASELINE = "0001_baseline"
VERSION_TABLE = "alembic_version"
#: the PostgreSQL advisory lock held while migrating (distinct from the scheduler's)
LOCK_KEY = int.from_bytes(
    hashlib.blake2b(b"distributor.migrations", digest_size=8).digest(), "big", signed=True
)

#: Columns later revisions add to baseline tables: a ``create_all`` database of a newer
#: build has them, and those revisions add only what is missing.
LATER_COLUMNS: dict[str, frozenset[str]] = {
    "editions": frozenset(["intro_html", "intro_text", "subject"]),  # 0003
    "deliveries": frozenset(["unsent"]),  # 0008
}

#: The tables and columns of the baseline revision, as ``metadata.create_all`` made them
#: before migrations existed. A pre-migration database must match this exactly to be adopted.
BASELINE_COLUMNS: dict[str, frozenset[str]] = {
    "stories": frozenset(
        [
            "id",
            "source",
            "url",
            "title",
            "language",
            "status",
            "published_at",
            "updated_at",
            "summary_html",
            "summary_text",
            "body_html",
            "image_url",
            "author",
            "sections",
            "translation_group",
            "content_hash",
            "first_seen_at",
            "last_seen_at",
            "pinned",
            "priority",
            "resend_updates",
            "excluded",
        ]
    ),
    "subscribers": frozenset(
        [
            "id",
            "email",
            "name",
            "language",
            "timezone",
            "topics",
            "created_at",
        ]
    ),
    "memberships": frozenset(
        [
            "list_name",
            "subscriber_id",
            "status",
            "updated_at",
        ]
    ),
    "suppressions": frozenset(
        [
            "email",
            "reason",
            "created_at",
        ]
    ),
    "editions": frozenset(
        [
            "id",
            "list_name",
            "key",
            "language",
            "segment",
            "created_at",
        ]
    ),
    "edition_stories": frozenset(
        [
            "edition_id",
            "story_id",
            "group_key",
            "position",
        ]
    ),
    "deliveries": frozenset(
        [
            "id",
            "edition_id",
            "subscriber_id",
            "email",
            "state",
            "attempts",
            "message_id",
            "provider_id",
            "error",
            "retryable",
            "updated_at",
            "not_before",
        ]
    ),
    "posts": frozenset(
        [
            "id",
            "story_id",
            "channel",
            "language",
            "state",
            "attempts",
            "provider_id",
            "error",
            "retryable",
            "updated_at",
        ]
    ),
    "runs": frozenset(
        [
            "id",
            "started_at",
            "finished_at",
            "dry_run",
            "report",
        ]
    ),
    "source_state": frozenset(
        [
            "source",
            "url",
            "etag",
            "last_modified",
            "checked_at",
            "changed_at",
            "outcome",
        ]
    ),
    "soft_bounces": frozenset(
        [
            "email",
            "count",
            "last_reason",
            "updated_at",
        ]
    ),
    "webhook_events": frozenset(
        [
            "provider",
            "event_id",
            "received_at",
        ]
    ),
    "editors": frozenset(
        [
            "id",
            "email",
            "password_hash",
            "role",
            "created_at",
            "last_login_at",
        ]
    ),
    "api_tokens": frozenset(
        [
            "id",
            "name",
            "token_hash",
            "created_at",
            "last_used_at",
        ]
    ),
    "rate_limit_events": frozenset(
        [
            "id",
            "bucket",
            "at",
        ]
    ),
    "idempotency_keys": frozenset(
        [
            "id",
            "scope",
            "key",
            "request_hash",
            "status",
            "response",
            "created_at",
        ]
    ),
    "subscriber_preferences": frozenset(
        [
            "subscriber_id",
            "frequency",
        ]
    ),
    "schedule_slots": frozenset(
        [
            "id",
            "list_name",
            "slot_at",
            "local_time",
            "state",
            "edition_key",
            "reason",
            "owner",
            "summary",
            "created_at",
            "updated_at",
        ]
    ),
    "schedule_lease": frozenset(
        [
            "name",
            "owner",
            "expires_at",
            "acquired_at",
        ]
    ),
    "schedule_paused": frozenset(
        [
            "list_name",
            "paused_at",
        ]
    ),
}


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    """Where a database stands: its revision (None = no migration history) and the head."""

    current: str | None
    head: str
    #: tables exist but there is no ``alembic_version`` (made by ``create_all``)
    unversioned: bool = False

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head

    def to_dict(self) -> dict[str, object]:
        return {
            "current": self.current,
            "head": self.head,
            "up_to_date": self.up_to_date,
            "unversioned": self.unversioned,
        }


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration over the packaged migrations (and a connection, if given)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships the baseline
        raise StoreError("no migration revisions found in the distributor package")
    return head


def status(engine: Engine) -> SchemaStatus:
    """The database's revision and the newest one; changes nothing."""
    head = head_revision()
    try:
        with engine.connect() as conn:
            current = _current(conn)
            unversioned = current is None and bool(_our_tables(conn))
    except SQLAlchemyError as err:
        raise StoreError(f"cannot read the schema version: {err.__cause__ or err}") from err
    return SchemaStatus(current=current, head=head, unversioned=unversioned)


def upgrade(engine: Engine, revision: str = "heads") -> SchemaStatus:
    """Bring the database to ``revision`` (default: the newest), adopting a pre-migration one.

    Cheap when nothing is to do: one read of ``alembic_version``, no lock taken.
    """
    head = head_revision()
    try:
        if revision == "heads":
            with engine.connect() as conn:
                if _current(conn) == head:
                    return SchemaStatus(current=head, head=head)
        with engine.connect() as conn, conn.begin():
            # PostgreSQL: transactional DDL under a transaction-level advisory lock, so a
            # second process waits here and then finds the work done. SQLite: the file's
            # write lock serialises writers (busy_timeout makes the second one wait).
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            _adopt_unversioned(conn)
            command.upgrade(alembic_config(conn), revision)
            current = _current(conn)
    except StoreError:
        raise
    except SQLAlchemyError as err:
        raise StoreError(f"cannot migrate the database: {err.__cause__ or err}") from err
    return SchemaStatus(current=current, head=head)


def downgrade(engine: Engine, revision: str) -> SchemaStatus:
    """Take the database back to ``revision`` (``base`` drops every table)."""
    head = head_revision()
    try:
        with engine.connect() as conn, conn.begin():
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": LOCK_KEY})
            command.downgrade(alembic_config(conn), revision)
            current = _current(conn)
    except SQLAlchemyError as err:
        raise StoreError(f"cannot migrate the database: {err.__cause__ or err}") from err
    return SchemaStatus(current=current, head=head)


def compare_server_default(
    context: Any,
    inspected_column: Any,
    metadata_column: Any,
    inspected_default: str | None,
    metadata_default: Any,
    rendered_metadata_default: str | None,
) -> bool | None:
    """Alembic's default comparison, except that SQLite's ``('')`` equals ``''``."""
    if inspected_default is None or rendered_metadata_default is None:
        return None
    if _bare(inspected_default) == _bare(rendered_metadata_default):
        return False
    return None


def _bare(default: str) -> str:
    text_ = default.strip()
    while text_.startswith("(") and text_.endswith(")"):
        text_ = text_[1:-1].strip()
    return text_.strip("'\"")


def include_name(name: str | None, type_: str, parent_names: Any) -> bool:
    """Only our tables: others in the database (APScheduler's ``apscheduler_jobs``) are not
    part of the schema and must never show up as "to drop"."""
    return type_ != "table" or name in metadata.tables


#: the generated columns of the schema, as (table, column): Alembic (1.20) fails on them
#: while a server-default comparison function is set (it reads the reflected ``Computed``
#: as a plain default), so they are left out of its comparison and checked by
#: :func:`_computed_differences`
COMPUTED: frozenset[tuple[str, str]] = frozenset(
    (table.name, column.name)
    for table in metadata.tables.values()
    for column in table.columns
    if column.computed is not None
)


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """Every object but the generated columns (see :data:`COMPUTED`)."""
    return type_ != "column" or (obj.table.name, name) not in COMPUTED


#: the comparison options of env.py, shared with :func:`differences`
COMPARE_OPTIONS: dict[str, Any] = {
    "compare_type": True,
    "compare_server_default": compare_server_default,
    "include_name": include_name,
    "include_object": include_object,
}


def differences(engine: Engine) -> list[Any]:
    """What differs between the database and ``schema.metadata`` (empty: they agree).

    This is Alembic's autogenerate comparison: after ``upgrade`` it must be empty, or a
    change to ``schema.py`` has no revision yet.
    """
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts=dict(COMPARE_OPTIONS))
        return list(compare_metadata(context, metadata)) + _computed_differences(conn)


def _computed_differences(conn: Connection) -> list[Any]:
    """The generated columns missing, or present as plain or not stored columns, in the
    form of Alembic's differences (``add_column``, ``modify_computed``)."""
    found: list[Any] = []
    insp = inspect(conn)
    tables = set(insp.get_table_names())
    for table_name, column_name in sorted(COMPUTED):
        if table_name not in tables:
            continue  # Alembic reports the missing table
        wanted = metadata.tables[table_name].columns[column_name]
        columns = {c["name"]: c for c in insp.get_columns(table_name)}
        column = columns.get(column_name)
        if column is None:
            found.append(("add_column", None, table_name, wanted))
            continue
        computed = column.get("computed")
        if computed is None or not computed.get("persisted", False):
            found.append(("modify_computed", None, table_name, column_name, computed, wanted))
    return found


def stamp(engine: Engine, revision: str) -> SchemaStatus:
    """Record ``revision`` as the database's revision without running anything."""
    head = head_revision()
    try:
        with engine.connect() as conn, conn.begin():
            command.stamp(alembic_config(conn), revision)
            current = _current(conn)
    except CommandError as err:
        raise StoreError(f"cannot stamp the database: {err}") from err
    except SQLAlchemyError as err:
        raise StoreError(f"cannot stamp the database: {err.__cause__ or err}") from err
    return SchemaStatus(current=current, head=head)


def _current(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def _our_tables(conn: Connection) -> set[str]:
    return set(inspect(conn).get_table_names()) & set(BASELINE_COLUMNS)


def _adopt_unversioned(conn: Connection) -> None:
    """Stamp a ``create_all`` database at the baseline, or refuse it with the reason."""
    if _current(conn) is not None:
        return
    present = _our_tables(conn)
    if not present:
        return  # an empty database: the baseline creates everything
    insp = inspect(conn)
    problems: list[str] = []
    missing = sorted(set(BASELINE_COLUMNS) - present)
    if missing:
        problems.append("missing tables " + ", ".join(missing))
    for table in sorted(present):
        have = {c["name"] for c in insp.get_columns(table)}
        want = BASELINE_COLUMNS[table]
        have -= LATER_COLUMNS.get(table, frozenset())
        if have != want:
            diff = [f"-{c}" for c in sorted(want - have)] + [f"+{c}" for c in sorted(have - want)]
            problems.append(f"{table} ({' '.join(diff)})")
    if problems:
        raise StoreError(
            "the database has distributor tables but no migration history, and they do not "
            f"match the baseline schema ({'; '.join(problems)}): make them match and run "
            f"`distributor db stamp {BASELINE}`, or start from an empty database"
        )
    command.stamp(alembic_config(conn), BASELINE)
