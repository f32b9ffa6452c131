"""Convenings, RSVPs and calendar feed tokens.

Revision ID: 0005
Revises: 0004
Create Date: 2027-01-10
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "convening",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("network_id", sa.Integer, sa.ForeignKey("network.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("agenda", sa.Text, nullable=False, server_default=""),
        sa.Column("starts_at", _TS, nullable=False),
        sa.Column("ends_at", _TS, nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("place", sa.String(500), nullable=False),
        sa.Column("capacity", sa.Integer),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("uid", sa.String(200), nullable=False),
        sa.Column("lead_times", sa.String(100), nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("member.id", ondelete="SET NULL")),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_convening_network_id", "convening", ["network_id"])
    op.create_index("ix_convening_starts_at", "convening", ["starts_at"])
    op.create_table(
        "rsvp",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "convening_id", sa.Integer, sa.ForeignKey("convening.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("answer", sa.String(20), nullable=False),
        sa.Column("remind_on_maybe", sa.Boolean, nullable=False),
        sa.Column("answered_at", _TS, nullable=False),
        sa.UniqueConstraint("convening_id", "member_id", name="uq_rsvp"),
    )
    op.create_index("ix_rsvp_member_id", "rsvp", ["member_id"])
    op.create_table(
        "calendar_token",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("owner_kind", sa.String(20), nullable=False),
        sa.Column("owner_id", sa.Integer, nullable=False),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("owner_kind", "owner_id", name="uq_calendar_token_owner"),
    )


def downgrade() -> None:
    op.drop_table("calendar_token")
    op.drop_table("rsvp")
    op.drop_table("convening")
