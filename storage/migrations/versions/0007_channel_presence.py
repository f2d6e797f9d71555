"""Channel presence: whether twoway is still a member of each channel, and whether it is archived.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Channels known before this revision were ones twoway worked in, so they start as joined.
    with op.batch_alter_table("channels") as batch:
        batch.add_column(sa.Column("bot_is_member", sa.Boolean(), server_default=sa.true(), nullable=False))
        batch.add_column(sa.Column("is_archived", sa.Boolean(), server_default=sa.false(), nullable=False))


def downgrade() -> None:
    with op.batch_alter_table("channels") as batch:
        batch.drop_column("is_archived")
        batch.drop_column("bot_is_member")
