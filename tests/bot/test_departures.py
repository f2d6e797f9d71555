"""A workspace that removed twoway: its ledger kept 30 days, then purged once, unless it came back."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot import departures
from bot.departures import KEEP_AFTER_LEAVING
from storage.channels import ensure_channel
from storage.departed_workspaces import record_departure, take_departure
from storage.event_claims import claim_event
from storage.messages import keep_message
from storage.workspace_rows import count_rows
from tests.support.concurrency import all_at_once

Sessions = sessionmaker[Session]
LEFT = datetime(2025, 3, 3, 12, 0, tzinfo=UTC)
GONE, STAYS = "T0GONE0001", "T0STAYS001"


def seed(sessions: Sessions, team_id: str) -> None:
    """A channel, a kept message and a failed event of ``team_id``."""
    with sessions.begin() as s:
        ensure_channel(s, team_id, "C0SOCIAL01", now=LEFT - timedelta(days=90))
        keep_message(
            s,
            team_id,
            channel_id="C0SOCIAL01",
            ts="1741000000.000100",
            thread_ts=None,
            user_id="U0ADA00001",
            text="Do you ship to Canada?",
            received_at=LEFT,
            replace=False,
        )
        claim_event(s, team_id, "Ev1", body=json.dumps({"text": "hello"}), replica="r", now=LEFT)


def held(sessions: Sessions, team_id: str) -> dict[str, int]:
    with sessions.begin() as s:
        return {table: n for table, n in count_rows(s, team_id).items() if n}


@pytest.fixture
def two(sessions: Sessions) -> Sessions:
    seed(sessions, GONE)
    seed(sessions, STAYS)
    return sessions


def test_a_workspace_that_left_keeps_its_ledger_30_days_then_it_is_purged(two: Sessions) -> None:
    assert timedelta(days=30) == KEEP_AFTER_LEAVING
    assert departures.left(two, GONE, LEFT, "app_uninstalled") == LEFT + KEEP_AFTER_LEAVING
    assert departures.away(two) == {GONE}
    stays = held(two, STAYS)

    assert departures.purge_departed(two, LEFT + KEEP_AFTER_LEAVING - timedelta(seconds=1)) == []
    assert held(two, GONE) == {**stays, "departed_workspaces": 1}

    assert departures.purge_departed(two, LEFT + KEEP_AFTER_LEAVING + timedelta(seconds=1)) == [GONE]
    assert held(two, GONE) == {}
    assert held(two, STAYS) == stays
    assert departures.away(two) == set()
    assert departures.purge_departed(two, LEFT + timedelta(days=60)) == []


def test_a_second_notice_of_the_same_departure_keeps_the_first_date(two: Sessions) -> None:
    departures.left(two, GONE, LEFT, "app_uninstalled")
    assert departures.left(two, GONE, LEFT + timedelta(days=5), "tokens_revoked") == LEFT + KEEP_AFTER_LEAVING
    assert departures.purge_departed(two, LEFT + KEEP_AFTER_LEAVING + timedelta(seconds=1)) == [GONE]


def test_coming_back_within_30_days_cancels_the_purge(two: Sessions) -> None:
    departures.left(two, GONE, LEFT, "app_uninstalled")
    before = held(two, GONE)
    assert departures.came_back(two, GONE)
    assert not departures.came_back(two, GONE), "nothing left to cancel"
    assert not departures.came_back(two, STAYS), "never left"
    assert departures.purge_departed(two, LEFT + timedelta(days=365)) == []
    assert held(two, GONE) == {k: v for k, v in before.items() if k != "departed_workspaces"}

    # Leaving again counts from the new date.
    again = LEFT + timedelta(days=100)
    assert departures.left(two, GONE, again, "app_uninstalled") == again + KEEP_AFTER_LEAVING
    assert departures.purge_departed(two, again + timedelta(days=29)) == []
    assert departures.purge_departed(two, again + timedelta(days=31)) == [GONE]


def test_of_replicas_purging_together_one_takes_the_departure(sessions: Sessions) -> None:
    with sessions.begin() as s:
        record_departure(s, GONE, now=LEFT, reason="app_uninstalled")
    later = LEFT + KEEP_AFTER_LEAVING + timedelta(seconds=1)
    taken = all_at_once(sessions, lambda s: take_departure(s, GONE, before=later))
    assert sorted(taken) == [False] * 7 + [True]


def test_a_departure_not_yet_due_is_not_taken(sessions: Sessions) -> None:
    with sessions.begin() as s:
        record_departure(s, GONE, now=LEFT, reason="tokens_revoked")
        assert not take_departure(s, GONE, before=LEFT)
        assert take_departure(s, GONE, before=LEFT + timedelta(seconds=1))
