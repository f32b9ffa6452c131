"""platform adapters (issues 6 and 7): event de-duplication, chat-profile time zones, unreachable members,
convenings mirrored as platform events.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "processed_event",
        sa.Column("platform", sa.String(20), primary_key=True),
        sa.Column("event_id", sa.String(100), primary_key=True),
        sa.Column("received_at", _TS, nullable=False),
    )
    op.create_index("ix_processed_event_received_at", "processed_event", ["received_at"])
    op.add_column("member_profile", sa.Column("platform_timezone", sa.String(64), nullable=True))
    op.create_table(
        "unreachable_member",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("first_at", _TS, nullable=False),
        sa.Column("last_at", _TS, nullable=False),
        sa.Column("failures", sa.Integer, nullable=False),
        sa.UniqueConstraint("platform", "user_id", name="uq_unreachable_member"),
    )
    op.create_table(
        "button_command",
        sa.Column("key", sa.String(64), primary_key=True),
        sa.Column("command", sa.Text, nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "convening_mirror",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "convening_id", sa.Integer, sa.ForeignKey("convening.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("scope_id", sa.String(100), nullable=False),
        sa.Column("external_id", sa.String(100), nullable=False),
        sa.Column("synced_sequence", sa.Integer, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.UniqueConstraint("convening_id", "platform", "scope_id", name="uq_convening_mirror"),
    )


def downgrade() -> None:
    op.drop_table("convening_mirror")
    op.drop_table("button_command")
    op.drop_table("unreachable_member")
    op.drop_column("member_profile", "platform_timezone")
    op.drop_index("ix_processed_event_received_at", "processed_event")
    op.drop_table("processed_event")
