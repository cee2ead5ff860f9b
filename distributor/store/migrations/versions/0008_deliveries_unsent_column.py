"""The ledger's claim index is on a generated ``unsent`` flag, not on ``state`` (issue 20).

``ix_deliveries_unsent`` (edition_id, id) WHERE state <> 'sent' made every change of
``state`` a change of an indexed column, and PostgreSQL makes an update HOT (the new
row version on the same page, no new index entry) only when no indexed column changes,
a partial index's condition included: every claim (``pending -> sending``) and every
outcome wrote new entries in the primary key, the unique key and the partial index.

``unsent`` is a stored generated column, ``state <> 'sent'``, computed by the database
on every write (existing rows included); the index's condition becomes ``WHERE
unsent``. A claim, a non-sent outcome, a recovery or a requeue changes ``state`` but not
``unsent``: no indexed column changes. On PostgreSQL the table also keeps half of each
page free (``fillfactor = 50``) so the new versions fit on their page; the column is
added after that setting, so the rewrite it causes lays the existing rows out with it.

SQLite cannot add a stored generated column to a table: the table is rebuilt (Alembic's
batch mode), its rows and ids kept. Downgrade puts the index on ``state`` back and drops
the column (and the fill factor).

Revision ID: 0008_deliveries_unsent_column
Revises: 0007_deliveries_no_foreign_keys
Create Date: 2026-12-02 14:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008_deliveries_unsent_column"
down_revision: str | None = "0007_deliveries_no_foreign_keys"
branch_labels: str | None = None
depends_on: str | None = None

EXPRESSION = "state <> 'sent'"
FILLFACTOR = 50
INDEX = "ix_deliveries_unsent"


def _has_column() -> bool:
    return any(c["name"] == "unsent" for c in sa.inspect(op.get_bind()).get_columns("deliveries"))


def _index(condition: str) -> None:
    op.create_index(
        INDEX,
        "deliveries",
        ["edition_id", "id"],
        unique=False,
        sqlite_where=sa.text(condition),
        postgresql_where=sa.text(condition),
    )


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.drop_index(INDEX, table_name="deliveries", if_exists=True)
    if postgres:
        op.execute(f"ALTER TABLE deliveries SET (fillfactor = {FILLFACTOR})")
    # a database adopted from ``create_all`` (stamped at the baseline) may have been made
    # by a build that already had the column
    if not _has_column():
        column: sa.Column[bool] = sa.Column(
            "unsent", sa.Boolean(), sa.Computed(EXPRESSION, persisted=True)
        )
        if postgres:
            op.add_column("deliveries", column)
        else:
            with op.batch_alter_table("deliveries", recreate="always") as batch:
                batch.add_column(column)
    _index("unsent")


def downgrade() -> None:
    op.drop_index(INDEX, table_name="deliveries", if_exists=True)
    if op.get_bind().dialect.name == "postgresql":
        op.drop_column("deliveries", "unsent")
        op.execute("ALTER TABLE deliveries RESET (fillfactor)")
    else:
        with op.batch_alter_table("deliveries", recreate="always") as batch:
            batch.drop_column("unsent")
    _index(EXPRESSION)
