"""one vocabulary for learning areas (issue 13): practices' framework `customer-focused-leadership` is the
learning area `customer-focused-service`, as resources, the glossary and members' interests spell it.

Data only: stored framework labels move to the one spelling. The old spelling stays accepted on input
(bot/vocabulary.py). Downgrade moves them back.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

OLD, NEW = "customer-focused-leadership", "customer-focused-service"


def _move(source: str, target: str) -> None:
    op.get_bind().execute(
        sa.text("UPDATE practice_label SET value = :target WHERE kind = 'framework' AND value = :source"),
        {"source": source, "target": target},
    )


def upgrade() -> None:
    _move(OLD, NEW)


def downgrade() -> None:
    _move(NEW, OLD)
