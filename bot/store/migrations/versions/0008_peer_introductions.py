"""peer introductions (issue 4).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _fk(table: str, ondelete: str = "CASCADE", nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        f"{table}_id" if table != "member" else "member_id",
        sa.Integer,
        sa.ForeignKey(f"{table}.id", ondelete=ondelete),
        nullable=nullable,
    )


def upgrade() -> None:
    op.create_table(
        "intro_opt_in",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("network"),
        _fk("member"),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("network_id", "member_id", name="uq_intro_opt_in"),
    )
    op.create_table(
        "intro_round",
        sa.Column("id", sa.Integer, primary_key=True),
        _fk("network"),
        sa.Column("scheduled_for", _TS, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("member.id", ondelete="SET NULL")),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "intro_skip",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "round_id", sa.Integer, sa.ForeignKey("intro_round.id", ondelete="CASCADE"), nullable=False
        ),
        _fk("member"),
        sa.UniqueConstraint("round_id", "member_id", name="uq_intro_skip"),
    )
    op.create_table(
        "intro_pairing",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "round_id", sa.Integer, sa.ForeignKey("intro_round.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "intro_pairing_member",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "pairing_id", sa.Integer, sa.ForeignKey("intro_pairing.id", ondelete="CASCADE"), nullable=False
        ),
        _fk("member"),
        sa.Column("met", sa.Boolean),
        sa.Column("answered_at", _TS),
        sa.UniqueConstraint("pairing_id", "member_id", name="uq_intro_pairing_member"),
    )


def downgrade() -> None:
    for table in ("intro_pairing_member", "intro_pairing", "intro_skip", "intro_round", "intro_opt_in"):
        op.drop_table(table)
