"""The publisher paces its posts and chart uploads within Slack's per-workspace limits."""

from __future__ import annotations

import json
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from slack_sdk import WebClient
from sqlalchemy.orm import Session, sessionmaker

from bot.digest import period_ending
from bot.emulator import DEFAULT_TEAM_ID, Emulator, EmulatorSettings, Limit, RateLimits
from bot.publish import POST_MESSAGE, SLACK_RATES, UPLOAD_METHODS, Pacer, Publisher, Rate
from storage.queries import ensure_channel
from tests.test_publish import with_chart

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


def test_a_burst_goes_at_once_then_calls_come_at_the_rate() -> None:
    fake = FakeTime()
    pacer = Pacer({POST_MESSAGE: Rate(per_minute=120, burst=2)}, clock=fake.clock, sleep=fake.sleep)

    waits = [pacer.wait(TEAM, POST_MESSAGE) for _ in range(4)]

    assert waits == [0, 0, 0.5, 0.5]
    fake.now += 10  # idle: the burst is back, no more
    assert [pacer.wait(TEAM, POST_MESSAGE) for _ in range(3)] == [0, 0, 0.5]


def test_callers_arriving_together_are_given_turns_in_order() -> None:
    fake = FakeTime()
    pacer = Pacer({POST_MESSAGE: Rate(per_minute=60, burst=1)}, clock=fake.clock, sleep=lambda s: None)

    # Nobody sleeps here (as if each caller were a thread of its own): each is told its own turn.
    assert [pacer.wait(TEAM, POST_MESSAGE) for _ in range(4)] == [0, 1, 2, 3]


def test_workspaces_methods_and_unpaced_calls() -> None:
    fake = FakeTime()
    rates = {POST_MESSAGE: Rate(60, 1), "files.getUploadURLExternal": Rate(30, 1)}
    pacer = Pacer(rates, clock=fake.clock, sleep=lambda s: None)

    assert pacer.wait(TEAM, POST_MESSAGE) == 0
    assert pacer.wait("T0OTHER001", POST_MESSAGE) == 0
    assert pacer.wait(TEAM, "users.info") == 0
    # Waits for the slower of the two, and each bucket keeps its own count.
    assert pacer.wait(TEAM, POST_MESSAGE, "files.getUploadURLExternal") == 1
    assert pacer.wait(TEAM, "files.getUploadURLExternal") == 2


def test_slacks_documented_limits_are_the_default_pace() -> None:
    assert SLACK_RATES[POST_MESSAGE] == Rate(per_minute=300, burst=25)
    assert all(SLACK_RATES[m] == Rate(per_minute=100, burst=8) for m in UPLOAD_METHODS)


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
        method: Rate(limit.per_minute, limit.burst - 1) for method, limit in limits.per_workspace.items()
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
            sessions, lambda team: client, with_chart, "test:1", lambda: now, pacer=Pacer(rates)
        )
        started = time.monotonic()

        outcomes = [publisher.publish_digest(TEAM, channel_id, PERIOD) for channel_id in channels]

        assert [o.status for o in outcomes] == ["posted"] * 5
        assert time.monotonic() - started >= 1.4
        assert _limits(emu)["total"] == 0
        assert len([c for c in emu.calls("files.completeUploadExternal") if c["ok"]]) == 5
