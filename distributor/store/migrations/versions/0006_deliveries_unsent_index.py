"""The ledger's claim index holds only rows not yet sent (issue 20).

``ix_deliveries_claim`` (edition_id, state, id) had every row of every edition and
moved a row's entry on each change of ``state`` (a claim, then its outcome). The
partial index ``ix_deliveries_unsent`` (edition_id, id) WHERE state <> 'sent' holds
pending, in-flight, failed and unknown rows only: a claim leaves the row's entry where
it is, a sent row leaves the index once, and the index stays as small as the open
part of the ledger however long its history.

Revision ID: 0006_deliveries_unsent_index
Revises: 0005_social_queue
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_deliveries_unsent_index"
down_revision: str | None = "0005_social_queue"
branch_labels: str | None = None
depends_on: str | None = None

CONDITION = "state <> 'sent'"


def upgrade() -> None:
    # IF (NOT) EXISTS: a database adopted from ``create_all`` (stamped at the baseline)
    # may have been made by a build that already had the new index
    op.create_index(
        "ix_deliveries_unsent",
        "deliveries",
        ["edition_id", "id"],
        unique=False,
        if_not_exists=True,
        sqlite_where=sa.text(CONDITION),
        postgresql_where=sa.text(CONDITION),
    )
    op.drop_index("ix_deliveries_claim", table_name="deliveries", if_exists=True)


def downgrade() -> None:
    op.create_index(
        "ix_deliveries_claim",
        "deliveries",
        ["edition_id", "state", "id"],
        unique=False,
        if_not_exists=True,
    )
    op.drop_index("ix_deliveries_unsent", table_name="deliveries", if_exists=True)
