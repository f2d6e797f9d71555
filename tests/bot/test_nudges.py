"""Nudges: when they fall due (pure), and each sent once in its thread through the emulator."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from bot.ledger import Reach, close
from bot.nudges import NudgeOutcome, Nudger, nudge_metadata, nudges_due, render_nudge
from bot.render_ledger import ANSWERED_ACTION, CLAIM_ACTION, DISMISSED_ACTION, SNOOZE_ACTION
from emulator import Emulator, EmulatorSettings
from storage.comments import snooze_comment
from storage.models import Channel, Comment, Nudge, Post
from storage.nudge_claims import claim_nudge
from tests.support.publishing import ADA, CHANNEL, GRACE, TEAM, Clock, control, flagged, posted, slack_client

# Tuesday 3 March 2026, 10:00 UTC.
TUESDAY = datetime(2026, 3, 3, 10, 0, tzinfo=UTC)
THREADS = 4

Sessions = sessionmaker[Session]


def _channel(hours: int = 24, weekends: bool = False, zone: str = "UTC") -> Channel:
    return Channel(
        team_id="T1",
        channel_id="C1",
        unanswered_threshold_hours=hours,
        nudge_weekends=weekends,
        timezone=zone,
    )


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026 (the 2nd is a Monday), UTC."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "channel", "now", "snoozed_until", "expected"),
    [
        pytest.param(at(3, 10), _channel(), at(4, 9, 59), None, [], id="before-the-threshold"),
        pytest.param(at(3, 10), _channel(), at(4, 10), None, [1], id="at-the-threshold"),
        pytest.param(at(3, 10), _channel(), at(5, 9, 59), None, [1], id="before-twice"),
        pytest.param(at(3, 10), _channel(), at(5, 10), None, [1, 2], id="at-twice-the-threshold"),
        pytest.param(at(3, 10), _channel(hours=6), at(3, 22), None, [1, 2], id="own-threshold"),
        # Friday 15:00 + 24 h is Saturday: Monday 09:00, and the follow-up a day later.
        pytest.param(at(6, 15), _channel(), at(8, 23), None, [], id="weekend-waits"),
        pytest.param(at(6, 15), _channel(), at(9, 9), None, [1], id="monday-morning"),
        pytest.param(at(6, 15), _channel(), at(10, 8, 59), None, [1], id="follow-up-not-yet"),
        pytest.param(at(6, 15), _channel(), at(10, 9), None, [1, 2], id="follow-up-tuesday"),
        # Thursday: level 1 on Friday, the follow-up's Saturday becomes Monday.
        pytest.param(at(5, 15), _channel(), at(7, 16), None, [1], id="follow-up-skips-weekend"),
        pytest.param(at(5, 15), _channel(), at(9, 9), None, [1, 2], id="follow-up-monday"),
        pytest.param(at(6, 15), _channel(weekends=True), at(7, 15), None, [1], id="weekends-on"),
        pytest.param(at(6, 15), _channel(weekends=True), at(8, 15), None, [1, 2], id="weekends-on-twice"),
        # Friday 20:00 UTC is Saturday 05:00 in Tokyo: Monday 09:00 Tokyo is Monday 00:00 UTC.
        pytest.param(at(5, 20), _channel(zone="Asia/Tokyo"), at(6, 20), None, [], id="weekend-in-tokyo"),
        pytest.param(at(5, 20), _channel(zone="Asia/Tokyo"), at(9, 0), None, [1], id="monday-in-tokyo"),
        # Friday 20:00 UTC is still Friday in New York.
        pytest.param(at(5, 20), _channel(zone="America/New_York"), at(6, 20), None, [1], id="friday-in-ny"),
        pytest.param(at(3, 10), _channel(), at(4, 12), at(4, 13), [], id="snoozed"),
        pytest.param(at(3, 10), _channel(), at(6, 12), at(5, 13), [1, 2], id="snooze-over"),
        # A snooze that ends on Saturday holds until Monday morning.
        pytest.param(at(3, 10), _channel(), at(8, 12), at(7, 10), [], id="snooze-ends-on-weekend"),
        pytest.param(at(3, 10), _channel(), at(9, 9), at(7, 10), [1, 2], id="snooze-then-monday"),
    ],
)
def test_nudges_due(
    start: datetime, channel: Channel, now: datetime, snoozed_until: datetime | None, expected: list[int]
) -> None:
    assert nudges_due(start, channel, now, snoozed_until=snoozed_until) == expected


def _post_and_comment(comment_id: int = 7) -> tuple[Comment, Post]:
    post = Post(
        id=3,
        team_id="T1",
        channel_id="C1",
        canonical_url="https://x.com/team/status/1",
        platform="x",
        owner_user_id=ADA,
    )
    comment = Comment(
        id=comment_id,
        team_id="T1",
        post_id=3,
        channel_id="C1",
        text="Where can I   buy <this>?",
        author="@someone",
        flagged_at=TUESDAY,
        flagged_by=GRACE,
    )
    return comment, post


def _actions(message: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (e["action_id"], e["value"])
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    ]


def test_the_first_nudge_mentions_the_owner_and_offers_the_buttons() -> None:
    comment, post = _post_and_comment()

    message = render_nudge(comment, post, 1, TUESDAY + timedelta(hours=25))

    assert message["text"] == f"<@{ADA}>, comment #7 has waited 1 day for an answer."
    assert f"<@{ADA}>" in message["blocks"][0]["text"]["text"]
    assert "<https://x.com/team/status/1|X post>" in message["blocks"][0]["text"]["text"]
    assert message["blocks"][1]["text"]["text"] == "> Where can I buy &lt;this&gt;?"
    assert _actions(message) == [
        (ANSWERED_ACTION, "7"),
        (DISMISSED_ACTION, "7"),
        (SNOOZE_ACTION, "7"),
        (CLAIM_ACTION, "7"),
    ]


def test_the_follow_up_asks_the_channel() -> None:
    comment, post = _post_and_comment()

    message = render_nudge(comment, post, 2, TUESDAY + timedelta(hours=48))

    assert "Can anyone take this?" in message["text"]
    assert f"<@{ADA}>" in message["text"]
    assert "can anyone take this?" in message["blocks"][0]["text"]["text"]
    assert [a for a, _ in _actions(message)] == [
        ANSWERED_ACTION,
        DISMISSED_ACTION,
        SNOOZE_ACTION,
        CLAIM_ACTION,
    ]


# ---- against the emulator and a database ---------------------------------------------------------


@pytest.fixture
def clock() -> Clock:
    return Clock(TUESDAY)


@pytest.fixture
def emu(clock: Clock) -> Iterator[Emulator]:
    with Emulator(EmulatorSettings(clock=lambda: clock.now.timestamp())) as emulator:
        yield emulator


@pytest.fixture
def nudger(sessions: Sessions, emu: Emulator, clock: Clock) -> Nudger:
    client = slack_client(emu)
    return Nudger(sessions=sessions, client_for=lambda team: client, replica="test:1", clock=clock)


def nudge_rows(sessions: Sessions) -> list[tuple[int, int, str]]:
    with sessions.begin() as s:
        return [(n.comment_id, n.level, n.state) for n in s.scalars(select(Nudge).order_by(Nudge.id))]


@pytest.mark.parametrize("fault", [{"kept": True}, {"drop": True}], ids=["500_after_keeping_it", "dropped"])
def test_a_nudge_whose_post_has_an_unknown_outcome_is_found_not_repeated(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger, fault: dict[str, Any]
) -> None:
    comment_id = flagged(sessions, emu, clock)
    clock.advance(timedelta(hours=24))
    fault = {"method": "chat.postMessage", "status": 500, "count": 1, **fault}
    control(emu, "POST", "/_emulator/faults", fault)

    [nudge] = nudger.sweep(TEAM)

    assert (nudge.comment_id, nudge.level, nudge.status) == (comment_id, 1, "sent")
    assert len(emu.calls("chat.postMessage")) == 1
    thread_ts = emu.calls("chat.postMessage")[0]["args"]["thread_ts"]
    replies = slack_client(emu).conversations_replies(
        channel=CHANNEL, ts=thread_ts, include_all_metadata=True
    )
    nudges = [m for m in replies["messages"] if m.get("metadata")]
    assert [m["ts"] for m in nudges] == [nudge.ts]
    assert nudge_rows(sessions) == [(comment_id, 1, "sent")]


def test_a_comment_is_nudged_in_its_thread_then_asked_about_in_the_channel_then_left_alone(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    comment_id = flagged(sessions, emu, clock)
    assert posted(emu) == []

    clock.advance(timedelta(hours=23, minutes=59))
    assert nudger.sweep(TEAM) == []

    clock.advance(timedelta(minutes=1))
    [first] = nudger.sweep(TEAM)
    assert (first.comment_id, first.level, first.status) == (comment_id, 1, "sent")
    [call] = posted(emu)
    assert call["args"]["thread_ts"]
    assert call["args"].get("reply_broadcast") in (None, False, "false", "0", 0)
    assert f"<@{ADA}>" in call["args"]["text"]
    assert call["args"]["metadata"] == nudge_metadata(TEAM, comment_id, 1)

    clock.advance(timedelta(hours=23))
    assert nudger.sweep(TEAM) == []

    clock.advance(timedelta(hours=1))
    [second] = nudger.sweep(TEAM)
    assert (second.level, second.status) == (2, "sent")
    follow_up = posted(emu)[1]["args"]
    assert follow_up["thread_ts"] == call["args"]["thread_ts"]
    assert follow_up["reply_broadcast"] in (True, "true", "1", 1)
    assert "Can anyone take this?" in follow_up["text"]
    # Broadcast: the channel itself shows the follow-up.
    history = slack_client(emu).conversations_history(channel=CHANNEL)["messages"]
    assert second.ts in [m["ts"] for m in history]

    clock.advance(timedelta(hours=24))
    assert nudger.sweep(TEAM) == []
    clock.advance(timedelta(days=30))
    assert nudger.sweep(TEAM) == []
    assert len(posted(emu)) == 2
    assert nudge_rows(sessions) == [(comment_id, 1, "sent"), (comment_id, 2, "sent")]


def test_answered_and_dismissed_comments_are_never_nudged(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    answered = flagged(sessions, emu, clock, 1)
    dismissed = flagged(sessions, emu, clock, 2)
    with sessions.begin() as s:
        close(
            s,
            TEAM,
            Reach.channel(CHANNEL),
            answered,
            state="answered",
            by=ADA,
            at=clock.now + timedelta(hours=1),
        )
        close(
            s,
            TEAM,
            Reach.channel(CHANNEL),
            dismissed,
            state="dismissed",
            by=GRACE,
            at=clock.now + timedelta(hours=30),
        )

    for _ in range(4):
        clock.advance(timedelta(hours=24))
        assert nudger.sweep(TEAM) == []
    assert posted(emu) == []


def test_a_snoozed_comment_waits_for_its_snooze(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    comment_id = flagged(sessions, emu, clock)
    with sessions.begin() as s:
        assert snooze_comment(s, TEAM, comment_id, until=clock.now + timedelta(hours=30)) is not None

    clock.advance(timedelta(hours=25))
    assert nudger.sweep(TEAM) == []

    clock.advance(timedelta(hours=5))
    [nudge] = nudger.sweep(TEAM)
    assert nudge.level == 1


def test_a_comment_without_a_thread_is_nudged_in_its_channel(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    flagged(sessions, emu, clock, threaded=False)

    clock.advance(timedelta(hours=48))
    [nudge] = nudger.sweep(TEAM)

    # Flagged two days late for both levels: the follow-up alone.
    assert nudge.level == 2
    [call] = posted(emu)
    assert "thread_ts" not in call["args"]
    assert call["args"]["channel"] == CHANNEL


def test_sweeping_twice_and_from_two_threads_sends_each_nudge_once(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    ids = [flagged(sessions, emu, clock, n) for n in range(3)]
    clock.advance(timedelta(hours=24))
    start = threading.Barrier(THREADS)

    def sweep() -> list[NudgeOutcome]:
        start.wait()
        return nudger.sweep(TEAM)

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = [o for f in [pool.submit(sweep) for _ in range(THREADS)] for o in f.result()]
    outcomes += nudger.sweep(TEAM)

    assert sorted(o.comment_id for o in outcomes if o.status == "sent") == ids
    assert {o.status for o in outcomes} <= {"sent", "in_progress"}
    assert len(posted(emu)) == 3
    assert sorted(nudge_rows(sessions)) == [(i, 1, "sent") for i in ids]


def test_after_a_crash_a_sent_nudge_is_recorded_not_sent_again(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    comment_id = flagged(sessions, emu, clock)
    clock.advance(timedelta(hours=24))
    with sessions.begin() as s:
        assert claim_nudge(s, TEAM, comment_id, 1, now=clock.now) is not None
    with sessions.begin() as s:
        thread_ts = s.get_one(Comment, comment_id).thread_ts
    # The crashed replica posted the nudge before it could record it.
    ts = slack_client(emu).chat_postMessage(
        channel=CHANNEL, thread_ts=thread_ts, text="nudge", metadata=nudge_metadata(TEAM, comment_id, 1)
    )["ts"]

    clock.advance(timedelta(minutes=2))
    assert nudger.sweep(TEAM) == [NudgeOutcome(comment_id, 1, "in_progress")]

    clock.advance(timedelta(minutes=5))
    assert nudger.sweep(TEAM) == [NudgeOutcome(comment_id, 1, "found_after_crash", ts)]
    assert nudger.sweep(TEAM) == []
    assert len(posted(emu)) == 1


def test_a_failed_nudge_is_retried_at_the_next_sweep(
    sessions: Sessions, emu: Emulator, clock: Clock, nudger: Nudger
) -> None:
    comment_id = flagged(sessions, emu, clock)
    clock.advance(timedelta(hours=24))
    control(emu, "POST", "/_emulator/faults", {"method": "chat.postMessage", "status": 500})

    assert nudger.sweep(TEAM) == [NudgeOutcome(comment_id, 1, "failed", error="fatal_error")]

    control(emu, "DELETE", "/_emulator/faults")
    clock.advance(timedelta(minutes=5))
    [retried] = nudger.sweep(TEAM)
    assert retried.status == "sent"
    assert len(posted(emu)) == 1
    assert nudge_rows(sessions) == [(comment_id, 1, "sent")]


def test_a_nudge_that_fails_to_render_is_recorded_failed_and_the_sweep_goes_on(
    sessions: Sessions,
    emu: Emulator,
    clock: Clock,
    nudger: Nudger,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken, fine = flagged(sessions, emu, clock, 1), flagged(sessions, emu, clock, 2)
    real_render = render_nudge

    def render(comment: Comment, post: Post, level: int, now: datetime) -> dict[str, Any]:
        if comment.id == broken:
            raise ValueError("a renderer bug")
        return real_render(comment, post, level, now)

    monkeypatch.setattr("bot.nudges.render_nudge", render)
    clock.advance(timedelta(hours=24))

    outcomes = nudger.sweep(TEAM)

    assert sorted((o.comment_id, o.status) for o in outcomes) == [(broken, "failed"), (fine, "sent")]
    # Its claim is failed, not left for a lease to expire: the next sweep tries it again, once.
    assert sorted(nudge_rows(sessions)) == [(broken, 1, "failed"), (fine, 1, "sent")]
    assert "a renderer bug" in caplog.text
    assert len(posted(emu)) == 1


def test_a_nudge_that_raises_before_its_claim_does_not_stop_the_sweep(
    sessions: Sessions,
    emu: Emulator,
    clock: Clock,
    nudger: Nudger,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken, fine = flagged(sessions, emu, clock, 1), flagged(sessions, emu, clock, 2)
    real_claim = claim_nudge

    def claim(s: Session, team_id: str, comment_id: int, level: int, *, now: datetime) -> Any:
        if comment_id == broken:
            raise RuntimeError("the database said no")
        return real_claim(s, team_id, comment_id, level, now=now)

    monkeypatch.setattr("bot.nudges.claim_nudge", claim)
    clock.advance(timedelta(hours=24))

    assert [(o.comment_id, o.status) for o in nudger.sweep(TEAM)] == [(fine, "sent")]
    assert nudge_rows(sessions) == [(fine, 1, "sent")]
    assert "the database said no" in caplog.text
