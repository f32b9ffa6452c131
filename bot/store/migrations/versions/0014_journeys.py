"""leadership-transition journeys, and practices looked after by a successor (issue 18).

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _member(name: str, ondelete: str = "CASCADE", nullable: bool = False) -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(name, sa.Integer, sa.ForeignKey("member.id", ondelete=ondelete), nullable=nullable)


def _run() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column(
        "run_id", sa.Integer, sa.ForeignKey("journey_run.id", ondelete="CASCADE"), nullable=False
    )


def upgrade() -> None:
    op.create_table(
        "journey",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(60), nullable=False, unique=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("definition", sa.Text, nullable=False),
        sa.Column("source_hash", sa.String(64), nullable=False),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "journey_run",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("journey_id", sa.Integer, sa.ForeignKey("journey.id", ondelete="CASCADE"), nullable=False),
        _member("member_id"),
        sa.Column("role", sa.String(40), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("paused_on", sa.Date),
        sa.Column("shift_days", sa.Integer, nullable=False),
        _member("started_by", "SET NULL", True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_journey_run_member_id", "journey_run", ["member_id"])
    op.create_index("ix_journey_run_started_by", "journey_run", ["started_by"])
    op.create_table(
        "journey_step_log",
        sa.Column("id", sa.Integer, primary_key=True),
        _run(),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("at", _TS, nullable=False),
        sa.UniqueConstraint("run_id", "step", name="uq_journey_step_log"),
    )
    op.create_table(
        "journey_answer",
        sa.Column("id", sa.Integer, primary_key=True),
        _run(),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("practice_id", sa.Integer, sa.ForeignKey("practice.id", ondelete="SET NULL")),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_index("ix_journey_answer_run_id", "journey_answer", ["run_id"])
    op.create_table(
        "journey_peer",
        sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("created_at", _TS, nullable=False),
    )
    op.create_table(
        "journey_intro",
        sa.Column("id", sa.Integer, primary_key=True),
        _run(),
        _member("newcomer_id"),
        _member("peer_id"),
        sa.Column("step", sa.String(40), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("newcomer_id", "peer_id", name="uq_journey_intro"),
    )
    op.create_index("ix_journey_intro_newcomer_id", "journey_intro", ["newcomer_id"])
    op.create_index("ix_journey_intro_peer_id", "journey_intro", ["peer_id"])
    op.create_table(
        "journey_handover",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "run_id",
            sa.Integer,
            sa.ForeignKey("journey_run.id", ondelete="CASCADE"),
            nullable=False,
            unique=True,
        ),
        sa.Column("in_flight", sa.Text, nullable=False, server_default=""),
        sa.Column("contacts", sa.Text, nullable=False, server_default=""),
        _member("successor_id", "SET NULL", True),
        sa.Column("practices_to", sa.String(20), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_index("ix_journey_handover_successor_id", "journey_handover", ["successor_id"])
    op.create_table(
        "practice_steward",
        sa.Column(
            "practice_id", sa.Integer, sa.ForeignKey("practice.id", ondelete="CASCADE"), primary_key=True
        ),
        _member("member_id"),
        sa.Column("since", _TS, nullable=False),
    )
    op.create_index("ix_practice_steward_member_id", "practice_steward", ["member_id"])


def downgrade() -> None:
    op.drop_table("practice_steward")
    for table in (
        "journey_handover",
        "journey_intro",
        "journey_peer",
        "journey_answer",
        "journey_step_log",
        "journey_run",
        "journey",
    ):
        op.drop_table(table)
