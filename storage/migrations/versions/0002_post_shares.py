"""Post shares (which messages brought which posts), twoway's notice on each comment, imported posts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SLACK_ID = sa.String(length=32)
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "post_shares",
        sa.Column("id", ID, nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("post_id", ID, nullable=False),
        sa.Column("channel_id", SLACK_ID, nullable=False),
        sa.Column("message_ts", SLACK_ID, nullable=False),
        sa.Column("user_id", SLACK_ID, nullable=False),
        sa.Column("shared_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_post_shares_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_post_shares")),
        sa.UniqueConstraint(
            "team_id",
            "channel_id",
            "message_ts",
            "post_id",
            name=op.f("uq_post_shares_team_id_channel_id_message_ts_post_id"),
        ),
    )
    op.create_index("ix_post_shares_team_id_post_id", "post_shares", ["team_id", "post_id"], unique=False)
    # Every post so far came from one message: its own.
    op.execute(
        "INSERT INTO post_shares (team_id, post_id, channel_id, message_ts, user_id, shared_at) "
        "SELECT team_id, id, channel_id, message_ts, owner_user_id, shared_at FROM posts "
        "WHERE withdrawn_at IS NULL"
    )
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("notice_ts", SLACK_ID, nullable=True))
    # Posts loaded by `twoway import` have no Slack message of their own.
    with op.batch_alter_table("posts") as batch:
        batch.alter_column("message_ts", existing_type=SLACK_ID, nullable=True)


def downgrade() -> None:
    with op.batch_alter_table("posts") as batch:
        batch.alter_column("message_ts", existing_type=SLACK_ID, nullable=False)
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("notice_ts")
    op.drop_index("ix_post_shares_team_id_post_id", table_name="post_shares")
    op.drop_table("post_shares")
