"""The publisher paces its posts and chart uploads within Slack's per-workspace limits."""

from __future__ import annotations

import json
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session, sessionmaker

from bot.digest.period import period_ending
from bot.digest.publish import Publisher
from bot.posting import (
    CHANNEL_RATES,
    POST_MESSAGE,
    RATE_LIMITED_TURNS,
    SLACK_RATES,
    UPLOAD_METHODS,
    CallRate,
    Pacer,
    post_once,
)
from emulator import DEFAULT_TEAM_ID, Emulator, EmulatorSettings, Limit, RateLimits
from storage.channels import ensure_channel
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from tests.support.publishing import CHANNEL, control, slack_client, with_chart

TEAM = DEFAULT_TEAM_ID
SLOT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
PERIOD = period_ending(SLOT, "UTC")


@dataclass
class FakeTime:
    """A monotonic clock that only sleeping moves; the sleeps are kept."""

    now: float = 100.0
    slept: list[float] = field(default_factory=list)

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(round(seconds, 6))
        self.now += seconds


def pacer(
    sessions: sessionmaker[Session], fake: FakeTime, rates: dict[str, CallRate], **kwargs: Any
) -> Pacer:
    return Pacer(sessions, rates, clock=fake.clock, sleep=fake.sleep, **kwargs)


def test_a_burst_goes_at_once_then_calls_come_at_the_rate(sessions: sessionmaker[Session]) -> None:
    fake = FakeTime()
    paced = pacer(sessions, fake, {POST_MESSAGE: CallRate(per_minute=120, burst=2)})

    waits = [paced.wait(TEAM, POST_MESSAGE) for _ in range(4)]

    assert waits == [0, 0, 0.5, 0.5]
    fake.now += 10  # idle: the burst is back, no more
    assert [paced.wait(TEAM, POST_MESSAGE) for _ in range(3)] == [0, 0, 0.5]


def test_a_turn_within_a_wait_is_taken_and_a_later_one_is_left_for_others(
    sessions: sessionmaker[Session],
) -> None:
    fake = FakeTime()
    history = "conversations.history"
    paced = pacer(sessions, fake, {history: CallRate(per_minute=60, burst=2)})

    assert [paced.turn_within(TEAM, history, 0.5) for _ in range(3)] == [True, True, False]
    assert fake.slept == []
    assert paced.turn_within(TEAM, history, 1.0)  # the third call's turn, a second on
    assert fake.slept == [1.0]
    # Refusing took nothing: the next turn is the one after that.
    assert paced.wait(TEAM, history) == 1.0


def test_a_429_holds_every_replicas_turns_for_its_retry_after(sessions: sessionmaker[Session]) -> None:
    fake = FakeTime()
    history = "conversations.history"
    paced = pacer(sessions, fake, {history: CallRate(per_minute=50, burst=4)})

    assert paced.turn_within(TEAM, history, 3)
    paced.hold(TEAM, history, 60)  # Slack: one call a minute, outside the Marketplace

    assert not paced.turn_within(TEAM, history, 3)
    assert paced.turn_within("T0OTHER001", history, 3), "another workspace's pace is its own"
    fake.now += 60
    assert paced.turn_within(TEAM, history, 3)
    assert fake.slept == []


def _post(emu: Emulator, paced: Pacer) -> str:
    metadata = {"event_type": "twoway_test", "event_payload": {"n": 1}}
    return post_once(
        slack_client(emu), paced, TEAM, search_from=SLOT, metadata=metadata, channel=CHANNEL, text="hi"
    )


def test_a_post_slack_refuses_with_429_holds_the_pace_and_takes_a_later_turn(
    sessions: sessionmaker[Session],
) -> None:
    fake = FakeTime()
    paced = pacer(sessions, fake, {POST_MESSAGE: CallRate(per_minute=600, burst=10)}, channel_rates={})
    with Emulator() as emu:
        control(
            emu,
            "POST",
            "/_emulator/faults",
            {"method": POST_MESSAGE, "status": 429, "retry_after": 3, "count": 2},
        )

        ts = _post(emu, paced)

        # Each refusal held the pace for Slack's Retry-After, and the pacer slept it out: slack_sdk
        # never waited, nor posted outside a turn.
        assert fake.slept == [3.0, 3.0]
        assert [c["ok"] for c in emu.calls(POST_MESSAGE)] == [False, False, True]
        assert [m["ts"] for m in emu.state.team(TEAM).channels[CHANNEL].messages.values()] == [ts]


def test_a_post_slack_refuses_every_turn_fails_as_ratelimited(sessions: sessionmaker[Session]) -> None:
    fake = FakeTime()
    paced = pacer(sessions, fake, {POST_MESSAGE: CallRate(per_minute=600, burst=10)}, channel_rates={})
    with Emulator() as emu:
        control(emu, "POST", "/_emulator/faults", {"method": POST_MESSAGE, "status": 429, "retry_after": 1})

        with pytest.raises(SlackApiError) as refused:
            _post(emu, paced)

        assert refused.value.response["error"] == "ratelimited"
        assert len(emu.calls(POST_MESSAGE)) == RATE_LIMITED_TURNS
        assert fake.slept == [1.0] * (RATE_LIMITED_TURNS - 1)


