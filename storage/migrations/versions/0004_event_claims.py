"""Event claims with a lease: each event's state, holder, attempts and body until it is handled.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    # Every event recorded so far was handled when it arrived: they stay done.
    with op.batch_alter_table("processed_events") as batch:
        batch.add_column(sa.Column("state", sa.String(length=16), server_default="done", nullable=False))
        batch.add_column(sa.Column("claimed_at", TIMESTAMP, nullable=True))
        batch.add_column(sa.Column("claimed_by", sa.String(length=255), nullable=True))
        batch.add_column(sa.Column("attempts", sa.Integer(), server_default="1", nullable=False))
        batch.add_column(sa.Column("body", sa.Text(), nullable=True))
        batch.add_column(sa.Column("error", sa.Text(), nullable=True))
        batch.create_check_constraint(
            op.f("ck_processed_events_state_valid"), "state IN ('handling', 'done', 'failed')"
        )
        batch.create_check_constraint(op.f("ck_processed_events_attempts_non_negative"), "attempts >= 0")
        batch.create_index(
            "ix_processed_events_team_id_state_claimed_at", ["team_id", "state", "claimed_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("processed_events") as batch:
        batch.drop_index("ix_processed_events_team_id_state_claimed_at")
        batch.drop_constraint(op.f("ck_processed_events_attempts_non_negative"), type_="check")
        batch.drop_constraint(op.f("ck_processed_events_state_valid"), type_="check")
        for column in ("error", "body", "attempts", "claimed_by", "claimed_at", "state"):
            batch.drop_column(column)
