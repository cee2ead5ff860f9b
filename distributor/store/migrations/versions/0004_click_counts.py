"""Reach and engagement (issue 17): hourly click counts, today's salted digests and salts,
and the per-reader clicks of lists that opt in.

Revision ID: 0004_click_counts
Revises: 0003_planned_editions
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_click_counts"
down_revision: str | None = "0003_planned_editions"
branch_labels: str | None = None
depends_on: str | None = None

TABLES = ("click_counts", "click_seen", "click_salts", "reader_clicks")


def upgrade() -> None:
    # a database adopted from ``create_all`` may have been made by a build that had these
    have = set(sa.inspect(op.get_bind()).get_table_names())
    if "click_counts" not in have:
        op.create_table(
            "click_counts",
            sa.Column("edition_id", sa.Integer(), nullable=False),
            sa.Column("story_index", sa.Integer(), nullable=False),
            sa.Column("kind", sa.String(length=8), nullable=False),
            sa.Column("network", sa.String(length=32), nullable=False),
            sa.Column("hour", sa.DateTime(), nullable=False),
            sa.Column("clicks", sa.Integer(), nullable=False),
            sa.Column("uniques", sa.Integer(), nullable=False),
            sa.Column("machine", sa.Integer(), nullable=False),
            sa.PrimaryKeyConstraint("edition_id", "story_index", "kind", "network", "hour"),
        )
    if "click_seen" not in have:
        op.create_table(
            "click_seen",
            sa.Column("day", sa.String(length=10), nullable=False),
            sa.Column("digest", sa.String(length=32), nullable=False),
            sa.PrimaryKeyConstraint("day", "digest"),
        )
    if "click_salts" not in have:
        op.create_table(
            "click_salts",
            sa.Column("day", sa.String(length=10), nullable=False),
            sa.Column("salt", sa.String(length=64), nullable=False),
            sa.PrimaryKeyConstraint("day"),
        )
    if "reader_clicks" not in have:
        op.create_table(
            "reader_clicks",
            sa.Column("edition_id", sa.Integer(), nullable=False),
            sa.Column("subscriber_id", sa.Integer(), nullable=False),
            sa.Column("story_index", sa.Integer(), nullable=False),
            sa.Column("kind", sa.String(length=8), nullable=False),
            sa.Column("network", sa.String(length=32), nullable=False),
            sa.Column("clicks", sa.Integer(), nullable=False),
            sa.Column("first_at", sa.DateTime(), nullable=False),
            sa.Column("last_at", sa.DateTime(), nullable=False),
            sa.PrimaryKeyConstraint(
                "edition_id", "subscriber_id", "story_index", "kind", "network"
            ),
        )


def downgrade() -> None:
    for name in reversed(TABLES):
        op.drop_table(name)
