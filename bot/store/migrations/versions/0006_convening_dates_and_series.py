"""convening dates and series (issue 4): date polls (slots, marks) and convening series.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "date_poll",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("network_id", sa.Integer, sa.ForeignKey("network.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("tz", sa.String(64), nullable=False),
        sa.Column("duration_minutes", sa.Integer, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("convening_id", sa.Integer, sa.ForeignKey("convening.id", ondelete="SET NULL")),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("member.id", ondelete="SET NULL")),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("closed_at", _TS),
    )
    op.create_index("ix_date_poll_network_id", "date_poll", ["network_id"])
    op.create_table(
        "date_poll_slot",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("date_poll.id", ondelete="CASCADE"), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("starts_at", _TS, nullable=False),
        sa.UniqueConstraint("poll_id", "position", name="uq_date_poll_slot"),
    )
    op.create_table(
        "date_poll_mark",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("poll_id", sa.Integer, sa.ForeignKey("date_poll.id", ondelete="CASCADE"), nullable=False),
        sa.Column(
            "slot_id", sa.Integer, sa.ForeignKey("date_poll_slot.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("marked_at", _TS, nullable=False),
        sa.UniqueConstraint("slot_id", "member_id", name="uq_date_poll_mark"),
    )
    op.create_index("ix_date_poll_mark_poll_id", "date_poll_mark", ["poll_id"])
    op.create_index("ix_date_poll_mark_member_id", "date_poll_mark", ["member_id"])
    op.create_table(
        "convening_series",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("network_id", sa.Integer, sa.ForeignKey("network.id", ondelete="CASCADE"), nullable=False),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("cadence", sa.Text, nullable=False),
        sa.Column("created_by", sa.Integer, sa.ForeignKey("member.id", ondelete="SET NULL")),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("cancelled_at", _TS),
    )
    op.create_index("ix_convening_series_network_id", "convening_series", ["network_id"])
    # A plain integer (no foreign key): SQLite cannot reflect a key added by ALTER TABLE ADD COLUMN.
    op.add_column("convening", sa.Column("series_id", sa.Integer, nullable=True))
    op.create_index("ix_convening_series_id", "convening", ["series_id"])


def downgrade() -> None:
    op.drop_index("ix_convening_series_id", table_name="convening")
    with op.batch_alter_table("convening") as batch:
        batch.drop_column("series_id")
    op.drop_table("convening_series")
    op.drop_table("date_poll_mark")
    op.drop_table("date_poll_slot")
    op.drop_table("date_poll")
