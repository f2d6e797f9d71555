"""Departed workspaces: when a workspace removed twoway, so that its ledger is purged 30 days later;
and an index on each foreign key, so that purging a workspace's posts and comments never scans
their child tables once per row.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-20
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The child tables' foreign keys that no index led with.
FOREIGN_KEYS = (
    ("post_shares", "post_id"),
    ("snapshots", "post_id"),
    ("comments", "post_id"),
    ("nudges", "comment_id"),
)


def upgrade() -> None:
    # Workspaces that left before this revision are not known to have left: their ledgers stay until
    # `twoway purge --team`, as they would have before.
    op.create_table(
        "departed_workspaces",
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("team_id", name=op.f("pk_departed_workspaces")),
    )
    op.create_index("ix_departed_workspaces_left_at", "departed_workspaces", ["left_at"])
    for table, column in FOREIGN_KEYS:
        op.create_index(f"ix_{table}_{column}", table, [column])


def downgrade() -> None:
    for table, column in FOREIGN_KEYS:
        op.drop_index(f"ix_{table}_{column}", table_name=table)
    op.drop_index("ix_departed_workspaces_left_at", table_name="departed_workspaces")
    op.drop_table("departed_workspaces")
