"""The web pages (issue 17): one-time sign-in links given by `me web`, the sessions they open (only hashes
of both are kept), and whether the practice library is public.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _member() -> sa.Column:
    return sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False)


def upgrade() -> None:
    op.create_table(
        "web_signin",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _member(),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("spent_at", _TS, nullable=True),
    )
    op.create_index("ix_web_signin_member_id", "web_signin", ["member_id"])
    op.create_table(
        "web_session",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
        _member(),
        sa.Column("csrf", sa.String(64), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_seen", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
    )
    op.create_index("ix_web_session_member_id", "web_session", ["member_id"])
    op.create_table(
        "web_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("library_public", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at", _TS, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("web_settings")
    op.drop_index("ix_web_session_member_id", "web_session")
    op.drop_table("web_session")
    op.drop_index("ix_web_signin_member_id", "web_signin")
    op.drop_table("web_signin")
