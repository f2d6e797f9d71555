"""The message an event claim is about, so that a reply under a message whose own event is still in hand
is told apart from one under chatter.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Claims made before this revision name no message: they are days old, or done, and none of them
    # is a message's event still in hand a reply could be waiting on.
    with op.batch_alter_table("processed_events") as batch:
        batch.add_column(sa.Column("message_ts", sa.String(32), nullable=True))
    op.create_index("ix_processed_events_team_id_message_ts", "processed_events", ["team_id", "message_ts"])


def downgrade() -> None:
    op.drop_index("ix_processed_events_team_id_message_ts", table_name="processed_events")
    with op.batch_alter_table("processed_events") as batch:
        batch.drop_column("message_ts")
