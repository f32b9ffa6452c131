"""glossary: terms from content/glossary/terms and chat, and their names for lookup (issue 18).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "glossary_term",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(200), nullable=False, unique=True),
        sa.Column("term", sa.String(200), nullable=False),
        sa.Column("area", sa.String(60), nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("also", sa.Text, nullable=False, server_default="[]"),
        sa.Column("related", sa.Text, nullable=False, server_default="[]"),
        sa.Column("resources", sa.Text, nullable=False, server_default="[]"),
        sa.Column("source", sa.String(300), nullable=False),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("source_hash", sa.String(64), nullable=False),
        sa.Column("added_by", sa.Integer, sa.ForeignKey("member.id", ondelete="SET NULL")),
        sa.Column("edited_by", sa.Integer, sa.ForeignKey("member.id", ondelete="SET NULL")),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_glossary_term_area", "glossary_term", ["area"])
    op.create_index("ix_glossary_term_added_by", "glossary_term", ["added_by"])
    op.create_index("ix_glossary_term_edited_by", "glossary_term", ["edited_by"])
    op.create_table(
        "glossary_name",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "term_id", sa.Integer, sa.ForeignKey("glossary_term.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_index("ix_glossary_name_term_id", "glossary_name", ["term_id"])


def downgrade() -> None:
    op.drop_table("glossary_name")
    op.drop_table("glossary_term")
