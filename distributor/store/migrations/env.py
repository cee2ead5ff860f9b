"""Alembic environment: runs on the connection :mod:`distributor.store.migrate` passes in.

There is no ``alembic.ini`` and no URL here: the caller (``Store.open`` or the
``distributor db`` commands) opens the connection, takes the migration lock and puts
the connection in ``config.attributes["connection"]``.
"""

from __future__ import annotations

from typing import Any, Literal

from alembic import context
from alembic.autogenerate.api import AutogenContext
from sqlalchemy import Connection

from distributor.store.migrate import COMPARE_OPTIONS
from distributor.store.schema import UTCDateTime, metadata


def render_item(kind: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Revisions must not import the live schema: UTCDateTime is written as sa.DateTime."""
    if kind == "type" and isinstance(obj, UTCDateTime):
        return "sa.DateTime()"
    return False


def run_migrations_online(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        # SQLite cannot ALTER most things: batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        **COMPARE_OPTIONS,
        render_item=render_item,
    )
    with context.begin_transaction():
        context.run_migrations()


_connection = context.config.attributes.get("connection")
if not isinstance(_connection, Connection):
    raise RuntimeError(
        "distributor's migrations run through distributor.store.migrate "
        "(or `distributor db upgrade`), which passes the connection in"
    )
run_migrations_online(_connection)
