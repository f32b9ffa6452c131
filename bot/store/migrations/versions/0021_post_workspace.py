"""Where the forum and the digest post, by workspace (issue 15): with Slack installed by OAuth in several
workspaces, copbot posts in a channel with the token of the workspace the channel is in, so the settings
that name a channel also name its workspace ("" for rows set before, and on platforms without one).

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    for table in ("forum_settings", "digest_settings"):
        with op.batch_alter_table(table) as batch:
            batch.add_column(sa.Column("workspace", sa.String(100), nullable=False, server_default=""))


def downgrade() -> None:
    for table in ("forum_settings", "digest_settings"):
        with op.batch_alter_table(table) as batch:
            batch.drop_column("workspace")
