from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, delete, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from storage.models import Base, Channel, Comment, DigestRun, Nudge, Post, ProcessedEvent, Snapshot
from storage.workspace_rows import count_rows

NOW = datetime(2024, 6, 3, 9, 0, tzinfo=UTC)

Sessions = sessionmaker[Session]


def channel(team_id: str = "T1", channel_id: str = "C1", **fields: Any) -> Channel:
    return Channel(team_id=team_id, channel_id=channel_id, created_at=NOW, updated_at=NOW, **fields)


def post(team_id: str = "T1", channel_id: str = "C1", url: str = "https://x.com/acme/status/1") -> Post:
    return Post(
        team_id=team_id,
        channel_id=channel_id,
        canonical_url=url,
        url=url + "?utm_source=slack",
        platform="x",
        owner_user_id="U1",
        message_ts="1717405200.000100",
        shared_at=NOW,
    )


def snapshot(post_id: int, **fields: Any) -> Snapshot:
    values: dict[str, Any] = {"team_id": "T1", "recorded_at": NOW, "source": "thread"} | fields
    return Snapshot(post_id=post_id, **values)


def comment(post_id: int, **fields: Any) -> Comment:
    values: dict[str, Any] = {
        "team_id": "T1",
        "channel_id": "C1",
        "text": "Do you ship to Norway?",
        "flagged_by": "U2",
        "flagged_at": NOW,
        "message_ts": "1717405300.000200",
    } | fields
    return Comment(post_id=post_id, **values)


def digest_run(**fields: Any) -> DigestRun:
    values: dict[str, Any] = {
        "team_id": "T1",
        "channel_id": "C1",
        "period_start": NOW - timedelta(days=7),
        "period_end": NOW,
        "claimed_at": NOW,
    } | fields
    return DigestRun(**values)


def nudge(comment_id: int, **fields: Any) -> Nudge:
    values: dict[str, Any] = {"team_id": "T1", "level": 1, "claimed_at": NOW} | fields
    return Nudge(comment_id=comment_id, **values)


@pytest.fixture
def ids(sessions: Sessions) -> dict[str, int]:
    """Team T1 with channel C1, one post and one comment on it."""
    with sessions.begin() as s:
        p = post()
        s.add_all([channel(), p])
        s.flush()
        c = comment(p.id)
        s.add(c)
        s.flush()
        return {"post": p.id, "comment": c.id}


def add(sessions: Sessions, *rows: Base) -> None:
    with sessions.begin() as s:
        s.add_all(rows)


def test_channel_settings_default_to_the_documented_values(sessions: Sessions) -> None:
    add(sessions, channel())
    with sessions() as s:
        c = s.scalars(select(Channel)).one()
    assert (c.tracked, c.digest_enabled, c.nudge_weekends) == (False, True, False)
    assert (c.digest_weekday, c.digest_time, c.timezone) == (0, time(9, 0), "UTC")
    assert c.unanswered_threshold_hours == 24
    assert (c.flag_emoji, c.resolve_emoji, c.dismiss_emoji) == (
        "speech_balloon",
        "white_check_mark",
        "no_entry_sign",
    )


def test_a_channel_is_recorded_once_per_team(sessions: Sessions) -> None:
    add(sessions, channel("T1", "C1"), channel("T2", "C1"))
    with pytest.raises(IntegrityError):
        add(sessions, channel("T1", "C1"))


def test_a_post_is_recorded_once_per_team_by_canonical_url(sessions: Sessions, ids: dict[str, int]) -> None:
    with pytest.raises(IntegrityError):
        add(sessions, post(url="https://x.com/acme/status/1"))
    add(sessions, channel("T2", "C9"), post("T2", "C9", url="https://x.com/acme/status/1"))
    with sessions() as s:
        assert count_rows(s, "T1")["posts"] == count_rows(s, "T2")["posts"] == 1


def test_a_digest_runs_once_per_channel_and_period(sessions: Sessions, ids: dict[str, int]) -> None:
    add(sessions, digest_run())
    with pytest.raises(IntegrityError):
        add(sessions, digest_run(claimed_by="replica-2"))
    add(sessions, digest_run(period_start=NOW, period_end=NOW + timedelta(days=7)))


def test_an_event_is_processed_once_per_team(sessions: Sessions) -> None:
    add(sessions, ProcessedEvent(team_id="T1", event_id="Ev1", received_at=NOW))
    with pytest.raises(IntegrityError):
        add(sessions, ProcessedEvent(team_id="T1", event_id="Ev1", received_at=NOW))
    add(sessions, ProcessedEvent(team_id="T2", event_id="Ev1", received_at=NOW))


def test_reimporting_a_snapshot_or_its_source_collides(sessions: Sessions, ids: dict[str, int]) -> None:
    add(sessions, snapshot(ids["post"], source="import", likes=5))
    with pytest.raises(IntegrityError):
        add(sessions, snapshot(ids["post"], source="import", likes=5))
    add(sessions, snapshot(ids["post"], recorded_at=NOW + timedelta(hours=1), source_ref="1.1"))
    with pytest.raises(IntegrityError):
        add(sessions, snapshot(ids["post"], recorded_at=NOW + timedelta(hours=2), source_ref="1.1"))


