from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session, sessionmaker

from storage.channels import ensure_channel, get_channel
from storage.workspace_rows import count_rows
from tests.support.concurrency import all_at_once

NOW = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)

Sessions = sessionmaker[Session]


def test_ensure_channel_creates_the_channel_with_its_time_zone(sessions: Sessions) -> None:
    with sessions.begin() as s:
        channel = ensure_channel(s, "T1", "C1", name="social", timezone="Europe/Oslo", now=NOW)
        assert (channel.team_id, channel.channel_id, channel.name) == ("T1", "C1", "social")
        assert channel.timezone == "Europe/Oslo"
        assert channel.created_at == channel.updated_at == NOW
        assert channel.unanswered_threshold_hours == 24


def test_ensure_channel_returns_the_existing_channel_unchanged(sessions: Sessions) -> None:
    with sessions.begin() as s:
        first = ensure_channel(s, "T1", "C1", name="social", now=NOW)
        first.tracked = True
    later = NOW + timedelta(days=1)
    with sessions.begin() as s:
        again = ensure_channel(s, "T1", "C1", name="renamed", timezone="Asia/Tokyo", now=later)
        assert again.id == first.id
        assert (again.name, again.timezone, again.tracked, again.created_at) == ("social", "UTC", True, NOW)
        assert count_rows(s, "T1")["channels"] == 1


def test_ensure_channel_from_concurrent_callers_makes_one_row(sessions: Sessions) -> None:
    ids = all_at_once(sessions, lambda s: ensure_channel(s, "T1", "C1", now=NOW).id)
    assert len(set(ids)) == 1
    with sessions() as s:
        assert count_rows(s, "T1")["channels"] == 1


def test_get_channel_only_finds_the_teams_own_channel(sessions: Sessions) -> None:
    with sessions.begin() as s:
        ensure_channel(s, "T1", "C1", name="social", now=NOW)
    with sessions() as s:
        found = get_channel(s, "T1", "C1")
        assert found is not None
        assert found.name == "social"
        assert get_channel(s, "T2", "C1") is None
        assert get_channel(s, "T1", "C2") is None
