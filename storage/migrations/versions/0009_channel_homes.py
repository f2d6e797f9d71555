"""Channel homes: which installation's ledger holds a channel shared by several workspaces.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Channels known before this revision start with no home: the next request in each claims one,
    # for the workspace it comes from, which is the only one that could have recorded it.
    op.create_table(
        "channel_homes",
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("enterprise_id", sa.String(32), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel_id", name=op.f("pk_channel_homes")),
    )
    op.create_index("ix_channel_homes_team_id", "channel_homes", ["team_id"])


def downgrade() -> None:
    op.drop_index("ix_channel_homes_team_id", table_name="channel_homes")
    op.drop_table("channel_homes")
