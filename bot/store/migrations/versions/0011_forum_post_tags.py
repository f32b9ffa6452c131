"""forum post tags: the tags the forum's posts get in a channel with tags, a forum setting (issue 11).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("forum_settings", sa.Column("post_tags", sa.String(300), nullable=False, server_default=""))


def downgrade() -> None:
    op.drop_column("forum_settings", "post_tags")  # SQLite 3.35+ drops a plain column in place
