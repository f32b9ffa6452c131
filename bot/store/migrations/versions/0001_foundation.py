"""Foundation: members, roles, audit log, shared practices and their full-text index.

Revision ID: 0001
Revises:
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The searchable text of a practice: title (weight A), labels and context (B), the body (C).
_BODY_SQL = (
    "coalesce({p}what,'') || ' ' || coalesce({p}how_much,'') || ' ' || "
    "coalesce({p}how_well,'') || ' ' || coalesce({p}better_off,'')"
)


def upgrade() -> None:
    op.create_table(
        "member",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("platform", "user_id", name="uq_member_identity"),
    )
    op.create_table(
        "role_grant",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(100), nullable=False),
        sa.Column("role", sa.Integer, nullable=False),
        sa.Column("granted_by", sa.String(200), nullable=False),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("platform", "user_id", "scope", name="uq_role_grant"),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("user_id", sa.String(100), nullable=False),
        sa.Column("actor_name", sa.String(200), nullable=False),
        sa.Column("action", sa.String(100), nullable=False),
        sa.Column("detail", sa.String(2000), nullable=False),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])
    op.create_table(
        "practice",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("title", sa.String(200), nullable=False),
        sa.Column("what", sa.Text, nullable=False),
        sa.Column("level", sa.String(20)),
        sa.Column("size", sa.String(20)),
        sa.Column("policy_area", sa.String(40)),
        sa.Column("region", sa.String(100)),
        sa.Column("how_much", sa.Text),
        sa.Column("how_well", sa.Text),
        sa.Column("better_off", sa.Text),
        sa.Column("links", sa.Text, nullable=False, server_default=""),
        sa.Column("attribution", sa.String(20), nullable=False),
        sa.Column("author_id", sa.Integer, sa.ForeignKey("member.id", ondelete="SET NULL")),
        sa.Column("author_name", sa.String(200), nullable=False),
        sa.Column("author_role", sa.String(200), nullable=False),
        sa.Column("source_platform", sa.String(20), nullable=False),
        sa.Column("source_link", sa.String(500), nullable=False),
        sa.Column("source_note", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("search_extra", sa.Text, nullable=False, server_default=""),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_practice_author_id", "practice", ["author_id"])
    op.create_index("ix_practice_status", "practice", ["status"])
    op.create_index("ix_practice_level", "practice", ["level"])
    op.create_index("ix_practice_policy_area", "practice", ["policy_area"])
    op.create_table(
        "practice_label",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "practice_id", sa.Integer, sa.ForeignKey("practice.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("value", sa.String(60), nullable=False),
        sa.UniqueConstraint("practice_id", "kind", "value", name="uq_practice_label"),
    )
    op.create_index("ix_practice_label_kind_value", "practice_label", ["kind", "value"])
    op.create_table(
        "practice_endorsement",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "practice_id", sa.Integer, sa.ForeignKey("practice.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("member_id", sa.Integer, sa.ForeignKey("member.id", ondelete="CASCADE"), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("practice_id", "member_id", name="uq_endorsement"),
    )
    op.create_index("ix_practice_endorsement_practice_id", "practice_endorsement", ["practice_id"])
    op.create_index("ix_practice_endorsement_member_id", "practice_endorsement", ["member_id"])

    if op.get_bind().dialect.name == "sqlite":
        # FTS5 with Porter stemming, holding only active practices (retired ones are not searchable),
        # kept in step with `practice` by triggers.
        op.execute(
            "CREATE VIRTUAL TABLE practice_fts USING fts5("
            "title, extra, body, tokenize='porter unicode61 remove_diacritics 2')"
        )
        insert_new = (
            "INSERT INTO practice_fts(rowid, title, extra, body) "
            f"SELECT new.id, new.title, new.search_extra, {_BODY_SQL.format(p='new.')} "
            "WHERE new.status = 'active';"
        )
        op.execute(f"CREATE TRIGGER practice_fts_ai AFTER INSERT ON practice BEGIN {insert_new} END")
        op.execute(
            "CREATE TRIGGER practice_fts_ad AFTER DELETE ON practice BEGIN "
            "DELETE FROM practice_fts WHERE rowid = old.id; END"
        )
        op.execute(
            "CREATE TRIGGER practice_fts_au AFTER UPDATE ON practice BEGIN "
            f"DELETE FROM practice_fts WHERE rowid = old.id; {insert_new} END"
        )
    else:
        body = _BODY_SQL.format(p="")
        op.execute(
            "ALTER TABLE practice ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english', coalesce(title,'')), 'A') || "
            "setweight(to_tsvector('english', coalesce(search_extra,'')), 'B') || "
            f"setweight(to_tsvector('english', {body}), 'C')) STORED"
        )
        # Partial: only active practices are searchable.
        op.execute(
            "CREATE INDEX ix_practice_search ON practice USING GIN (search_vector) WHERE status = 'active'"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS practice_fts")
    for table in ("practice_endorsement", "practice_label", "practice", "audit_log", "role_grant", "member"):
        op.drop_table(table)
