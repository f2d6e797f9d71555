"""Seen requests: the signatures of accepted HTTP requests, so that a replayed one is refused.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
SLACK_ID = sa.String(length=32)
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "seen_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("team_id", SLACK_ID, nullable=False),
        sa.Column("signature", sa.String(length=128), nullable=False),
        sa.Column("seen_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_seen_requests")),
        sa.UniqueConstraint("signature", name=op.f("uq_seen_requests_signature")),
    )
    # The purge deletes by age.
    op.create_index("ix_seen_requests_seen_at", "seen_requests", ["seen_at"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_seen_requests_seen_at", table_name="seen_requests")
    op.drop_table("seen_requests")
