"""Kept messages: thread replies under tracked posts and messages sharing posts, so that a flag reaction
finds its message without reading it from Slack.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SLACK_ID = sa.String(length=32)


def upgrade() -> None:
    op.create_table(
        "kept_messages",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("channel_id", SLACK_ID, nullable=False),
        sa.Column("ts", SLACK_ID, nullable=False),
        sa.Column("thread_ts", SLACK_ID, nullable=True),
        sa.Column("user_id", SLACK_ID, nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["team_id", "channel_id"],
            ["channels.team_id", "channels.channel_id"],
            name=op.f("fk_kept_messages_team_id_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_kept_messages")),
        sa.UniqueConstraint(
            "team_id", "channel_id", "ts", name=op.f("uq_kept_messages_team_id_channel_id_ts")
        ),
    )
    op.create_index(
        "ix_kept_messages_team_id_received_at", "kept_messages", ["team_id", "received_at"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_kept_messages_team_id_received_at", table_name="kept_messages")
    op.drop_table("kept_messages")
