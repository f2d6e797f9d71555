"""What answering together needs: who is on a comment and since when, how long a claim stays fresh in a
channel, the messages twoway posted about comments (so that each is drawn again when one changes),
nudges folded into a digest or left to a person's weekly direct message, and each person's own
settings and weekly direct messages.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0014"
down_revision: str | Sequence[str] | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_NUDGE_STATES = "state IN ('claimed', 'sent', 'failed')"
NUDGE_STATES = "state IN ('claimed', 'sent', 'failed', 'folded', 'skipped')"


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(32), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("claim_assigned_by", sa.String(32), nullable=True))
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("claim_hours", sa.Integer(), server_default="24", nullable=False))
        batch.create_check_constraint(op.f("ck_channels_claim_hours_positive"), "claim_hours > 0")
    with op.batch_alter_table("nudges") as batch:
        batch.drop_constraint(op.f("ck_nudges_state_valid"), type_="check")
        batch.create_check_constraint(op.f("ck_nudges_state_valid"), NUDGE_STATES)
    op.create_table(
        "posted_messages",
        sa.Column("id", ID, nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("ts", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("recipe", sa.Text(), nullable=False),
        sa.Column("posted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("stale_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        sa.Column("refreshed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('notice', 'nudge', 'digest', 'dm')", name=op.f("ck_posted_messages_kind_valid")
        ),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_posted_messages_attempts_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posted_messages")),
        sa.UniqueConstraint(
            "team_id", "channel_id", "ts", name=op.f("uq_posted_messages_team_id_channel_id_ts")
        ),
    )
    op.create_index(op.f("ix_posted_messages_stale_since"), "posted_messages", ["stale_since"])
    op.create_index(op.f("ix_posted_messages_posted_at"), "posted_messages", ["posted_at"])
    op.create_table(
        "posted_message_comments",
        sa.Column("message_id", ID, nullable=False),
        sa.Column("comment_id", ID, nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["posted_messages.id"],
            name=op.f("fk_posted_message_comments_message_id_posted_messages"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["comments.id"],
            name=op.f("fk_posted_message_comments_comment_id_comments"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("message_id", "comment_id", name=op.f("pk_posted_message_comments")),
    )
    op.create_index(
        op.f("ix_posted_message_comments_team_id_comment_id"),
        "posted_message_comments",
        ["team_id", "comment_id"],
    )
    op.create_index(op.f("ix_posted_message_comments_comment_id"), "posted_message_comments", ["comment_id"])
    op.create_table(
        "people",
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("weekly_dm", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("timezone", sa.String(64), nullable=True),
        sa.Column("timezone_read_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("team_id", "user_id", name=op.f("pk_people")),
    )
    op.create_table(
        "weekly_dms",
        sa.Column("id", ID, nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("user_id", sa.String(32), nullable=False),
        sa.Column("week_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("state", sa.String(16), server_default="claimed", nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("channel_id", sa.String(32), nullable=True),
        sa.Column("message_ts", sa.String(32), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("state IN ('claimed', 'sent', 'failed')", name=op.f("ck_weekly_dms_state_valid")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_weekly_dms_attempts_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_weekly_dms")),
        sa.UniqueConstraint(
            "team_id", "user_id", "week_start", name=op.f("uq_weekly_dms_team_id_user_id_week_start")
        ),
    )


def downgrade() -> None:
    op.drop_table("weekly_dms")
    op.drop_table("people")
    op.drop_table("posted_message_comments")
    op.drop_table("posted_messages")
    op.execute("UPDATE nudges SET state = 'sent' WHERE state IN ('folded', 'skipped')")
    with op.batch_alter_table("nudges") as batch:
        batch.drop_constraint(op.f("ck_nudges_state_valid"), type_="check")
        batch.create_check_constraint(op.f("ck_nudges_state_valid"), OLD_NUDGE_STATES)
    with op.batch_alter_table("channels") as batch:
        batch.drop_constraint(op.f("ck_channels_claim_hours_positive"), type_="check")
        batch.drop_column("claim_hours")
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("claim_assigned_by")
        batch.drop_column("claimed_at")
        batch.drop_column("claimed_by")
