"""Slack turns: the pace of each Slack method per workspace, shared by every replica.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLACK_ID = sa.String(length=32)


def upgrade() -> None:
    op.create_table(
        "slack_turns",
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("method", sa.String(length=64), nullable=False),
        sa.Column("channel_id", SLACK_ID, nullable=False),
        sa.Column("next_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "method", "channel_id", name=op.f("pk_slack_turns")),
    )


def downgrade() -> None:
    op.drop_table("slack_turns")
