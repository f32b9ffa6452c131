"""forum reminders by DM: a member's opt-in to get the open forum's reminders as direct messages too.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN with a default: fine on SQLite without batch mode.
    op.add_column(
        "member_profile", sa.Column("forum_reminders", sa.Boolean, nullable=False, server_default=sa.false())
    )


def downgrade() -> None:
    op.drop_column("member_profile", "forum_reminders")  # SQLite 3.35+ drops a plain column in place
