"""A practice's filters as keys in its search index (issue 14): `filter_keys` holds one `kind=value` per
tag, framework, sector, level and policy area ("tag=equity level=county"), and on PostgreSQL the search
vector carries each as a lexeme of its own, so a filtered search is one GIN lookup of the words and the
filters together instead of the words' matches each checked against practice_label. Words typed in a
search never become such a lexeme (the parser splits at "=").

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None

_BODY_SQL = (
    "coalesce(what,'') || ' ' || coalesce(how_much,'') || ' ' || "
    "coalesce(how_well,'') || ' ' || coalesce(better_off,'')"
)
_WORDS = (
    "setweight(to_tsvector('english', coalesce(title,'')), 'A') || "
    "setweight(to_tsvector('english', coalesce(search_extra,'')), 'B') || "
    f"setweight(to_tsvector('english', {_BODY_SQL}), 'C')"
)
_KEYS = "array_to_tsvector(array_remove(string_to_array(filter_keys, ' '), ''))"
_INDEX = "CREATE INDEX ix_practice_search ON practice USING GIN (search_vector) WHERE status = 'active'"

# The keys of every practice, in the order content/practices/service.py writes them: labels by kind and
# value, then level and policy area.
_BACKFILL = {
    "postgresql": (
        "UPDATE practice SET filter_keys = concat_ws(' ', (SELECT string_agg(l.kind || '=' || l.value, ' ' "
        "ORDER BY l.kind, l.value) FROM practice_label l WHERE l.practice_id = practice.id), "
        "'level=' || level, 'policy=' || policy_area)"
    ),
    "sqlite": (
        "UPDATE practice SET filter_keys = trim(coalesce((SELECT group_concat(k, ' ') FROM (SELECT "
        "l.kind || '=' || l.value AS k FROM practice_label l WHERE l.practice_id = practice.id ORDER BY "
        "l.kind, l.value)), '') || coalesce(' level=' || level, '') || coalesce(' policy=' || policy_area, ''))"
    ),
}


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX ix_practice_search")
        op.execute("ALTER TABLE practice DROP COLUMN search_vector")
    op.add_column("practice", sa.Column("filter_keys", sa.Text, nullable=False, server_default=""))
    if dialect == "sqlite":
        # The full-text index does not hold the keys: the backfill must not re-index every practice.
        op.execute("DROP TRIGGER practice_fts_au")
        op.execute(_BACKFILL["sqlite"])
        op.execute(
            "CREATE TRIGGER practice_fts_au AFTER UPDATE ON practice BEGIN "
            "DELETE FROM practice_fts WHERE rowid = old.id; "
            "INSERT INTO practice_fts(rowid, title, extra, body) "
            f"SELECT new.id, new.title, new.search_extra, {_BODY_SQL.replace('coalesce(', 'coalesce(new.')} "
            "WHERE new.status = 'active'; END"
        )
    else:
        op.execute(_BACKFILL["postgresql"])
        op.execute(
            f"ALTER TABLE practice ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({_WORDS} || {_KEYS}) "
            "STORED"
        )
        op.execute(_INDEX)


def downgrade() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX ix_practice_search")
        op.execute("ALTER TABLE practice DROP COLUMN search_vector")
    op.drop_column("practice", "filter_keys")
    if dialect == "postgresql":
        op.execute(
            f"ALTER TABLE practice ADD COLUMN search_vector tsvector GENERATED ALWAYS AS ({_WORDS}) STORED"
        )
        op.execute(_INDEX)
