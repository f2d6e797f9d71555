"""The inbox: an event is claimed before Slack's 200, handled once across replicas, and handled
again when the replica holding it died or its listeners failed."""

from __future__ import annotations

import json
import logging
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.inbox import KEEP_UNFINISHED, MAX_EVENT_ATTEMPTS, Inbox, event_key
from storage.event_claims import claim_event
from storage.models import ProcessedEvent

START = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)
LEASE = timedelta(minutes=2)

Sessions = sessionmaker[Session]


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, by: timedelta) -> None:
        self.now += by


class Listeners:
    """Counts the events it handles; fails those it is told to."""

    def __init__(self) -> None:
        self.handled: Counter[str] = Counter()
        self.failing: set[str] = set()
        self.answer = True
        self._lock = threading.Lock()

    def __call__(self, body: dict[str, Any]) -> bool:
        with self._lock:
            self.handled[body["event_id"]] += 1
        if body["event_id"] in self.failing:
            raise RuntimeError("the listener broke")
        return self.answer


def delivery(event_id: str = "Ev1", team_id: str = "T1") -> dict[str, Any]:
    return {
        "type": "event_callback",
        "team_id": team_id,
        "event_id": event_id,
        "event": {"type": "message", "text": "<https://x.com/a/status/1>"},
    }


def accept(box: Inbox, body: dict[str, Any]) -> bool:
    """What the replay guard does with a delivery: claim it in a transaction, then hand it over."""
    with box.sessions.begin() as s:
        claim = box.claim(s, body, box.clock())
    if claim is None:
        return False
    box.submit(claim)
    return True


def inbox(sessions: Sessions, clock: Clock, listeners: Listeners, replica: str = "a") -> Inbox:
    box = Inbox(sessions, clock, replica, lease=LEASE)
    box.serve(listeners)
    return box


def drained(box: Inbox) -> None:
    """Wait until every accepted event has been handled (the inbox starts a new pool on demand)."""
    box.shutdown(wait=True)


def stored(sessions: Sessions, event_id: str = "Ev1") -> ProcessedEvent:
    with sessions() as s:
        return s.scalars(
            select(ProcessedEvent).where(ProcessedEvent.team_id == "T1", ProcessedEvent.event_id == event_id)
        ).one()


@pytest.mark.parametrize(
    ("body", "key"),
    [
        (delivery(), ("T1", "Ev1")),
        ({"type": "block_actions", "team": {"id": "T1"}}, None),
        ({"type": "event_callback", "team_id": "T1"}, None),
        ({"type": "event_callback", "team_id": ["T1"], "event_id": "Ev1"}, None),
        ({"type": "event_callback", "team_id": "", "event_id": "Ev1"}, None),
    ],
)
def test_only_events_api_deliveries_have_a_key(body: dict[str, Any], key: tuple[str, str] | None) -> None:
    assert event_key(body) == key


def test_an_event_is_handled_once_however_often_it_arrives(sessions: Sessions) -> None:
    clock, listeners = Clock(), Listeners()
    a, b = inbox(sessions, clock, listeners, "a"), inbox(sessions, clock, listeners, "b")
    assert accept(a, delivery())
    for box in (a, b, a):
        assert not accept(box, delivery())
    drained(a)
    drained(b)
    assert listeners.handled == Counter({"Ev1": 1})
    row = stored(sessions)
    assert (row.state, row.body, row.claimed_by, row.attempts) == ("done", None, "a", 1)


def test_of_replicas_racing_with_one_event_one_handles_it(sessions: Sessions) -> None:
    clock, listeners = Clock(), Listeners()
    boxes = [inbox(sessions, clock, listeners, f"r{i}") for i in range(6)]
    start = threading.Barrier(len(boxes))
    accepted: list[bool] = []

    def deliver(box: Inbox) -> None:
        start.wait()
        accepted.append(accept(box, delivery("Ev9")))

    threads = [threading.Thread(target=deliver, args=(box,)) for box in boxes]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for box in boxes:
        drained(box)
    assert accepted.count(True) == 1
    assert listeners.handled == Counter({"Ev9": 1})


def test_an_event_a_dead_replica_held_is_handled_after_the_lease(sessions: Sessions) -> None:
    clock, listeners = Clock(), Listeners()
    # Replica "dead" committed its claim, acknowledged Slack, and was killed before its listeners ran.
    with sessions.begin() as s:
        claim_event(s, "T1", "Ev1", body=json.dumps(delivery()), replica="dead", now=clock())
    survivor = inbox(sessions, clock, listeners, "b")
    clock.advance(LEASE - timedelta(seconds=1))
    assert survivor.recover("T1") == 0
    assert not accept(survivor, delivery()), "a claim inside its lease is someone's work in hand"
    clock.advance(timedelta(seconds=2))
    assert survivor.recover("T1") == 1
    assert survivor.recover("T1") == 0
    assert listeners.handled == Counter({"Ev1": 1})
    row = stored(sessions)
    assert (row.state, row.claimed_by, row.attempts, row.body) == ("done", "b", 2, None)


def test_a_redelivery_of_a_lapsed_claim_is_handled_at_once(sessions: Sessions) -> None:
    clock, listeners = Clock(), Listeners()
    with sessions.begin() as s:
        claim_event(s, "T1", "Ev1", body=json.dumps(delivery()), replica="dead", now=clock())
    clock.advance(LEASE + timedelta(seconds=1))
    survivor = inbox(sessions, clock, listeners, "b")
    assert accept(survivor, delivery())
    drained(survivor)
    assert listeners.handled == Counter({"Ev1": 1})
    assert stored(sessions).state == "done"