def test_flagging_one_message_twice_is_one_comment(sessions: Sessions, ids: dict[str, int]) -> None:
    with pytest.raises(IntegrityError):
        add(sessions, comment(ids["post"], text="again"))


def test_comments_flagged_without_a_message_never_collide(sessions: Sessions, ids: dict[str, int]) -> None:
    add(sessions, comment(ids["post"], message_ts=None), comment(ids["post"], message_ts=None))
    with sessions() as s:
        assert count_rows(s, "T1")["comments"] == 3


def test_a_comment_gets_one_nudge_per_level(sessions: Sessions, ids: dict[str, int]) -> None:
    add(sessions, nudge(ids["comment"], level=1), nudge(ids["comment"], level=2))
    with pytest.raises(IntegrityError):
        add(sessions, nudge(ids["comment"], level=1))


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(lambda ids: post(channel_id="C404"), id="post-unknown-channel"),
        pytest.param(lambda ids: post(team_id="T2"), id="post-channel-of-another-team"),
        pytest.param(lambda ids: snapshot(ids["post"] + 1000), id="snapshot-unknown-post"),
        pytest.param(lambda ids: comment(ids["post"] + 1000, message_ts=None), id="comment-unknown-post"),
        pytest.param(lambda ids: nudge(ids["comment"] + 1000), id="nudge-unknown-comment"),
        pytest.param(lambda ids: digest_run(channel_id="C404"), id="digest-run-unknown-channel"),
    ],
)
def test_foreign_keys_are_enforced(sessions: Sessions, ids: dict[str, int], row: Any) -> None:
    with pytest.raises(IntegrityError):
        add(sessions, row(ids))


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(lambda ids: channel("T9", digest_weekday=7), id="weekday-7"),
        pytest.param(lambda ids: channel("T9", digest_minute=1440), id="minute-1440"),
        pytest.param(lambda ids: channel("T9", unanswered_threshold_hours=0), id="threshold-0"),
        pytest.param(lambda ids: snapshot(ids["post"], comments_received=-1), id="negative-comments"),
        pytest.param(lambda ids: snapshot(ids["post"], replies_sent=-1), id="negative-replies"),
        pytest.param(lambda ids: snapshot(ids["post"], shares=-1), id="negative-shares"),
        pytest.param(lambda ids: snapshot(ids["post"], likes=-1), id="negative-likes"),
        pytest.param(lambda ids: snapshot(ids["post"], source="guess"), id="snapshot-source"),
        pytest.param(lambda ids: comment(ids["post"], message_ts=None, state="ignored"), id="comment-state"),
        pytest.param(lambda ids: digest_run(state="running"), id="digest-run-state"),
        pytest.param(
            lambda ids: digest_run(period_end=NOW - timedelta(days=7)), id="digest-run-empty-period"
        ),
        pytest.param(lambda ids: digest_run(attempts=-1), id="digest-run-attempts"),
        pytest.param(lambda ids: nudge(ids["comment"], level=3), id="nudge-level"),
        pytest.param(lambda ids: nudge(ids["comment"], state="queued"), id="nudge-state"),
    ],
)
def test_check_constraints_refuse_bad_values(sessions: Sessions, ids: dict[str, int], row: Any) -> None:
    with pytest.raises(IntegrityError):
        add(sessions, row(ids))


def test_timestamps_come_back_as_aware_utc(engine: Engine, sessions: Sessions) -> None:
    paris = datetime(2024, 3, 10, 9, 30, tzinfo=ZoneInfo("Europe/Paris"))
    add(sessions, ProcessedEvent(team_id="T1", event_id="Ev1", received_at=paris))
    with sessions() as s:
        received_at = s.scalars(select(ProcessedEvent.received_at)).one()
        stored = s.execute(text("SELECT received_at FROM processed_events")).scalar_one()
    assert received_at.tzinfo is UTC
    assert received_at == paris
    assert received_at.hour == 8
    if engine.dialect.name == "sqlite":
        # SQLite keeps text without an offset: it must be UTC for comparisons to hold.
        assert stored == "2024-03-10 08:30:00.000000"


def test_naive_timestamps_are_refused(sessions: Sessions) -> None:
    with pytest.raises(StatementError, match="naive datetime"):
        add(sessions, ProcessedEvent(team_id="T1", event_id="Ev1", received_at=datetime(2024, 3, 10, 9, 30)))


def test_deleting_a_channel_removes_its_ledger(sessions: Sessions, ids: dict[str, int]) -> None:
    add(sessions, snapshot(ids["post"]), nudge(ids["comment"]), digest_run())
    with sessions.begin() as s:
        s.execute(delete(Channel).where(Channel.team_id == "T1"))
    with sessions() as s:
        assert set(count_rows(s, "T1").values()) == {0}
