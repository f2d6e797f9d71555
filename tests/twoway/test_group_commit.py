"""The ack path's grouped commit: concurrent requests share one commit, and each learns what a commit
of its own would have told it."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import Engine, event, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from storage.models import ProcessedEvent, SeenRequest
from twoway.group_commit import Admission, GroupCommit

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)


def _wait_until(condition: Callable[[], bool], timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never held")
        time.sleep(0.005)


class _Held:
    """Holds the first commit on ``engine`` until released, so that others queue behind it."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.entered = threading.Event()
        self.release = threading.Event()
        self._first = True
        event.listen(engine, "commit", self._commit)

    def _commit(self, _conn: Any) -> None:
        if self._first:
            self._first = False
            self.entered.set()
            assert self.release.wait(10)

    def remove(self) -> None:
        event.remove(self.engine, "commit", self._commit)


@pytest.fixture
def held(engine: Engine) -> Iterator[_Held]:
    hold = _Held(engine)
    yield hold
    hold.release.set()
    hold.remove()


def _admit_all(
    group: GroupCommit, requests: list[tuple[str | None, tuple[str, str] | None]], held: _Held
) -> list[Admission | BaseException]:
    """Admit the first request alone and hold its commit; admit the rest meanwhile; then let all go."""
    results: list[Admission | BaseException | None] = [None] * len(requests)

    def admit(i: int) -> None:
        signature, key = requests[i]
        body = {"type": "event_callback", "team_id": "T1", "event_id": key[1]} if key else None
        try:
            results[i] = group.admit("T1", signature, key, body)
        except BaseException as failure:
            results[i] = failure

    threads = [threading.Thread(target=admit, args=(i,)) for i in range(len(requests))]
    threads[0].start()
    assert held.entered.wait(10)
    for thread in threads[1:]:
        thread.start()
    _wait_until(lambda: len(group._queue) == len(requests) - 1)
    held.release.set()
    for thread in threads:
        thread.join(10)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def _group(engine: Engine, sizes: list[int]) -> GroupCommit:
    return GroupCommit(engine, lambda: NOW, "replica-a", sizes.append)


def test_requests_that_arrive_during_a_commit_share_the_next(
    engine: Engine, sessions: sessionmaker[Session], held: _Held
) -> None:
    sizes: list[int] = []
    group = _group(engine, sizes)
    inserts: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("INSERT"):
            inserts.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    requests: list[tuple[str | None, tuple[str, str] | None]] = [
        (f"v0=sig{i}", ("T1", f"Ev{i}")) for i in range(12)
    ]
    try:
        results = _admit_all(group, requests, held)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert sizes == [1, 11]
    # Each commit sends its signatures in one INSERT and its claims in another, however many rows.
    assert len(inserts) == 4
    assert all(isinstance(r, Admission) and r.first and r.claimed and r.at == NOW for r in results)
    with sessions() as s:
        assert len(s.scalars(select(SeenRequest)).all()) == 12
        claims = s.scalars(select(ProcessedEvent)).all()
    assert sorted(c.event_id for c in claims) == sorted(f"Ev{i}" for i in range(12))
    assert {(c.state, c.claimed_by, c.attempts) for c in claims} == {("handling", "replica-a", 1)}


def test_a_lone_request_commits_at_once_and_alone(engine: Engine) -> None:
    sizes: list[int] = []
    group = _group(engine, sizes)
    for i in range(3):
        assert group.admit("T1", f"v0=alone{i}", None, None).first
    assert sizes == [1, 1, 1]


def test_one_signature_twice_in_one_commit_passes_once(engine: Engine, held: _Held) -> None:
    sizes: list[int] = []
    group = _group(engine, sizes)
    results = _admit_all(
        group, [("v0=first", None), ("v0=twice", None), ("v0=twice", None), ("v0=first", None)], held
    )
    assert sizes == [1, 3]
    firsts = [r.first for r in results if isinstance(r, Admission)]
    assert firsts == [True, True, False, False]


def test_one_event_delivered_twice_in_one_commit_is_claimed_once(
    engine: Engine, sessions: sessionmaker[Session], held: _Held
) -> None:
    sizes: list[int] = []
    group = _group(engine, sizes)
    results = _admit_all(
        group,
        [("v0=a", ("T1", "Ev0")), ("v0=b", ("T1", "Ev1")), ("v0=c", ("T1", "Ev1")), (None, ("T1", "Ev1"))],
        held,
    )
    admitted = [r for r in results if isinstance(r, Admission)]
    assert [a.first for a in admitted] == [True] * 4
    assert [a.claimed for a in admitted] == [True, True, False, False]
    with sessions() as s:
        assert len(s.scalars(select(ProcessedEvent)).all()) == 2


def test_an_event_claimed_before_is_not_claimed_again(engine: Engine) -> None:
    group = _group(engine, [])
    assert group.admit("T1", "v0=one", ("T1", "Ev9"), {"event_id": "Ev9"}).claimed
    again = group.admit("T1", "v0=two", ("T1", "Ev9"), {"event_id": "Ev9"})
    assert again.first
    assert not again.claimed


def test_a_failed_commit_fails_every_request_of_its_group_and_records_nothing(
    engine: Engine, sessions: sessionmaker[Session], held: _Held
) -> None:
    sizes: list[int] = []
    group = _group(engine, sizes)
    fail = {"now": False}

    def refuse(_conn: Any) -> None:
        if fail["now"]:
            raise OperationalError("COMMIT", {}, Exception("the database went away"))

    event.listen(engine, "commit", refuse)
    try:
        fail["now"] = True
        results = _admit_all(group, [(f"v0=lost{i}", ("T1", f"Ev{i}")) for i in range(5)], held)
        assert all(isinstance(r, OperationalError) for r in results)
        with sessions() as s:
            assert s.scalars(select(SeenRequest)).all() == []
            assert s.scalars(select(ProcessedEvent)).all() == []
        fail["now"] = False
        # The lead was handed back: the next request commits, and a redelivery is claimed.
        again = group.admit("T1", "v0=again", ("T1", "Ev0"), {"event_id": "Ev0"})
        assert again.first
        assert again.claimed
    finally:
        event.remove(engine, "commit", refuse)
    assert sizes == [1]


@pytest.mark.postgres
def test_a_row_the_database_refuses_fails_its_own_request_only(
    postgresql_url: str, held_postgres: tuple[Engine, _Held]
) -> None:
    engine, hold = held_postgres
    group = _group(engine, [])
    # A signature longer than its column: PostgreSQL refuses the value, and with it the whole INSERT.
    results = _admit_all(
        group,
        [("v0=ok0", None), ("v0=ok1", ("T1", "Ev1")), ("v0=" + "x" * 200, None), ("v0=ok3", None)],
        hold,
    )
    assert isinstance(results[2], Exception)
    assert [r.first for r in results if isinstance(r, Admission)] == [True, True, True]
    with engine.connect() as conn:
        assert conn.scalar(select(ProcessedEvent.event_id)) == "Ev1"


@pytest.fixture
def held_postgres(postgresql_url: str) -> Iterator[tuple[Engine, _Held]]:
    from storage.db import make_engine
    from storage.migrate import upgrade

    engine = make_engine(postgresql_url)
    upgrade(engine)
    hold = _Held(engine)
    yield engine, hold
    hold.release.set()
    hold.remove()
    engine.dispose()
