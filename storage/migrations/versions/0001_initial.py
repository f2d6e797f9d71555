"""Initial schema: channels, posts, snapshots, comments, digest runs, processed events, nudges.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copies of the model types, so this revision never changes when the models do.
ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SLACK_ID = sa.String(length=32)
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", ID, nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("channel_id", SLACK_ID, nullable=False),
        sa.Column("name", sa.String(length=255), nullable=True),
        sa.Column("tracked", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("digest_weekday", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("digest_minute", sa.SmallInteger(), server_default="540", nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("digest_enabled", sa.Boolean(), server_default=sa.true(), nullable=False),
        sa.Column("unanswered_threshold_hours", sa.Integer(), server_default="24", nullable=False),
        sa.Column("nudge_weekends", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.Column("flag_emoji", sa.String(length=100), server_default="speech_balloon", nullable=False),
        sa.Column("resolve_emoji", sa.String(length=100), server_default="white_check_mark", nullable=False),
        sa.Column("dismiss_emoji", sa.String(length=100), server_default="no_entry_sign", nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("digest_weekday BETWEEN 0 AND 6", name=op.f("ck_channels_digest_weekday_range")),
        sa.CheckConstraint("digest_minute BETWEEN 0 AND 1439", name=op.f("ck_channels_digest_minute_range")),
        sa.CheckConstraint(
            "unanswered_threshold_hours > 0", name=op.f("ck_channels_unanswered_threshold_positive")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint("team_id", "channel_id", name=op.f("uq_channels_team_id_channel_id")),
    )

    op.create_table(
        "processed_events",
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("event_id", sa.String(length=64), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("team_id", "event_id", name=op.f("pk_processed_events")),
    )

    op.create_table(
        "digest_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("channel_id", SLACK_ID, nullable=False),
        sa.Column("period_start", TIMESTAMP, nullable=False),
        sa.Column("period_end", TIMESTAMP, nullable=False),
        sa.Column("state", sa.String(length=16), server_default="claimed", nullable=False),
        sa.Column("claimed_at", TIMESTAMP, nullable=False),
        sa.Column("claimed_by", sa.String(length=255), nullable=True),
        sa.Column("posted_at", TIMESTAMP, nullable=True),
        sa.Column("message_ts", SLACK_ID, nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "state IN ('claimed', 'posted', 'failed')", name=op.f("ck_digest_runs_state_valid")
        ),
        sa.CheckConstraint("period_end > period_start", name=op.f("ck_digest_runs_period_ordered")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_digest_runs_attempts_non_negative")),
        sa.ForeignKeyConstraint(
            ["team_id", "channel_id"],
            ["channels.team_id", "channels.channel_id"],
            name=op.f("fk_digest_runs_team_id_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_digest_runs")),
        sa.UniqueConstraint(
            "team_id",
            "channel_id",
            "period_start",
            name=op.f("uq_digest_runs_team_id_channel_id_period_start"),
        ),
    )

    op.create_table(
        "posts",
        sa.Column("id", ID, nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("channel_id", SLACK_ID, nullable=False),
        sa.Column("canonical_url", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("owner_user_id", SLACK_ID, nullable=False),
        sa.Column("message_ts", SLACK_ID, nullable=False),
        sa.Column("shared_at", TIMESTAMP, nullable=False),
        sa.Column("withdrawn_at", TIMESTAMP, nullable=True),
        sa.ForeignKeyConstraint(
            ["team_id", "channel_id"],
            ["channels.team_id", "channels.channel_id"],
            name=op.f("fk_posts_team_id_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_posts")),
        sa.UniqueConstraint("team_id", "canonical_url", name=op.f("uq_posts_team_id_canonical_url")),
    )
    op.create_index(
        op.f("ix_posts_team_id_channel_id_shared_at"), "posts", ["team_id", "channel_id", "shared_at"]
    )
    op.create_index(
        op.f("ix_posts_team_id_channel_id_message_ts"), "posts", ["team_id", "channel_id", "message_ts"]
    )
    op.create_index(
        op.f("ix_posts_team_id_owner_user_id_shared_at"), "posts", ["team_id", "owner_user_id", "shared_at"]
    )

    op.create_table(
        "snapshots",
        sa.Column("id", ID, nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("post_id", ID, nullable=False),
        sa.Column("comments_received", sa.Integer(), server_default="0", nullable=False),
        sa.Column("replies_sent", sa.Integer(), server_default="0", nullable=False),
        sa.Column("shares", sa.Integer(), server_default="0", nullable=False),
        sa.Column("likes", sa.Integer(), server_default="0", nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.Column("recorded_by", SLACK_ID, nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_ref", sa.String(length=255), nullable=True),
        sa.CheckConstraint(
            "comments_received >= 0", name=op.f("ck_snapshots_comments_received_non_negative")
        ),
        sa.CheckConstraint("replies_sent >= 0", name=op.f("ck_snapshots_replies_sent_non_negative")),
        sa.CheckConstraint("shares >= 0", name=op.f("ck_snapshots_shares_non_negative")),
        sa.CheckConstraint("likes >= 0", name=op.f("ck_snapshots_likes_non_negative")),
        sa.CheckConstraint(
            "source IN ('thread', 'command', 'import')", name=op.f("ck_snapshots_source_valid")
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_snapshots_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_snapshots")),
        sa.UniqueConstraint(
            "team_id", "post_id", "recorded_at", name=op.f("uq_snapshots_team_id_post_id_recorded_at")
        ),
        sa.UniqueConstraint(
            "team_id",
            "post_id",
            "source",
            "source_ref",
            name=op.f("uq_snapshots_team_id_post_id_source_source_ref"),
        ),
    )

    op.create_table(
        "comments",
        sa.Column("id", ID, nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("post_id", ID, nullable=False),
        sa.Column("channel_id", SLACK_ID, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("author", sa.String(length=255), nullable=True),
        sa.Column("written_at", TIMESTAMP, nullable=True),
        sa.Column("state", sa.String(length=16), server_default="open", nullable=False),
        sa.Column("flagged_by", SLACK_ID, nullable=False),
        sa.Column("flagged_at", TIMESTAMP, nullable=False),
        sa.Column("answered_by", SLACK_ID, nullable=True),
        sa.Column("answered_at", TIMESTAMP, nullable=True),
        sa.Column("dismissed_by", SLACK_ID, nullable=True),
        sa.Column("dismissed_at", TIMESTAMP, nullable=True),
        sa.Column("message_ts", SLACK_ID, nullable=True),
        sa.Column("thread_ts", SLACK_ID, nullable=True),
        sa.Column("snoozed_until", TIMESTAMP, nullable=True),
        sa.CheckConstraint(
            "state IN ('open', 'answered', 'dismissed')", name=op.f("ck_comments_state_valid")
        ),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_comments_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_comments")),
        sa.UniqueConstraint(
            "team_id", "channel_id", "message_ts", name=op.f("uq_comments_team_id_channel_id_message_ts")
        ),
    )
    op.create_index(
        op.f("ix_comments_team_id_channel_id_state"), "comments", ["team_id", "channel_id", "state"]
    )
    op.create_index(op.f("ix_comments_team_id_post_id_state"), "comments", ["team_id", "post_id", "state"])

    op.create_table(
        "nudges",
        sa.Column("id", ID, nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("comment_id", ID, nullable=False),
        sa.Column("level", sa.SmallInteger(), nullable=False),
        sa.Column("state", sa.String(length=16), server_default="claimed", nullable=False),
        sa.Column("claimed_at", TIMESTAMP, nullable=False),
        sa.Column("sent_at", TIMESTAMP, nullable=True),
        sa.Column("message_ts", SLACK_ID, nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint("level IN (1, 2)", name=op.f("ck_nudges_level_valid")),
        sa.CheckConstraint("state IN ('claimed', 'sent', 'failed')", name=op.f("ck_nudges_state_valid")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_nudges_attempts_non_negative")),
        sa.ForeignKeyConstraint(
            ["comment_id"], ["comments.id"], name=op.f("fk_nudges_comment_id_comments"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nudges")),
        sa.UniqueConstraint(
            "team_id", "comment_id", "level", name=op.f("uq_nudges_team_id_comment_id_level")
        ),
    )


def downgrade() -> None:
    # Dependents first; dropping a table drops its indexes on both backends.
    op.drop_table("nudges")
    op.drop_table("comments")
    op.drop_table("snapshots")
    op.drop_table("posts")
    op.drop_table("digest_runs")
    op.drop_table("processed_events")
    op.drop_table("channels")
