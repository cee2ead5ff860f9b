"""The claim index of the ledger: (edition_id, state, id) instead of (edition_id, state).

Claims read an edition's pending rows in id order (and batch tasks by id range);
with ``id`` in the index they are an index range scan, not a sort.

Revision ID: 0002_deliveries_claim_index
Revises: 0001_baseline
Create Date: 2026-11-29 00:05:00
"""

from __future__ import annotations

from alembic import op

revision: str = "0002_deliveries_claim_index"
down_revision: str | None = "0001_baseline"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # IF (NOT) EXISTS: a database adopted from ``create_all`` (stamped at the baseline)
    # may have been made by a build that already had the new index
    op.create_index(
        "ix_deliveries_claim",
        "deliveries",
        ["edition_id", "state", "id"],
        unique=False,
        if_not_exists=True,
    )
    op.drop_index("ix_deliveries_state", table_name="deliveries", if_exists=True)


def downgrade() -> None:
    op.create_index("ix_deliveries_state", "deliveries", ["edition_id", "state"], unique=False)
    op.drop_index("ix_deliveries_claim", table_name="deliveries")
