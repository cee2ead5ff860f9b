"""Editions an editor can see and shape (issue 14): planned editions, their variants, their
change log; the ledger's editions carry the intro and subject they were sent with.

Revision ID: 0003_planned_editions
Revises: 0002_deliveries_claim_index
Create Date: 2026-12-01 22:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_planned_editions"
down_revision: str | None = "0002_deliveries_claim_index"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    # a database adopted from ``create_all`` (stamped at the baseline) may have been made by
    # a build that already had these: add only what is missing
    inspector = sa.inspect(op.get_bind())
    have = {c["name"] for c in inspector.get_columns("editions")}
    for name in ("intro_html", "intro_text", "subject"):
        if name not in have:
            op.add_column("editions", sa.Column(name, sa.Text(), nullable=True))
    if "planned_editions" in inspector.get_table_names():
        return
    op.create_table(
        "planned_editions",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("list_name", sa.String(length=100), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("send_at", sa.DateTime(), nullable=True),
        sa.Column("intros", sa.JSON(), nullable=False),
        sa.Column("subjects", sa.JSON(), nullable=False),
        sa.Column("intro_fallback", sa.Boolean(), nullable=False),
        sa.Column("social", sa.Boolean(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("approved_by", sa.String(length=320), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("list_name", "key", name="uq_planned_edition"),
    )
    op.create_index(
        "ix_planned_editions_due", "planned_editions", ["state", "send_at"], unique=False
    )
    op.create_table(
        "planned_variants",
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("segment", sa.String(length=255), nullable=False),
        sa.Column("story_ids", sa.JSON(), nullable=False),
        sa.Column("readers", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["plan_id"], ["planned_editions.id"]),
        sa.PrimaryKeyConstraint("plan_id", "language", "segment"),
    )
    op.create_table(
        "edition_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("who", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["plan_id"], ["planned_editions.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_edition_changes_plan", "edition_changes", ["plan_id", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_edition_changes_plan", table_name="edition_changes")
    op.drop_table("edition_changes")
    op.drop_table("planned_variants")
    op.drop_index("ix_planned_editions_due", table_name="planned_editions")
    op.drop_table("planned_editions")
    with op.batch_alter_table("editions") as batch:
        batch.drop_column("subject")
        batch.drop_column("intro_text")
        batch.drop_column("intro_html")
