"""practice review and public records (issue 16): review dates, owners and election dates; records classes,
classification, legal holds, retention runs and their disposition log.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column("practice", sa.Column("reviewed_at", _TS, nullable=True))
    op.create_table(
        "review_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("every_days", sa.Integer, nullable=False),
        sa.Column("answer_days", sa.Integer, nullable=False),
        sa.Column("fiscal_year_start", sa.String(5), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "practice_review",
        sa.Column(
            "practice_id", sa.Integer, sa.ForeignKey("practice.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("owner_id", sa.Integer, sa.ForeignKey("member.id", ondelete="SET NULL"), nullable=True),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("due_at", _TS, nullable=False),
        sa.Column("reason", sa.String(200), nullable=False),
        sa.Column("cycle", sa.Integer, nullable=False),
        sa.Column("asked_at", _TS, nullable=True),
        sa.Column("escalated_at", _TS, nullable=True),
        sa.Column("owner_left_at", _TS, nullable=True),
        sa.Column("last_outcome", sa.String(40), nullable=False),
    )
    op.create_index("ix_practice_review_owner_id", "practice_review", ["owner_id"])
    op.create_index("ix_practice_review_state", "practice_review", ["state"])
    op.create_table(
        "civic_election",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("jurisdiction_key", sa.String(200), nullable=False),
        sa.Column("jurisdiction", sa.String(200), nullable=False),
        sa.Column("held_on", sa.Date, nullable=False),
        sa.Column("note", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("jurisdiction_key", "held_on", name="uq_civic_election"),
    )
    op.create_index("ix_civic_election_jurisdiction_key", "civic_election", ["jurisdiction_key"])
    op.create_table(
        "records_class",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(60), nullable=False, unique=True),
        sa.Column("keep_days", sa.Integer, nullable=True),
        sa.Column("description", sa.String(300), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "records_default",
        sa.Column("kind", sa.String(30), primary_key=True),
        sa.Column("class_name", sa.String(60), nullable=False),
    )
    op.create_table(
        "records_label",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("class_name", sa.String(60), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
        sa.Column("set_at", _TS, nullable=False),
        sa.UniqueConstraint("kind", "record_id", name="uq_records_label"),
    )
    op.create_table(
        "records_hold",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("from_day", sa.Date, nullable=True),
        sa.Column("to_day", sa.Date, nullable=True),
        sa.Column("by_member", sa.Boolean, nullable=False),
        sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id", ondelete="SET NULL"), nullable=True),
        sa.Column("keyword", sa.String(200), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("released_at", _TS, nullable=True),
    )
    op.create_index("ix_records_hold_member_id", "records_hold", ["member_id"])
    op.create_table(
        "records_run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "records_disposition",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("records_run.id", ondelete="CASCADE"), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(30), nullable=False),
        sa.Column("record_id", sa.Integer, nullable=False),
        sa.Column("class_name", sa.String(60), nullable=False),
        sa.Column("written_on", sa.Date, nullable=False),
        sa.Column("expired_on", sa.Date, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("hold_ids", sa.String(200), nullable=False),
        sa.Column("decided_at", _TS, nullable=True),
        sa.UniqueConstraint("run_id", "number", name="uq_records_disposition"),
    )
    op.create_index("ix_records_disposition_run_id", "records_disposition", ["run_id"])


def downgrade() -> None:
    for table in (
        "records_disposition",
        "records_run",
        "records_hold",
        "records_label",
        "records_default",
        "records_class",
        "civic_election",
        "practice_review",
        "review_settings",
    ):
        op.drop_table(table)
    # A plain DROP COLUMN on both engines (SQLite has it since 3.35): a batch rebuild of `practice` would
    # cascade-delete its labels and drop its full-text triggers on SQLite.
    op.execute("ALTER TABLE practice DROP COLUMN reviewed_at")
