"""Reading Bluesky and Mastodon posts from their networks: which posts are watched and when each is
fetched next, replies seen there kept as comments (no one flagged them), counts fetched as snapshots
(with quote posts apart from shares), and a channel's switch for it.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | Sequence[str] | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
OLD_SOURCES = "source IN ('thread', 'command', 'import')"
SOURCES = "source IN ('thread', 'command', 'import', 'fetched')"
NETWORKS = "IN ('bluesky', 'mastodon')"


def upgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("watch_enabled", sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table("snapshots") as batch:
        batch.drop_constraint(op.f("ck_snapshots_source_valid"), type_="check")
        batch.create_check_constraint(op.f("ck_snapshots_source_valid"), SOURCES)
        batch.add_column(sa.Column("quotes", sa.Integer(), nullable=True))
        batch.create_check_constraint(op.f("ck_snapshots_quotes_non_negative"), "quotes >= 0")
    with op.batch_alter_table("comments") as batch:
        batch.alter_column("flagged_by", existing_type=sa.String(32), nullable=True)
        batch.add_column(sa.Column("seen_on", sa.String(16), nullable=True))
        batch.add_column(sa.Column("remote_id", sa.String(255), nullable=True))
        batch.create_check_constraint(op.f("ck_comments_seen_on_valid"), f"seen_on {NETWORKS}")
        batch.create_unique_constraint(
            op.f("uq_comments_team_id_post_id_remote_id"), ["team_id", "post_id", "remote_id"]
        )
    op.create_table(
        "watches",
        sa.Column("id", ID, nullable=False),
        sa.Column("team_id", sa.String(32), nullable=False),
        sa.Column("post_id", ID, nullable=False),
        sa.Column("network", sa.String(16), nullable=False),
        sa.Column("target", sa.String(255), nullable=True),
        sa.Column("anchor_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("slot", sa.Integer(), server_default="-1", nullable=False),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("fetched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"network {NETWORKS}", name=op.f("ck_watches_network_valid")),
        sa.CheckConstraint("attempts >= 0", name=op.f("ck_watches_attempts_non_negative")),
        sa.ForeignKeyConstraint(
            ["post_id"], ["posts.id"], name=op.f("fk_watches_post_id_posts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_watches")),
        sa.UniqueConstraint("team_id", "post_id", name=op.f("uq_watches_team_id_post_id")),
    )
    op.create_index(op.f("ix_watches_team_id_due_at"), "watches", ["team_id", "due_at"])
    op.create_index(op.f("ix_watches_post_id"), "watches", ["post_id"])


def downgrade() -> None:
    op.drop_table("watches")
    # Replies read from a network have no one who flagged them: they go, with what they carried.
    op.execute("DELETE FROM comments WHERE flagged_by IS NULL")
    with op.batch_alter_table("comments") as batch:
        batch.drop_constraint(op.f("uq_comments_team_id_post_id_remote_id"), type_="unique")
        batch.drop_constraint(op.f("ck_comments_seen_on_valid"), type_="check")
        batch.drop_column("remote_id")
        batch.drop_column("seen_on")
        batch.alter_column("flagged_by", existing_type=sa.String(32), nullable=False)
    op.execute("DELETE FROM snapshots WHERE source = 'fetched'")
    with op.batch_alter_table("snapshots") as batch:
        batch.drop_constraint(op.f("ck_snapshots_source_valid"), type_="check")
        batch.create_check_constraint(op.f("ck_snapshots_source_valid"), OLD_SOURCES)
        batch.drop_constraint(op.f("ck_snapshots_quotes_non_negative"), type_="check")
        batch.drop_column("quotes")
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("watch_enabled")
