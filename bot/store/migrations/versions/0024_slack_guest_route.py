"""Slack Connect guests (issue 15): through which installation copbot reaches members of a workspace that
has not installed it (the channel shared with them), so its DMs to them go through that installation.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "slack_guest_route",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("guest_workspace", sa.String(32), nullable=False, unique=True),
        sa.Column("via_workspace", sa.String(32), nullable=False),
        sa.Column("seen_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("slack_guest_route")
