"""Guests from shared channels (Slack Connect, issue 15): whether a coordinator keeps exports and attendance
to the host organisation (`role guests host-only|open`); one row, none meaning open.

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "guest_policy",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("host_only", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("guest_policy")
