"""practice proposals: saving another member's message as a practice, with their consent (issue 6).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "practice_proposal",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("proposed_by", sa.Integer, sa.ForeignKey("member.id", ondelete="SET NULL")),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("what", sa.Text, nullable=False),
        sa.Column("link", sa.String(500), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("practice_id", sa.Integer),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_practice_proposal_author_id", "practice_proposal", ["author_id"])


def downgrade() -> None:
    op.drop_index("ix_practice_proposal_author_id", "practice_proposal")
    op.drop_table("practice_proposal")
