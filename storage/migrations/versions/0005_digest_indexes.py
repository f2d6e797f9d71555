"""Indexes for the digest: comments closed since a date, and nudges that failed since the last digest.

Without them a digest read its channel's whole comment history and the team's every nudge.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.create_index(
            "ix_comments_team_id_channel_id_answered_at_dismissed_at",
            ["team_id", "channel_id", "answered_at", "dismissed_at"],
            unique=False,
        )
    with op.batch_alter_table("nudges") as batch:
        batch.create_index(
            "ix_nudges_team_id_state_claimed_at", ["team_id", "state", "claimed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("nudges") as batch:
        batch.drop_index("ix_nudges_team_id_state_claimed_at")
    with op.batch_alter_table("comments") as batch:
        batch.drop_index("ix_comments_team_id_channel_id_answered_at_dismissed_at")
