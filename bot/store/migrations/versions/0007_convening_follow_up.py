"""convening follow up (issue 4): attendance, notes, commitments and their 30/60/90-day answers.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _conv() -> sa.Column:
    return sa.Column(
        "convening_id", sa.Integer, sa.ForeignKey("convening.id", ondelete="CASCADE"), nullable=False
    )


def _member() -> sa.Column:
    return sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "convening_attendance",
        sa.Column("id", sa.Integer, primary_key=True),
        _conv(),
        _member(),
        sa.Column("how", sa.String(20), nullable=False),
        sa.Column("share_in_export", sa.Boolean, nullable=False),
        sa.Column("recorded_at", _TS, nullable=False),
        sa.UniqueConstraint("convening_id", "member_id", name="uq_convening_attendance"),
    )
    op.create_index("ix_convening_attendance_member_id", "convening_attendance", ["member_id"])
    op.create_table(
        "convening_note",
        sa.Column("id", sa.Integer, primary_key=True),
        _conv(),
        _member(),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_convening_note_convening_id", "convening_note", ["convening_id"])
    op.create_index("ix_convening_note_member_id", "convening_note", ["member_id"])
    op.create_table(
        "commitment",
        sa.Column("id", sa.Integer, primary_key=True),
        _conv(),
        _member(),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("made_at", _TS, nullable=False),
        sa.Column("practice_id", sa.Integer, sa.ForeignKey("practice.id", ondelete="SET NULL")),
        sa.UniqueConstraint("convening_id", "member_id", name="uq_commitment"),
    )
    op.create_index("ix_commitment_member_id", "commitment", ["member_id"])
    op.create_table(
        "commitment_answer",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "commitment_id", sa.Integer, sa.ForeignKey("commitment.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("days", sa.Integer, nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("answered_at", _TS, nullable=False),
        sa.UniqueConstraint("commitment_id", "days", name="uq_commitment_answer"),
    )


def downgrade() -> None:
    op.drop_table("commitment_answer")
    op.drop_table("commitment")
    op.drop_table("convening_note")
    op.drop_table("convening_attendance")
