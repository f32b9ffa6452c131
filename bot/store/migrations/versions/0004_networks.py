"""Networks and their members; the member profile's work details and notification choices.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)
_PROFILE_TEXT = ("organisation", "role_title", "jurisdiction")


def upgrade() -> None:
    op.create_table(
        "network",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(60), nullable=False, unique=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("join_policy", sa.String(20), nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("member.id", ondelete="SET NULL")),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("archived", sa.Boolean, nullable=False),
    )
    op.create_table(
        "network_member",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("network_id", sa.Integer, sa.ForeignKey("network.id", ondelete="CASCADE"), nullable=False),
        sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("joined_at", _TS, nullable=False),
        sa.UniqueConstraint("network_id", "member_id", name="uq_network_member"),
    )
    op.create_index("ix_network_member_member_id", "network_member", ["member_id"])
    # Plain ALTER TABLE ADD COLUMN (nullable or defaulted): fine on SQLite without batch mode.
    for name in _PROFILE_TEXT:
        op.add_column("member_profile", sa.Column(name, sa.String(200)))
    op.add_column(
        "member_profile", sa.Column("dm_reminders", sa.Boolean, nullable=False, server_default=sa.true())
    )
    op.add_column("member_profile", sa.Column("quiet_start", sa.String(5)))
    op.add_column("member_profile", sa.Column("quiet_end", sa.String(5)))
    op.add_column(
        "member_profile", sa.Column("show_in_lists", sa.Boolean, nullable=False, server_default=sa.true())
    )


def downgrade() -> None:
    for name in (*_PROFILE_TEXT, "dm_reminders", "quiet_start", "quiet_end", "show_in_lists"):
        op.drop_column("member_profile", name)  # SQLite 3.35+ drops a plain column in place
    op.drop_table("network_member")
    op.drop_table("network")
