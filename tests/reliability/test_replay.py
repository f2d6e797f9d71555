"""The ack path on PostgreSQL: each signature passes once, however many replicas race for it."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_bolt import BoltRequest, BoltResponse
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import SeenRequest
from twoway.acknowledge import PURGE_AFTER, REMEMBER, acknowledge, request_team

pytestmark = pytest.mark.postgres

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
def pg_sessions(postgresql_url: str) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(postgresql_url)
    upgrade(engine)
    yield make_session_factory(engine)
    engine.dispose()


def _request(signature: str | None, *, mode: str = "http") -> BoltRequest:
    headers: dict[str, str | Sequence[str]] = {"x-slack-request-timestamp": ["1"]}
    if signature is not None:
        headers["x-slack-signature"] = [signature]
    return BoltRequest(body="{}", headers=headers, mode=mode)


def _run(
    guard: Any, request: BoltRequest, body: dict[str, Any] | None = None
) -> tuple[BoltResponse | None, bool]:
    called: list[bool] = []
    response = guard(req=request, body=body or {"team_id": "T1"}, next_=lambda: called.append(True))
    return response, bool(called)


def test_a_signature_passes_once(pg_sessions: sessionmaker[Session]) -> None:
    guard = acknowledge(pg_sessions, lambda: NOW)
    assert _run(guard, _request("v0=first")) == (None, True)
    response, passed = _run(guard, _request("v0=first"))
    assert response is not None
    assert (response.status, passed) == (401, False)
    assert _run(guard, _request("v0=second")) == (None, True)


def test_socket_mode_and_unsigned_requests_pass_untouched(pg_sessions: sessionmaker[Session]) -> None:
    guard = acknowledge(pg_sessions, lambda: NOW)
    for _ in range(2):
        assert _run(guard, _request(None, mode="socket_mode")) == (None, True)
        assert _run(guard, _request(None)) == (None, True)
    with pg_sessions.begin() as s:
        assert s.scalars(select(SeenRequest)).all() == []


def test_of_eight_replicas_racing_with_one_signature_one_passes(pg_sessions: sessionmaker[Session]) -> None:
    guards = [acknowledge(pg_sessions, lambda: NOW) for _ in range(8)]
    start = threading.Barrier(len(guards))
    passed: list[bool] = []

    def replica(guard: Any) -> None:
        start.wait()
        passed.append(_run(guard, _request("v0=raced"))[1])

    threads = [threading.Thread(target=replica, args=(guard,)) for guard in guards]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(passed) == [False] * 7 + [True]


def test_old_signatures_are_purged_and_recent_ones_kept(pg_sessions: sessionmaker[Session]) -> None:
    with pg_sessions.begin() as s:
        s.add(SeenRequest(team_id="T1", signature="v0=old", seen_at=NOW - PURGE_AFTER - timedelta(seconds=1)))
        s.add(SeenRequest(team_id="T1", signature="v0=recent", seen_at=NOW - REMEMBER))
    guard = acknowledge(pg_sessions, lambda: NOW)
    assert _run(guard, _request("v0=new")) == (None, True)
    with pg_sessions.begin() as s:
        assert set(s.scalars(select(SeenRequest.signature))) == {"v0=recent", "v0=new"}
    assert _run(guard, _request("v0=recent"))[1] is False


@pytest.mark.parametrize(
    ("body", "team"),
    [
        ({"team_id": "T1", "type": "event_callback"}, "T1"),
        ({"team": {"id": "T2"}, "type": "block_actions"}, "T2"),
        ({"type": "url_verification"}, "-"),
        ({"team_id": ["T1"]}, "-"),
        ({"team_id": "T" * 40}, "-"),
    ],
)
def test_the_team_of_a_request(body: dict[str, Any], team: str) -> None:
    assert request_team(body) == team
