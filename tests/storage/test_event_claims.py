from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import partial

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.event_claims import (
    claim_event,
    purge_events,
    record_event_done,
    record_event_failed,
    renew_event_claim,
    take_over_event,
    unfinished_events,
)
from storage.models import ProcessedEvent
from tests.support.concurrency import all_at_once

NOW = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)
LATER = NOW + LEASE + timedelta(seconds=1)

Sessions = sessionmaker[Session]


def claim(s: Session, team_id: str = "T1", event_id: str = "Ev1", now: datetime = NOW) -> bool:
    return claim_event(s, team_id, event_id, body='{"event": {}}', replica="a", now=now)


def take(s: Session, now: datetime, team_id: str = "T1", event_id: str = "Ev1") -> ProcessedEvent | None:
    return take_over_event(
        s, team_id, event_id, replica="b", now=now, stale_before=now - LEASE, max_attempts=3
    )


def row(s: Session, team_id: str = "T1", event_id: str = "Ev1") -> ProcessedEvent:
    return s.scalars(
        select(ProcessedEvent).where(ProcessedEvent.team_id == team_id, ProcessedEvent.event_id == event_id)
    ).one()


def test_an_event_is_claimed_once_per_workspace(sessions: Sessions) -> None:
    with sessions.begin() as s:
        assert claim(s)
    with sessions.begin() as s:
        assert not claim(s)
        # Event ids are only unique within a workspace.
        assert claim(s, team_id="T2")
        held = row(s)
        assert (held.state, held.claimed_by, held.attempts, held.body) == (
            "handling",
            "a",
            1,
            '{"event": {}}',
        )


def test_of_concurrent_claims_one_wins(sessions: Sessions) -> None:
    for event_id in ["Ev1", "Ev2", "Ev3"]:
        claims = all_at_once(sessions, partial(claim, event_id=event_id))
        assert claims.count(True) == 1, claims


def test_a_claim_within_its_lease_is_not_taken_over(sessions: Sessions) -> None:
    with sessions.begin() as s:
        claim(s)
    with sessions.begin() as s:
        assert take(s, NOW + LEASE - timedelta(seconds=1)) is None
        assert row(s).claimed_by == "a"


def test_a_lapsed_claim_is_taken_over_by_one_replica(sessions: Sessions) -> None:
    with sessions.begin() as s:
        claim(s)
    taken = all_at_once(sessions, lambda s: take(s, LATER) is not None)
    assert taken.count(True) == 1
    with sessions.begin() as s:
        held = row(s)
        assert (held.state, held.claimed_by, held.attempts, held.claimed_at) == ("handling", "b", 2, LATER)
        # The first holder, waking up, can no longer settle a claim that is not its own.
        assert not record_event_done(s, "T1", "Ev1", claimed_at=NOW)
        assert row(s).state == "handling"


def test_done_forgets_the_body_and_is_never_taken_over(sessions: Sessions) -> None:
    with sessions.begin() as s:
        claim(s)
    with sessions.begin() as s:
        assert record_event_done(s, "T1", "Ev1", claimed_at=NOW)
    with sessions.begin() as s:
        assert (row(s).state, row(s).body) == ("done", None)
        assert take(s, LATER + timedelta(days=1)) is None
        assert unfinished_events(s, "T1", stale_before=LATER, max_attempts=3, limit=10) == []


def test_a_failed_event_keeps_its_body_and_is_retried_after_the_lease(sessions: Sessions) -> None:
    with sessions.begin() as s:
        claim(s)
        claim(s, team_id="T2")
    with sessions.begin() as s:
        assert record_event_failed(s, "T1", "Ev1", claimed_at=NOW, error="KeyError: 'ts'")
        failed = row(s)
        assert (failed.state, failed.error, failed.body) == ("failed", "KeyError: 'ts'", '{"event": {}}')
        assert unfinished_events(s, "T1", stale_before=NOW, max_attempts=3, limit=10) == []
        assert unfinished_events(s, "T1", stale_before=LATER - LEASE, max_attempts=3, limit=10) == ["Ev1"]
        assert take(s, NOW + timedelta(seconds=5)) is None
        assert take(s, LATER) is not None


def test_an_event_out_of_attempts_is_left_alone(sessions: Sessions) -> None:
    with sessions.begin() as s:
        claim(s)
    moment = NOW
    for attempt in (2, 3):
        moment += LEASE + timedelta(seconds=1)
        with sessions.begin() as s:
            taken = take(s, moment)
            assert taken is not None
            assert taken.attempts == attempt
    moment += LEASE + timedelta(seconds=1)
    with sessions.begin() as s:
        assert take(s, moment) is None
        assert unfinished_events(s, "T1", stale_before=moment, max_attempts=3, limit=10) == []
        assert row(s).body is not None, "kept for people to look at"


def test_unfinished_events_are_the_teams_own_oldest_first(sessions: Sessions) -> None:
    with sessions.begin() as s:
        claim(s, event_id="Ev2", now=NOW + timedelta(seconds=2))
        claim(s, event_id="Ev1", now=NOW)
        claim(s, team_id="T2", event_id="Ev3", now=NOW)
    with sessions.begin() as s:
        assert unfinished_events(s, "T1", stale_before=LATER + LEASE, max_attempts=3, limit=10) == [
            "Ev1",
            "Ev2",
        ]
        assert unfinished_events(s, "T1", stale_before=LATER + LEASE, max_attempts=3, limit=1) == ["Ev1"]


@pytest.mark.parametrize("state", ["handling", "failed"])
def test_the_purge_deletes_only_the_teams_old_events(sessions: Sessions, state: str) -> None:
    with sessions.begin() as s:
        claim(s, event_id="old-done")
        claim(s, event_id="old-open")
        claim(s, event_id="new-done", now=NOW + timedelta(days=4))
        claim(s, team_id="T2", event_id="old-done")
    with sessions.begin() as s:
        record_event_done(s, "T1", "old-done", claimed_at=NOW)
        record_event_done(s, "T1", "new-done", claimed_at=NOW + timedelta(days=4))
        record_event_done(s, "T2", "old-done", claimed_at=NOW)
        if state == "failed":
            record_event_failed(s, "T1", "old-open", claimed_at=NOW, error="boom")
    with sessions.begin() as s:
        assert purge_events(s, "T1", done_before=NOW + timedelta(days=3), unfinished_before=NOW) == 1
    with sessions.begin() as s:
        left = s.scalars(select(ProcessedEvent.team_id + ":" + ProcessedEvent.event_id)).all()
        assert sorted(left) == ["T1:new-done", "T1:old-open", "T2:old-done"]
    with sessions.begin() as s:
        # Unfinished ones go too, once they are older than the second limit.
        assert purge_events(s, "T1", done_before=NOW, unfinished_before=NOW + timedelta(seconds=1)) == 1
        left = s.scalars(select(ProcessedEvent.team_id + ":" + ProcessedEvent.event_id)).all()
        assert sorted(left) == ["T1:new-done", "T2:old-done"]


def test_renewing_a_claim_restarts_its_lease_unless_it_was_taken_over(sessions: Sessions) -> None:
    with sessions.begin() as s:
        claim(s)
    started = NOW + LEASE - timedelta(seconds=1)
    with sessions.begin() as s:
        assert renew_event_claim(s, "T1", "Ev1", claimed_at=NOW, now=started)
    with sessions.begin() as s:
        assert take(s, LATER) is None, "the lease runs from the renewal"
        assert take(s, started + LEASE + timedelta(seconds=1)) is not None
    with sessions.begin() as s:
        assert not renew_event_claim(s, "T1", "Ev1", claimed_at=started, now=LATER)
