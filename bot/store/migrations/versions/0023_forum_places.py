"""The forum in several workspaces (issue 15): each workspace may set its own channel for the forum
(`forum channel`), and each occurrence keeps the thread it opened there.

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "forum_place",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("workspace", sa.String(100), nullable=False),
        sa.Column("channel_id", sa.String(100), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("platform", "workspace", name="uq_forum_place"),
    )
    op.create_table(
        "forum_thread",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "occurrence_id",
            sa.Integer,
            sa.ForeignKey("forum_occurrence.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("workspace", sa.String(100), nullable=False),
        sa.Column("channel_id", sa.String(100), nullable=False),
        sa.Column("thread_id", sa.String(100), nullable=False),
        sa.Column("link", sa.String(500), nullable=False),
        sa.UniqueConstraint("occurrence_id", "platform", "workspace", name="uq_forum_thread"),
    )


def downgrade() -> None:
    op.drop_table("forum_thread")
    op.drop_table("forum_place")
