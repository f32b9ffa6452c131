"""the scheduler at ten times the scale (issue 14): an index on planned_post (state, next_try_at).

Claiming the next due posts, releasing lapsed claims, finding the next wake-up and renewing a batch's
claims all select by state first; with only `next_try_at` indexed they walked every sent post of the
store's history (and every pending one of the next month) on each batch.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-03
"""

from __future__ import annotations

from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_planned_post_state_next_try_at", "planned_post", ["state", "next_try_at"])


def downgrade() -> None:
    op.drop_index("ix_planned_post_state_next_try_at", table_name="planned_post")
