from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import UniqueConstraint
from sqlalchemy.orm import Session, sessionmaker

from storage.channels import ensure_channel
from storage.event_claims import claim_event
from storage.models import Base
from storage.workspace_rows import count_rows

NOW = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)

Sessions = sessionmaker[Session]


def test_count_rows_covers_every_table_and_counts_one_team(sessions: Sessions) -> None:
    with sessions.begin() as s:
        assert count_rows(s, "T1") == dict.fromkeys(Base.metadata.tables, 0)
        ensure_channel(s, "T1", "C1", now=NOW)
        ensure_channel(s, "T1", "C2", now=NOW)
        ensure_channel(s, "T2", "C1", now=NOW)
        claim_event(s, "T2", "Ev1", body="{}", replica="r1", now=NOW)
    with sessions() as s:
        assert count_rows(s, "T1")["channels"] == 2
        assert count_rows(s, "T1")["processed_events"] == 0
        assert count_rows(s, "T2")["channels"] == count_rows(s, "T2")["processed_events"] == 1


def test_every_foreign_key_leads_an_index_so_a_purge_never_scans_a_child_table_per_row() -> None:
    """Deleting a workspace's posts makes the database look up each post's children by ``post_id``
    alone (the foreign key), whichever rows were deleted before: without an index that leads with it,
    one scan of the child table per post. Before: purging a workspace of 8,000 posts (61,010 rows)
    beside another as big took 47 s on SQLite and 11 s on PostgreSQL; with the indexes, 0.19 s and 0.17 s."""
    for table in Base.metadata.sorted_tables:
        indexed = [[c.name for c in index.columns] for index in table.indexes]
        indexed += [[c.name for c in u.columns] for u in table.constraints if isinstance(u, UniqueConstraint)]
        # A primary key is an index too, on both backends (SQLite's composite one an automatic index).
        indexed.append([c.name for c in table.primary_key.columns])
        for key in table.foreign_key_constraints:
            columns = set(key.column_keys)
            assert any(set(names[: len(columns)]) == columns for names in indexed), (
                f"{table.name} {sorted(columns)} leads no index"
            )
