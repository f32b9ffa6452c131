"""The scheduler's planned posts and lease, member profiles, and the monthly forum.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "planned_post",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(200), nullable=False, unique=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("next_try_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("max_attempts", sa.Integer, nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True)),
        sa.Column("sent_at", sa.DateTime(timezone=True)),
        sa.Column("last_error", sa.String(500), nullable=False),
        sa.Column("payload", sa.Text, nullable=False, server_default="{}"),
        sa.Column("result", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_planned_post_next_try_at", "planned_post", ["next_try_at"])
    op.create_table(
        "scheduler_lease",
        sa.Column("name", sa.String(40), primary_key=True),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "member_profile",
        sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id", ondelete="CASCADE"), primary_key=True),
        sa.Column("timezone", sa.String(64)),
        sa.Column("forum_invites", sa.Boolean, nullable=False),
    )
    op.create_table(
        "forum_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("cadence", sa.Text, nullable=False),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("channel_id", sa.String(100), nullable=False),
        sa.Column("facilitator_platform", sa.String(20), nullable=False),
        sa.Column("facilitator_user_id", sa.String(100), nullable=False),
        sa.Column("facilitator_name", sa.String(200), nullable=False),
        sa.Column("announce_days", sa.Integer, nullable=False),
        sa.Column("prompt", sa.Text, nullable=False, server_default=""),
        sa.Column("join_info", sa.String(500), nullable=False),
        sa.Column("holiday_country", sa.String(10), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "forum_topic",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("text", sa.String(300), nullable=False),
        sa.Column("proposer_id", sa.Integer, sa.ForeignKey("member.id", ondelete="SET NULL")),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "forum_occurrence",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slot", sa.String(10), nullable=False, unique=True),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("moved_from", sa.DateTime(timezone=True)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("skip_reason", sa.String(300), nullable=False),
        sa.Column("topic_id", sa.Integer, sa.ForeignKey("forum_topic.id", ondelete="SET NULL")),
        sa.Column("topic_text", sa.String(300), nullable=False),
        sa.Column("thread_platform", sa.String(20), nullable=False),
        sa.Column("thread_channel_id", sa.String(100), nullable=False),
        sa.Column("thread_id", sa.String(100), nullable=False),
        sa.Column("thread_link", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "forum_vote",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "topic_id", sa.Integer, sa.ForeignKey("forum_topic.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("topic_id", "member_id", name="uq_forum_vote"),
    )
    op.create_table(
        "forum_reply",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "occurrence_id",
            sa.Integer,
            sa.ForeignKey("forum_occurrence.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("link", sa.String(500), nullable=False),
        sa.Column("practice_id", sa.Integer, sa.ForeignKey("practice.id", ondelete="SET NULL")),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_forum_reply_occurrence_id", "forum_reply", ["occurrence_id"])
    op.create_table(
        "forum_capture_request",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "reply_id", sa.Integer, sa.ForeignKey("forum_reply.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("requested_by", sa.Integer, sa.ForeignKey("member.id", ondelete="SET NULL")),
        sa.Column("state", sa.String(20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("reply_id", name="uq_capture_reply"),
    )
    if op.get_bind().dialect.name == "sqlite":
        # SQLite accepts REFERENCES in ADD COLUMN; Alembic's batch mode would instead rebuild `practice`
        # and drop its FTS triggers.
        op.execute(
            "ALTER TABLE practice ADD COLUMN forum_occurrence_id INTEGER "
            "REFERENCES forum_occurrence (id) ON DELETE SET NULL"
        )
    else:
        op.add_column("practice", sa.Column("forum_occurrence_id", sa.Integer))
        op.create_foreign_key(
            "fk_practice_forum_occurrence",
            "practice",
            "forum_occurrence",
            ["forum_occurrence_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    op.drop_column("practice", "forum_occurrence_id")  # SQLite 3.35+ drops a plain column in place
    for table in (
        "forum_capture_request",
        "forum_reply",
        "forum_vote",
        "forum_occurrence",
        "forum_topic",
        "forum_settings",
        "member_profile",
        "scheduler_lease",
        "planned_post",
    ):
        op.drop_table(table)
