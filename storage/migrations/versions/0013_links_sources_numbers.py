"""What a team's week needs to get in whole: a comment's own link; a short link's resolution; the
sites and accounts a channel names as its own, or as not its own; views, impressions and saves beside
the counts that make the reply rate; and when a post without numbers was asked for them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SOURCE_KINDS = ("site", "account", "not_account")


def upgrade() -> None:
    with op.batch_alter_table("comments") as batch:
        batch.add_column(sa.Column("url", sa.Text(), nullable=True))
    with op.batch_alter_table("posts") as batch:
        batch.add_column(sa.Column("link_attempts", sa.SmallInteger(), server_default="0", nullable=False))
        batch.add_column(sa.Column("link_checked_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("numbers_asked_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("snapshots") as batch:
        for column in ("views", "impressions", "saves"):
            batch.add_column(sa.Column(column, sa.Integer(), nullable=True))
            batch.create_check_constraint(op.f(f"ck_snapshots_{column}_non_negative"), f"{column} >= 0")
    op.create_table(
        "channel_sources",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("channel_id", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("value", sa.String(255), nullable=False),
        sa.Column("added_by", sa.String(32), nullable=True),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "kind IN (" + ", ".join(repr(kind) for kind in SOURCE_KINDS) + ")",
            name=op.f("ck_channel_sources_kind_valid"),
        ),
        sa.ForeignKeyConstraint(
            ["team_id", "channel_id"],
            ["channels.team_id", "channels.channel_id"],
            name=op.f("fk_channel_sources_team_id_channel_id_channels"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_sources")),
        sa.UniqueConstraint(
            "team_id",
            "channel_id",
            "kind",
            "value",
            name=op.f("uq_channel_sources_team_id_channel_id_kind_value"),
        ),
    )


def downgrade() -> None:
    op.drop_table("channel_sources")
    with op.batch_alter_table("snapshots") as batch:
        for column in ("views", "impressions", "saves"):
            batch.drop_constraint(op.f(f"ck_snapshots_{column}_non_negative"), type_="check")
            batch.drop_column(column)
    with op.batch_alter_table("posts") as batch:
        batch.drop_column("numbers_asked_at")
        batch.drop_column("link_checked_at")
        batch.drop_column("link_attempts")
    with op.batch_alter_table("comments") as batch:
        batch.drop_column("url")
