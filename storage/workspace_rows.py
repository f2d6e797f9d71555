"""A workspace's rows in every table of the ledger: counted, or deleted when it is purged.

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
