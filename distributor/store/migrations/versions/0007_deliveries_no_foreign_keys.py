"""The ledger's rows check no foreign keys (issue 20).

``deliveries.edition_id`` and ``deliveries.subscriber_id`` referenced ``editions`` and
``subscribers``: every ledger row written (a million for a million readers) looked both
up, and PostgreSQL took a row lock on the parent for each (``FOR KEY SHARE``). The
ledger is written by one statement that selects both keys from their tables in the same
transaction, and neither an edition nor a subscriber row is ever deleted (forgetting a
reader empties the row and keeps it: ``store.web.forget``), so the constraints checked
what the code already guarantees. The columns, the unique key and the indexes stay.

SQLite cannot drop a constraint: the table is rebuilt (Alembic's batch mode), its rows
and ids kept, and the partial claim index made again.

Revision ID: 0007_deliveries_no_foreign_keys
Revises: 0006_deliveries_unsent_index
Create Date: 2026-12-02 05:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007_deliveries_no_foreign_keys"
down_revision: str | None = "0006_deliveries_unsent_index"
branch_labels: str | None = None
depends_on: str | None = None

CONDITION = "state <> 'sent'"
#: names for SQLite's unnamed constraints, so batch mode can find and drop them
NAMES = {"fk": "fk_%(table_name)s_%(column_0_name)s"}
KEYS = (("edition_id", "editions"), ("subscriber_id", "subscribers"))


def _foreign_keys() -> list[str]:
    """The names of the ledger's foreign keys (SQLite: ``None`` each, unnamed)."""
    return [str(fk["name"]) for fk in sa.inspect(op.get_bind()).get_foreign_keys("deliveries")]


def _unsent_index() -> None:
    op.create_index(
        "ix_deliveries_unsent",
        "deliveries",
        ["edition_id", "id"],
        unique=False,
        if_not_exists=True,
        sqlite_where=sa.text(CONDITION),
        postgresql_where=sa.text(CONDITION),
    )


def upgrade() -> None:
    present = _foreign_keys()
    if not present:
        return  # adopted from a create_all of a build without them
    if op.get_bind().dialect.name != "sqlite":
        for name in present:
            op.drop_constraint(name, "deliveries", type_="foreignkey")
        return
    op.drop_index("ix_deliveries_unsent", table_name="deliveries", if_exists=True)
    with op.batch_alter_table("deliveries", recreate="always", naming_convention=NAMES) as batch:
        for column, _table in KEYS:
            batch.drop_constraint(f"fk_deliveries_{column}", type_="foreignkey")
    _unsent_index()


def downgrade() -> None:
    if _foreign_keys():
        return
    if op.get_bind().dialect.name != "sqlite":
        for column, table in KEYS:
            op.create_foreign_key(
                f"deliveries_{column}_fkey", "deliveries", table, [column], ["id"]
            )
        return
    op.drop_index("ix_deliveries_unsent", table_name="deliveries", if_exists=True)
    with op.batch_alter_table("deliveries", recreate="always") as batch:
        for column, table in KEYS:
            batch.create_foreign_key(f"fk_deliveries_{column}", table, [column], ["id"])
    _unsent_index()
