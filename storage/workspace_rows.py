"""A workspace's rows in every table of the ledger: counted, or deleted when it is purged; and one
channel's rows, deleted with the channel.

``twoway purge`` counts what it will delete, and deletes it, here and in the installation tables
(``storage.installations``). None commits.
"""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from storage.models import Base


def count_rows(s: Session, team_id: str) -> dict[str, int]:
    """Return the number of the team's rows in every table, keyed by table name."""
    counts: dict[str, int] = {}
    for table in Base.metadata.sorted_tables:
        counts[table.name] = (
            s.scalar(select(func.count()).select_from(table).where(table.c.team_id == team_id)) or 0
        )
    return counts


def delete_team_rows(s: Session, team_id: str) -> None:
    """Delete every row of the team in every table, children first so that no foreign key objects."""
    for table in reversed(Base.metadata.sorted_tables):
        s.execute(delete(table).where(table.c.team_id == team_id))


def delete_channel_rows(s: Session, team_id: str, channel_id: str) -> None:
    """Delete the team's rows about one channel in every table, children first.

    Tables without a ``channel_id`` hang off one that has it (snapshots off posts, nudges off
    comments), and go with their parents through ``ON DELETE CASCADE``.
    """
    for table in reversed(Base.metadata.sorted_tables):
        if "channel_id" in table.c:
            s.execute(delete(table).where(table.c.team_id == team_id, table.c.channel_id == channel_id))
