from __future__ import annotations

from datetime import UTC, datetime

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
