"""identity scoped by workspace (issue 12): a member is (platform, workspace, user_id).

Every table that names a member by its platform ids gains `workspace` (the Slack team, or the Enterprise
Grid org for an org-wide install; "" on platforms without one), and its unique constraint includes it.

Existing rows get "": a migration cannot ask Slack which workspace the token serves. The Slack adapter asks
`auth.test` at start and then fills the Slack rows still holding "" with that workspace
(`bot.members.workspaces.adopt`), which is right because an installation before this revision served
exactly one workspace.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# table -> (unique constraint, its columns before) ; None where the table has no such constraint
_TABLES: dict[str, tuple[str, list[str]] | None] = {
    "member": ("uq_member_identity", ["platform", "user_id"]),
    "role_grant": ("uq_role_grant", ["platform", "user_id", "scope"]),
    "audit_log": None,
    "unreachable_member": ("uq_unreachable_member", ["platform", "user_id"]),
}


def _workspace() -> sa.Column:  # type: ignore[type-arg]
    return sa.Column("workspace", sa.String(100), nullable=False, server_default="")


def upgrade() -> None:
    for table, unique in _TABLES.items():
        with op.batch_alter_table(table) as batch:
            batch.add_column(_workspace())
            if unique is not None:
                name, columns = unique
                batch.drop_constraint(name, type_="unique")
                batch.create_unique_constraint(name, [columns[0], "workspace", *columns[1:]])
    with op.batch_alter_table("forum_settings") as batch:
        batch.add_column(
            sa.Column("facilitator_workspace", sa.String(100), nullable=False, server_default="")
        )


def downgrade() -> None:
    with op.batch_alter_table("forum_settings") as batch:
        batch.drop_column("facilitator_workspace")
    for table, unique in _TABLES.items():
        with op.batch_alter_table(table) as batch:
            if unique is not None:
                name, columns = unique
                batch.drop_constraint(name, type_="unique")
                batch.create_unique_constraint(name, columns)
            batch.drop_column("workspace")