def test_callers_arriving_together_are_given_turns_in_order(sessions: sessionmaker[Session]) -> None:
    fake = FakeTime()
    paced = Pacer(
        sessions, {POST_MESSAGE: CallRate(per_minute=60, burst=1)}, clock=fake.clock, sleep=lambda s: None
    )

    # Nobody sleeps here (as if each caller were a thread of its own): each is told its own turn.
    assert [paced.wait(TEAM, POST_MESSAGE) for _ in range(4)] == [0, 1, 2, 3]


def test_workspaces_methods_and_unpaced_calls(sessions: sessionmaker[Session]) -> None:
    fake = FakeTime()
    rates = {POST_MESSAGE: CallRate(60, 1), "files.getUploadURLExternal": CallRate(30, 1)}
    paced = Pacer(sessions, rates, clock=fake.clock, sleep=lambda s: None)

    assert paced.wait(TEAM, POST_MESSAGE) == 0
    assert paced.wait("T0OTHER001", POST_MESSAGE) == 0
    assert paced.wait(TEAM, "users.info") == 0
    # Waits for the slower of the two, and each bucket keeps its own count.
    assert paced.wait(TEAM, POST_MESSAGE, "files.getUploadURLExternal") == 1
    assert paced.wait(TEAM, "files.getUploadURLExternal") == 2


def test_a_channel_is_paced_within_its_workspace(sessions: sessionmaker[Session]) -> None:
    fake = FakeTime()
    paced = Pacer(
        sessions,
        {POST_MESSAGE: CallRate(per_minute=600, burst=10)},
        channel_rates={POST_MESSAGE: CallRate(per_minute=60, burst=1)},
        clock=fake.clock,
        sleep=lambda s: None,
    )

    # The workspace has turns in hand; the channel has one a second.
    assert [paced.wait(TEAM, POST_MESSAGE, channel_id="C0ONE00001") for _ in range(3)] == [0, 1, 2]
    assert paced.wait(TEAM, POST_MESSAGE, channel_id="C0TWO00002") == 0
    assert paced.wait(TEAM, POST_MESSAGE) == 0


def test_replicas_share_one_pace(db_url: str) -> None:
    """Two replicas, each with its own engine and threads, take turns from the same clock."""
    engines = [make_engine(db_url) for _ in range(2)]
    try:
        upgrade(engines[0])
        fake = FakeTime()
        rate = {POST_MESSAGE: CallRate(per_minute=60, burst=3)}
        replicas = [
            Pacer(make_session_factory(e), rate, clock=fake.clock, sleep=lambda s: None) for e in engines
        ]

        with ThreadPoolExecutor(8) as pool:
            waits = list(pool.map(lambda i: replicas[i % 2].wait(TEAM, POST_MESSAGE), range(20)))

        # Three in hand, then one a second, whoever asked: no turn given twice, none skipped.
        assert sorted(waits) == [0, 0, 0, *range(1, 18)]
    finally:
        for engine in engines:
            engine.dispose()


def test_slacks_documented_limits_are_the_default_pace() -> None:
    assert SLACK_RATES[POST_MESSAGE] == CallRate(per_minute=300, burst=25)
    assert CHANNEL_RATES[POST_MESSAGE] == CallRate(per_minute=60, burst=2)
    assert all(SLACK_RATES[m] == CallRate(per_minute=100, burst=8) for m in UPLOAD_METHODS)


def _limits(emu: Emulator) -> Any:
    with urllib.request.urlopen(emu.base_url + "/_emulator/limits", timeout=10) as response:
        return json.loads(response.read())


def test_paced_digests_with_charts_get_no_429_from_a_slack_enforcing_the_same_limits(
    sessions: sessionmaker[Session],
) -> None:
    # Slack allows a burst of three posts and two uploads, then two a second; the publisher spends one
    # less, and so five digests take 1.5 s at least.
    limits = RateLimits(
        per_workspace={
            POST_MESSAGE: Limit(per_minute=120, burst=3),
            **dict.fromkeys(UPLOAD_METHODS, Limit(per_minute=120, burst=2)),
        }
    )
    rates = {
        method: CallRate(limit.per_minute, limit.burst - 1) for method, limit in limits.per_workspace.items()
    }
    channels = [f"C0PACE{i:04d}" for i in range(5)]
    now = SLOT + timedelta(minutes=1)
    with Emulator(EmulatorSettings(clock=lambda: now.timestamp(), rate_limits=limits)) as emu:
        for channel_id in channels:
            emu.state.add_channel(TEAM, channel_id, channel_id.lower())
        with sessions.begin() as s:
            for channel_id in channels:
                ensure_channel(s, TEAM, channel_id, now=SLOT - timedelta(weeks=4))
        client = WebClient(token="xoxb-test", base_url=emu.api_url)
        publisher = Publisher(
            sessions, lambda team: client, with_chart, "test:1", lambda: now, pacer=Pacer(sessions, rates)
        )
        started = time.monotonic()

        outcomes = [publisher.publish_digest(TEAM, channel_id, PERIOD) for channel_id in channels]

        assert [o.status for o in outcomes] == ["posted"] * 5
        assert time.monotonic() - started >= 1.4
        assert _limits(emu)["total"] == 0
        assert len([c for c in emu.calls("files.completeUploadExternal") if c["ok"]]) == 5