def test_a_failed_event_is_retried_after_the_lease_and_then_left_failed(
    sessions: Sessions, caplog: pytest.LogCaptureFixture
) -> None:
    clock, listeners = Clock(), Listeners()
    listeners.failing.add("Ev1")
    box = inbox(sessions, clock, listeners)
    assert accept(box, delivery())
    drained(box)
    row = stored(sessions)
    assert (row.state, row.error) == ("failed", "RuntimeError: the listener broke")
    assert row.body is not None
    assert box.recover("T1") == 0, "not before the lease"
    for _ in range(MAX_EVENT_ATTEMPTS - 1):
        clock.advance(LEASE + timedelta(seconds=1))
        with caplog.at_level(logging.ERROR, logger="bot.inbox"):
            assert box.recover("T1") == 1
    clock.advance(LEASE + timedelta(seconds=1))
    assert box.recover("T1") == 0
    assert listeners.handled == Counter({"Ev1": MAX_EVENT_ATTEMPTS})
    row = stored(sessions)
    assert (row.state, row.attempts) == ("failed", MAX_EVENT_ATTEMPTS)
    assert json.loads(row.body or "") == delivery(), "kept for people to look at"
    assert f"event Ev1 of T1 failed {MAX_EVENT_ATTEMPTS} times" in caplog.text


def test_a_listener_that_reports_failure_fails_the_event(sessions: Sessions) -> None:
    clock, listeners = Clock(), Listeners()
    listeners.answer = False
    box = inbox(sessions, clock, listeners)
    accept(box, delivery())
    drained(box)
    assert stored(sessions).state == "failed"
    listeners.answer = True
    clock.advance(LEASE + timedelta(seconds=1))
    assert box.recover("T1") == 1
    assert stored(sessions).state == "done"


def test_recovery_takes_only_its_teams_events(sessions: Sessions) -> None:
    clock, listeners = Clock(), Listeners()
    with sessions.begin() as s:
        for team in ("T1", "T2"):
            claim_event(s, team, "Ev1", body=json.dumps(delivery(team_id=team)), replica="dead", now=clock())
    clock.advance(LEASE + timedelta(seconds=1))
    box = inbox(sessions, clock, listeners)
    assert box.recover("T2") == 1
    assert stored(sessions).state == "handling"


def test_a_claim_that_cannot_be_committed_raises_so_slack_delivers_again(sessions: Sessions) -> None:
    def broken_clock() -> datetime:
        raise RuntimeError("the database is gone")

    box = Inbox(sessions, broken_clock, "a", lease=LEASE)
    with pytest.raises(RuntimeError):
        accept(box, delivery())
    with pytest.raises(ValueError, match="Events API"):
        accept(inbox(sessions, Clock(), Listeners()), {"type": "block_actions"})


def test_the_purge_forgets_events_handled_days_ago(sessions: Sessions) -> None:
    clock, listeners = Clock(), Listeners()
    box = inbox(sessions, clock, listeners)
    accept(box, delivery("old"))
    drained(box)
    clock.advance(timedelta(days=2))
    accept(box, delivery("recent"))
    drained(box)
    clock.advance(timedelta(days=1, hours=1))
    assert box.purge("T1") == 1
    assert stored(sessions, "recent").state == "done"


def test_an_event_left_failed_is_forgotten_with_its_body_after_14_days(sessions: Sessions) -> None:
    """Before: a failed event kept the message it carried forever; now KEEP_UNFINISHED (14 days)."""
    assert timedelta(days=14) == KEEP_UNFINISHED
    clock, listeners = Clock(), Listeners()
    listeners.failing.update({"failed", "recent"})
    box = inbox(sessions, clock, listeners)
    accept(box, delivery("failed"))
    drained(box)
    # A claim whose replica died on its last attempt stays "handling", body and all, with no attempt left.
    with sessions.begin() as s:
        claim_event(s, "T1", "held", body=json.dumps(delivery("held")), replica="dead", now=clock())
        stored_held = s.get(ProcessedEvent, ("T1", "held"))
        assert stored_held is not None
        stored_held.attempts = MAX_EVENT_ATTEMPTS
        claim_event(s, "T2", "other", body=json.dumps(delivery("other", "T2")), replica="dead", now=clock())
    clock.advance(timedelta(days=10))
    accept(box, delivery("recent"))
    drained(box)

    clock.advance(KEEP_UNFINISHED - timedelta(days=10) - timedelta(minutes=1))
    box.purge("T1")
    assert stored(sessions, "failed").body is not None, "kept for people to look at, 14 days"
    clock.advance(timedelta(minutes=2))
    assert box.purge("T1") == 2
    with sessions() as s:
        left = s.execute(select(ProcessedEvent.team_id, ProcessedEvent.event_id, ProcessedEvent.state)).all()
    assert sorted(left) == [("T1", "recent", "failed"), ("T2", "other", "handling")]


def test_an_event_taken_over_while_it_waited_its_turn_is_handled_once(sessions: Sessions) -> None:
    clock, listeners = Clock(), Listeners()
    busy = inbox(sessions, clock, listeners, "busy")
    busy.workers = 1
    # The one worker is held up by other work, as a burst of events would.
    release = threading.Event()
    busy._pool().submit(release.wait, 10)
    assert accept(busy, delivery("queued"))
    clock.advance(LEASE + timedelta(seconds=1))
    other = inbox(sessions, clock, listeners, "other")
    assert other.recover("T1") == 1
    release.set()
    drained(busy)
    assert listeners.handled == Counter({"queued": 1})
    assert stored(sessions, "queued").claimed_by == "other"
