"""Curated resources: the catalog in the database, its full-text index, ratings, interests, the digest.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_TS = sa.DateTime(timezone=True)


def _member_fk() -> sa.ForeignKey:
    return sa.ForeignKey("member.id", ondelete="CASCADE")


def _resource_fk() -> sa.ForeignKey:
    return sa.ForeignKey("resource.id", ondelete="CASCADE")


def upgrade() -> None:
    op.create_table(
        "resource",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("slug", sa.String(100), nullable=False, unique=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("author", sa.String(300)),
        sa.Column("publisher", sa.String(300)),
        sa.Column("url", sa.String(500)),
        sa.Column("url_note", sa.String(500)),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("level", sa.String(20), nullable=False),
        sa.Column("time", sa.String(100), nullable=False),
        sa.Column("cost", sa.String(10), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("checked", sa.Date, nullable=False),
        sa.Column("origin", sa.String(10), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("retired_by", sa.String(20), nullable=False),
        sa.Column("source_hash", sa.String(64), nullable=False),
        sa.Column("search_extra", sa.Text, nullable=False, server_default=""),
        sa.Column("added_by", sa.Integer, sa.ForeignKey("member.id", ondelete="SET NULL")),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    for column in ("kind", "level", "cost", "status", "added_by"):
        op.create_index(f"ix_resource_{column}", "resource", [column])
    op.create_table(
        "resource_area",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("resource_id", sa.Integer, _resource_fk(), nullable=False),
        sa.Column("area", sa.String(60), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.UniqueConstraint("resource_id", "area", name="uq_resource_area"),
    )
    op.create_index("ix_resource_area_area", "resource_area", ["area"])
    op.create_table(
        "resource_rating",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("resource_id", sa.Integer, _resource_fk(), nullable=False),
        sa.Column("member_id", sa.Integer, _member_fk(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("resource_id", "member_id", name="uq_resource_rating"),
    )
    op.create_index("ix_resource_rating_member_id", "resource_rating", ["member_id"])
    op.create_table(
        "resource_sent",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("member_id", sa.Integer, _member_fk(), nullable=False),
        sa.Column("resource_id", sa.Integer, _resource_fk(), nullable=False),
        sa.Column("sent_at", _TS, nullable=False),
        sa.UniqueConstraint("member_id", "resource_id", name="uq_resource_sent"),
    )
    op.create_table(
        "member_interest",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("member_id", sa.Integer, _member_fk(), nullable=False),
        sa.Column("area", sa.String(60), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.UniqueConstraint("member_id", "area", name="uq_member_interest"),
    )
    op.create_table(
        "digest_settings",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("platform", sa.String(20), nullable=False),
        sa.Column("channel_id", sa.String(100), nullable=False),
        sa.Column("cadence", sa.Text, nullable=False),
        sa.Column("per_digest", sa.Integer, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
    )
    op.create_table(
        "digest_shown",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("resource_id", sa.Integer, _resource_fk(), nullable=False),
        sa.Column("round", sa.Integer, nullable=False),
        sa.Column("digest_key", sa.String(200), nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("shown_at", _TS, nullable=False),
        sa.UniqueConstraint("round", "resource_id", name="uq_digest_shown_round"),
    )
    op.create_index("ix_digest_shown_digest_key", "digest_shown", ["digest_key"])

    if op.get_bind().dialect.name == "sqlite":
        # FTS5 with Porter stemming over active resources only, kept in step by triggers. Never use
        # batch_alter_table on `resource`: it rebuilds the table and drops these triggers.
        op.execute(
            "CREATE VIRTUAL TABLE resource_fts USING fts5("
            "title, extra, body, tokenize='porter unicode61 remove_diacritics 2')"
        )
        insert_new = (
            "INSERT INTO resource_fts(rowid, title, extra, body) "
            "SELECT new.id, new.title, new.search_extra, new.summary WHERE new.status = 'active';"
        )
        op.execute(f"CREATE TRIGGER resource_fts_ai AFTER INSERT ON resource BEGIN {insert_new} END")
        op.execute(
            "CREATE TRIGGER resource_fts_ad AFTER DELETE ON resource BEGIN "
            "DELETE FROM resource_fts WHERE rowid = old.id; END"
        )
        op.execute(
            "CREATE TRIGGER resource_fts_au AFTER UPDATE ON resource BEGIN "
            f"DELETE FROM resource_fts WHERE rowid = old.id; {insert_new} END"
        )
    else:
        # Title (A), authors, publisher, areas and kind (B), the summary (C).
        op.execute(
            "ALTER TABLE resource ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ("
            "setweight(to_tsvector('english', coalesce(title,'')), 'A') || "
            "setweight(to_tsvector('english', coalesce(search_extra,'')), 'B') || "
            "setweight(to_tsvector('english', coalesce(summary,'')), 'C')) STORED"
        )
        op.execute(
            "CREATE INDEX ix_resource_search ON resource USING GIN (search_vector) WHERE status = 'active'"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS resource_fts")
    for table in (
        "digest_shown",
        "digest_settings",
        "member_interest",
        "resource_sent",
        "resource_rating",
        "resource_area",
        "resource",
    ):
        op.drop_table(table)
