"""A social queue editors trust (issue 18): queued posts with their life cycle, their
change log (text versions) and the counts each network exposes.

Revision ID: 0005_social_queue
Revises: 0004_click_counts
Create Date: 2026-12-02 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_social_queue"
down_revision: str | None = "0004_click_counts"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    if "queued_posts" in sa.inspect(op.get_bind()).get_table_names():
        return  # adopted from a create_all of a build that had them
    op.create_table(
        "queued_posts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("story_id", sa.String(length=512), nullable=False),
        sa.Column("channel", sa.String(length=100), nullable=False),
        sa.Column("language", sa.String(length=35), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("text_version", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("created_by", sa.String(length=320), nullable=False),
        sa.Column("approved_by", sa.String(length=320), nullable=True),
        sa.Column("approved_at", sa.DateTime(), nullable=True),
        sa.Column("posted_version", sa.Integer(), nullable=True),
        sa.Column("provider_id", sa.Text(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["story_id"], ["stories.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("story_id", "channel", "language", name="uq_queued_post"),
    )
    op.create_index("ix_queued_posts_due", "queued_posts", ["channel", "state", "at"], unique=False)
    op.create_table(
        "post_changes",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("who", sa.String(length=320), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("text_version", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(["post_id"], ["queued_posts.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_post_changes_post", "post_changes", ["post_id", "id"], unique=False)
    op.create_table(
        "post_metrics",
        sa.Column("post_id", sa.Integer(), nullable=False),
        sa.Column("fetched_at", sa.DateTime(), nullable=False),
        sa.Column("likes", sa.Integer(), nullable=True),
        sa.Column("reposts", sa.Integer(), nullable=True),
        sa.Column("replies", sa.Integer(), nullable=True),
        sa.Column("quotes", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["post_id"], ["queued_posts.id"]),
        sa.PrimaryKeyConstraint("post_id"),
    )


def downgrade() -> None:
    op.drop_table("post_metrics")
    op.drop_index("ix_post_changes_post", table_name="post_changes")
    op.drop_table("post_changes")
    op.drop_index("ix_queued_posts_due", table_name="queued_posts")
    op.drop_table("queued_posts")
