"""Slack installed by OAuth in several workspaces (issue 15): one row per installing workspace (or
Enterprise Grid org), its bot token encrypted; and the one-use states of installs under way.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "slack_installation",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("enterprise_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("is_enterprise_install", sa.Boolean, nullable=False),
        sa.Column("app_id", sa.String(32), nullable=False),
        sa.Column("team_name", sa.String(200), nullable=False),
        sa.Column("bot_id", sa.String(32), nullable=False),
        sa.Column("bot_user_id", sa.String(32), nullable=False),
        sa.Column("bot_scopes", sa.Text, nullable=False),
        sa.Column("secret", sa.Text, nullable=False),
        sa.Column("installed_at", _TS, nullable=False),
        sa.UniqueConstraint("enterprise_id", "team_id", name="uq_slack_installation"),
    )
    op.create_table(
        "oauth_state",
        sa.Column("state", sa.String(100), primary_key=True),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_index("ix_oauth_state_expires_at", "oauth_state", ["expires_at"])


def downgrade() -> None:
    op.drop_index("ix_oauth_state_expires_at", "oauth_state")
    op.drop_table("oauth_state")
    op.drop_table("slack_installation")
