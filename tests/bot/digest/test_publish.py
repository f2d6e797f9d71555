"""Digests are posted once per (team, channel, period): against the emulator, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import QueuePool

from bot.digest import publish as publish_module
from bot.digest.blocks import digest_metadata
from bot.digest.chart import ChartData
from bot.digest.compose import ComposedDigest, compose_digest
from bot.digest.period import Period, period_ending
from bot.digest.publish import Outcome, Publisher
from bot.nudges import Nudger
from bot.posting import MAX_POST_ATTEMPTS
from emulator import Emulator, EmulatorSettings
from storage.channels import ensure_channel
from storage.comments import flag_comment
from storage.digest_runs import claim_run, get_run, missed_previous
from storage.models import DigestRun
from storage.posts import SharedLink, record_share
from tests.support.paths import ROOT
from tests.support.publishing import (
    CHANNEL,
    PERIOD,
    SLOT,
    TEAM,
    Clock,
    add_channel,
    control,
    make_publisher,
    posted,
    slack_client,
    with_chart,
)

THREADS = 8

Sessions = sessionmaker[Session]


def run_of(sessions: Sessions, period: Period = PERIOD) -> DigestRun:
    with sessions.begin() as s:
        run = get_run(s, TEAM, CHANNEL, period.start)
    assert run is not None
    return run


@pytest.fixture
def clock() -> Clock:
    return Clock(SLOT + timedelta(minutes=1))


@pytest.fixture
def emu(clock: Clock) -> Iterator[Emulator]:
    with Emulator(EmulatorSettings(clock=lambda: clock.now.timestamp())) as emulator:
        yield emulator


@pytest.fixture
def publisher(sessions: Sessions, emu: Emulator, clock: Clock) -> Publisher:
    add_channel(sessions, created_at=SLOT - timedelta(weeks=4))
    return make_publisher(sessions, emu, clock)


def test_called_twice_the_digest_is_posted_once(
    publisher: Publisher, emu: Emulator, sessions: Sessions
) -> None:
    first = publisher.publish_digest(TEAM, CHANNEL, PERIOD)
    second = publisher.publish_digest(TEAM, CHANNEL, PERIOD)

    assert first.status == "posted"
    assert second == Outcome("already_posted", first.ts)
    [call] = posted(emu)
    assert call["args"]["channel"] == CHANNEL
    assert call["args"]["unfurl_links"] in (False, "false", "0", 0)
    assert call["args"]["metadata"] == digest_metadata(TEAM, CHANNEL, PERIOD)
    run = run_of(sessions)
    assert (run.state, run.message_ts, run.attempts, run.posted_at) == (
        "posted",
        first.ts,
        1,
        publisher.clock(),
    )


def test_eight_threads_at_once_post_one_digest(publisher: Publisher, emu: Emulator) -> None:
    start = threading.Barrier(THREADS)

    def publish() -> Outcome:
        start.wait()
        return publisher.publish_digest(TEAM, CHANNEL, PERIOD)

    with ThreadPoolExecutor(THREADS) as pool:
        outcomes = [f.result() for f in [pool.submit(publish) for _ in range(THREADS)]]

    statuses = sorted(o.status for o in outcomes)
    assert statuses.count("posted") == 1
    assert set(statuses) <= {"posted", "already_posted", "in_progress"}
    assert len(posted(emu)) == 1


def _crashed_claim(sessions: Sessions, at: datetime) -> None:
    with sessions.begin() as s:
        claim_run(
            s, TEAM, CHANNEL, period_start=PERIOD.start, period_end=PERIOD.end, replica="dead:1", now=at
        )


def test_after_a_crash_a_digest_already_in_the_channel_is_recorded_not_posted_again(
    publisher: Publisher, emu: Emulator, sessions: Sessions, clock: Clock
) -> None:
    _crashed_claim(sessions, clock.now)
    # The crashed replica got as far as posting; its message carries the digest's metadata.
    ts = slack_client(emu).chat_postMessage(
        channel=CHANNEL, text="digest", metadata=digest_metadata(TEAM, CHANNEL, PERIOD)
    )["ts"]
    slack_client(emu).chat_postMessage(channel=CHANNEL, text="someone else's message afterwards")
    clock.advance(timedelta(minutes=6))

    outcome = publisher.publish_digest(TEAM, CHANNEL, PERIOD)

    assert outcome == Outcome("found_after_crash", ts)
    assert len(posted(emu)) == 2
    [history] = emu.calls("conversations.history")
    assert history["args"]["include_all_metadata"] in (True, "true", "1", 1)
    run = run_of(sessions)
    assert (run.state, run.message_ts, run.claimed_by, run.attempts) == ("posted", ts, "test:1", 2)


def test_after_a_crash_before_posting_the_digest_is_posted_once(
    publisher: Publisher, emu: Emulator, sessions: Sessions, clock: Clock
) -> None:
    _crashed_claim(sessions, clock.now)
    # Another period's digest is in the channel: it is not this one.
    other = period_ending(SLOT - timedelta(weeks=1), "UTC")
    slack_client(emu).chat_postMessage(
        channel=CHANNEL, text="old", metadata=digest_metadata(TEAM, CHANNEL, other)
    )
    clock.advance(timedelta(minutes=6))

    outcome = publisher.publish_digest(TEAM, CHANNEL, PERIOD)
    again = publisher.publish_digest(TEAM, CHANNEL, PERIOD)

    assert outcome.status == "posted"
    assert again == Outcome("already_posted", outcome.ts)
    assert len(posted(emu)) == 2
    assert run_of(sessions).message_ts == outcome.ts


def test_a_claim_within_its_lease_is_left_alone(
    publisher: Publisher, emu: Emulator, sessions: Sessions, clock: Clock
) -> None:
    _crashed_claim(sessions, clock.now)
    clock.advance(timedelta(minutes=4))

    assert publisher.publish_digest(TEAM, CHANNEL, PERIOD) == Outcome("in_progress")
    assert emu.calls() == []
    assert publisher.retry(TEAM) == []
    assert run_of(sessions).claimed_by == "dead:1"


@pytest.mark.parametrize(
    "fault",
    [
        pytest.param({"status": 500, "kept": True}, id="500_after_keeping_it"),
        pytest.param({"status": 500, "drop": True}, id="connection_dropped_after_keeping_it"),
    ],
)
def test_a_post_whose_outcome_is_unknown_is_looked_for_and_never_repeated(
    publisher: Publisher, emu: Emulator, sessions: Sessions, fault: dict[str, Any]
) -> None:
    # Slack kept the digest but answered a server error, or never answered: the retry handlers leave
    # chat.postMessage alone, and the publisher finds the digest by its metadata instead of posting again.
    control(emu, "POST", "/_emulator/faults", {"method": "chat.postMessage", "count": 1, **fault})

    outcome = publisher.publish_digest(TEAM, CHANNEL, PERIOD)

    kept = [m for m in emu.state.teams[TEAM].channels[CHANNEL].messages.values() if m.get("metadata")]
    assert [m["ts"] for m in kept] == [outcome.ts]
    assert outcome.status == "posted"
    assert len(emu.calls("chat.postMessage")) == 1
    assert [c["method"] for c in emu.calls() if c["method"].startswith("conversations.")] == [
        "conversations.history"
    ]
    run = run_of(sessions)
    assert (run.state, run.message_ts, run.attempts) == ("posted", outcome.ts, 1)


def test_a_post_slack_did_not_keep_is_posted_once_more_after_looking(
    publisher: Publisher, emu: Emulator
) -> None:
    control(emu, "POST", "/_emulator/faults", {"method": "chat.postMessage", "status": 500, "count": 1})

    outcome = publisher.publish_digest(TEAM, CHANNEL, PERIOD)

    assert outcome.status == "posted"
    assert [c["ok"] for c in emu.calls("chat.postMessage")] == [False, True]
    assert [c["method"] for c in emu.calls()][:3] == [
        "chat.postMessage",
        "conversations.history",
        "chat.postMessage",
    ]


def test_a_slack_failure_is_recorded_and_the_next_sweep_posts_once(
    publisher: Publisher, emu: Emulator, sessions: Sessions, clock: Clock
) -> None:
    control(emu, "POST", "/_emulator/faults", {"method": "chat.postMessage", "status": 500, "every": 1})

    failed = publisher.publish_digest(TEAM, CHANNEL, PERIOD)

    assert failed == Outcome("failed", error="fatal_error")
    # Posted, not found in the channel, posted once more: twice, and never by the retry handler.
    assert len(emu.calls("chat.postMessage")) == 2
    run = run_of(sessions)
    assert (run.state, run.error, run.attempts) == ("failed", "fatal_error", 1)

    control(emu, "DELETE", "/_emulator/faults")
    clock.advance(timedelta(minutes=5))
    [retried] = publisher.retry(TEAM)

    assert retried.status == "posted"
    assert publisher.retry(TEAM) == []
    assert len(posted(emu)) == 1
    run = run_of(sessions)
    assert (run.state, run.error, run.attempts, run.message_ts) == ("posted", None, 2, retried.ts)


def test_retries_stop_after_the_last_attempt(publisher: Publisher, emu: Emulator, clock: Clock) -> None:
    control(emu, "POST", "/_emulator/faults", {"method": "chat.postMessage", "status": 500})
    publisher.publish_digest(TEAM, CHANNEL, PERIOD)
    for _ in range(MAX_POST_ATTEMPTS - 1):
        clock.advance(timedelta(minutes=5))
        assert [o.status for o in publisher.retry(TEAM)] == ["failed"]

    clock.advance(timedelta(minutes=5))
    assert publisher.retry(TEAM) == []
    assert publisher.publish_digest(TEAM, CHANNEL, PERIOD) == Outcome("failed", error="fatal_error")
    assert posted(emu) == []


def test_the_chart_goes_into_the_digests_thread(
    sessions: Sessions, emu: Emulator, clock: Clock, publisher: Publisher
) -> None:
    charted = make_publisher(sessions, emu, clock, compose=with_chart)

    outcome = charted.publish_digest(TEAM, CHANNEL, PERIOD)

    assert outcome.status == "posted"
    assert outcome.ts is not None
    [complete] = posted(emu, "files.completeUploadExternal")
    assert complete["args"]["thread_ts"] == outcome.ts
    assert complete["args"]["channel_id"] == CHANNEL
    [upload] = posted(emu, "files.getUploadURLExternal")
    assert upload["args"]["filename"] == "twoway-digest.png"
    replies = slack_client(emu).conversations_replies(channel=CHANNEL, ts=outcome.ts)["messages"]
    assert [f["name"] for m in replies for f in m.get("files", [])] == ["twoway-digest.png"]


def test_a_failed_chart_upload_does_not_fail_or_repeat_the_digest(
    sessions: Sessions, emu: Emulator, clock: Clock, publisher: Publisher
) -> None:
    charted = make_publisher(sessions, emu, clock, compose=with_chart)
    control(emu, "POST", "/_emulator/faults", {"method": "files.completeUploadExternal", "status": 500})

    outcome = charted.publish_digest(TEAM, CHANNEL, PERIOD)
    clock.advance(timedelta(minutes=10))

    assert outcome.status == "posted"
    assert charted.retry(TEAM) == []
    assert charted.publish_digest(TEAM, CHANNEL, PERIOD) == Outcome("already_posted", outcome.ts)
    assert len(posted(emu)) == 1
    assert run_of(sessions).state == "posted"


def test_the_chart_is_drawn_once_the_composing_session_is_closed(
    sessions: Sessions, engine: Engine, emu: Emulator, clock: Clock, publisher: Publisher
) -> None:
    # Drawing takes a digest's most CPU; holding a connection meanwhile (on SQLite the process's
    # only one) would keep every other thread of the replica waiting for the chart.
    pool = engine.pool
    assert isinstance(pool, QueuePool)
    connections_in_use: list[int] = []

    def draw(chart: ChartData) -> bytes:
        connections_in_use.append(pool.checkedout())
        return b"\x89PNG\r\n\x1a\nchart"

    charted = make_publisher(sessions, emu, clock, compose=compose_digest, draw_chart=draw)

    outcome = charted.publish_digest(TEAM, CHANNEL, PERIOD)

    assert outcome.status == "posted"
    assert connections_in_use == [0]
    [complete] = posted(emu, "files.completeUploadExternal")
    assert complete["args"]["thread_ts"] == outcome.ts


def test_a_chart_that_fails_to_draw_leaves_the_digest_posted_without_it(
    sessions: Sessions, emu: Emulator, clock: Clock, publisher: Publisher, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(chart: ChartData) -> bytes:
        raise ValueError("no ink")

    charted = make_publisher(sessions, emu, clock, compose=with_chart, draw_chart=broken)

    with caplog.at_level(logging.ERROR, logger="bot.digest.publish"):
        outcome = charted.publish_digest(TEAM, CHANNEL, PERIOD)

    assert outcome.status == "posted"
    assert run_of(sessions).state == "posted"
    assert len(posted(emu)) == 1
    assert emu.calls("files.getUploadURLExternal") == []
    [logged] = [r for r in caplog.records if r.name == "bot.digest.publish" and r.levelno == logging.ERROR]
    assert logged.getMessage() == f"the chart of the digest of {TEAM}/{CHANNEL} was not drawn"
    assert logged.exc_info is not None
    assert repr(logged.exc_info[1]) == "ValueError('no ink')"


def test_a_composer_that_raises_fails_the_run_without_posting(
    sessions: Sessions, emu: Emulator, clock: Clock, publisher: Publisher
) -> None:
    def broken(s: Session, team_id: str, channel_id: str, period: Period, now: datetime) -> ComposedDigest:
        raise RuntimeError("no figures")

    outcome = make_publisher(sessions, emu, clock, compose=broken).publish_digest(TEAM, CHANNEL, PERIOD)

    assert outcome.status == "failed"
    assert "no figures" in (outcome.error or "")
    assert emu.calls("chat.postMessage") == []
    assert run_of(sessions).state == "failed"


def _catch_up(publisher: Publisher) -> Outcome | None:
    return publisher.catch_up(TEAM, CHANNEL, weekday=SLOT.weekday(), minute=9 * 60, zone="UTC", enabled=True)


def test_catch_up_within_a_day_posts_the_missed_digest(
    publisher: Publisher, emu: Emulator, clock: Clock
) -> None:
    clock.now = SLOT + timedelta(hours=23)

    outcome = _catch_up(publisher)

    assert outcome is not None
    assert outcome.status == "posted"
    assert _catch_up(publisher) is None
    assert publisher.catch_up(TEAM, CHANNEL, weekday=0, minute=540, zone="UTC", enabled=False) is None
    [call] = posted(emu)
    assert call["args"]["metadata"] == digest_metadata(TEAM, CHANNEL, PERIOD)


def test_catch_up_after_a_day_posts_nothing_and_the_next_digest_knows(
    publisher: Publisher, emu: Emulator, sessions: Sessions, clock: Clock
) -> None:
    clock.now = SLOT + timedelta(hours=25)

    assert _catch_up(publisher) is None
    assert emu.calls() == []
    following = period_ending(SLOT + timedelta(weeks=1), "UTC")
    with sessions.begin() as s:
        assert missed_previous(s, TEAM, CHANNEL, following)

    publisher.publish_digest(TEAM, CHANNEL, PERIOD)
    with sessions.begin() as s:
        assert not missed_previous(s, TEAM, CHANNEL, following)
        # A channel twoway met after the previous slot missed nothing.
        ensure_channel(s, TEAM, "C0NEW00001", now=SLOT + timedelta(hours=1))
        assert not missed_previous(s, TEAM, "C0NEW00001", following)
        assert not missed_previous(s, "T0OTHER01", CHANNEL, following)


def _flagged(sessions: Sessions, emu: Emulator, at: datetime) -> int:
    """A post shared in the channel and an open comment on it, flagged ``at``; returns the comment's id."""
    share = control(
        emu, "POST", "/_emulator/message", {"channel": CHANNEL, "user": "U0ADA00001", "text": "post"}
    )
    url = "https://x.com/team/status/1"
    with sessions.begin() as s:
        post, _ = record_share(
            s,
            TEAM,
            channel_id=CHANNEL,
            message_ts=share["ts"],
            user_id="U0ADA00001",
            link=SharedLink(url, url, "x"),
            shared_at=at,
        )
        comment, _ = flag_comment(
            s,
            TEAM,
            post=post,
            channel_id=CHANNEL,
            text="Is this still on sale?",
            author=None,
            flagged_by="U0GRACE001",
            flagged_at=at,
            thread_ts=share["ts"],
        )
        return comment.id


def _posted_blocks(call: dict[str, Any]) -> list[dict[str, Any]]:
    blocks = call["args"]["blocks"]
    return list(blocks if isinstance(blocks, list) else json.loads(blocks))


def test_a_digest_lost_for_good_and_a_failed_nudge_are_reported_in_the_next_digest(
    sessions: Sessions, emu: Emulator, clock: Clock, publisher: Publisher
) -> None:
    real = make_publisher(sessions, emu, clock, compose=compose_digest)
    client = slack_client(emu)
    nudger = Nudger(sessions=sessions, client_for=lambda team: client, replica="test:1", clock=clock)
    # Flagged on Sunday morning: its nudge falls due at 07:00 on Monday, two hours before the digest.
    comment_id = _flagged(sessions, emu, at=SLOT - timedelta(days=1, hours=2))
    control(emu, "POST", "/_emulator/faults", {"method": "chat.postMessage", "status": 429, "retry_after": 1})

    # Slack rate-limits every post: the nudge fails, and the digest through all its attempts.
    [nudged] = nudger.sweep(TEAM)
    assert (nudged.comment_id, nudged.level, nudged.status, nudged.error) == (
        comment_id,
        1,
        "failed",
        "ratelimited",
    )
    assert real.publish_digest(TEAM, CHANNEL, PERIOD) == Outcome("failed", error="ratelimited")
    for _ in range(MAX_POST_ATTEMPTS - 1):
        clock.advance(timedelta(minutes=5))
        assert [o.status for o in real.retry(TEAM)] == ["failed"]
    clock.advance(timedelta(minutes=5))
    assert real.retry(TEAM) == []
    assert posted(emu) == []

    control(emu, "DELETE", "/_emulator/faults")
    next_week = period_ending(SLOT + timedelta(weeks=1), "UTC")
    clock.now = next_week.end + timedelta(minutes=1)
    outcome = real.publish_digest(TEAM, CHANNEL, next_week)

    assert outcome.status == "posted"
    [call] = posted(emu)
    assert call["args"]["metadata"] == digest_metadata(TEAM, CHANNEL, next_week)
    notes = [b["text"]["text"] for b in _posted_blocks(call) if b["type"] == "section"]
    assert notes[0].startswith("1 comment waits for an answer in <#C0SOCIAL01>, oldest ")
    assert notes[1].startswith("Last week's digest couldn't be posted on time.")
    assert notes[2] == (
        "*Not delivered since the last digest*\n"
        f"• The digest of the week to <!date^{int(SLOT.timestamp())}^{{date_short}}|2 Mar 2026> "
        "never reached this channel (Slack answered `ratelimited`).\n"
        "• 1 nudge about 1 comment could not be sent (Slack answered `ratelimited`). "
        f"#{comment_id} is still waiting for an answer: can anyone take it?"
    )
    assert str(call["args"]["text"]).endswith(" Not delivered since the last digest: 1 digest and 1 nudge.")

    # That digest reached the channel: the one after it has nothing new to report.
    week_after = period_ending(SLOT + timedelta(weeks=2), "UTC")
    clock.now = week_after.end + timedelta(minutes=1)
    assert real.publish_digest(TEAM, CHANNEL, week_after).status == "posted"
    latest = posted(emu)[-1]
    assert latest["args"]["metadata"] == digest_metadata(TEAM, CHANNEL, week_after)
    assert "Not delivered" not in json.dumps(_posted_blocks(latest))
    assert "couldn't be posted on time" not in json.dumps(_posted_blocks(latest))


# Each process publishes the same ten weeks, starting together at `go`.
TWO_PROCESSES = """
import sys, time
from datetime import UTC, datetime, timedelta
from slack_sdk import WebClient
from bot.digest.period import Period
from bot.digest.compose import ComposedDigest
from bot.digest.publish import Publisher
from storage.db import make_engine, make_session_factory

db_url, api_url, go, replica = sys.argv[1:]
client = WebClient(token="xoxb-test", base_url=api_url)
publisher = Publisher(
    sessions=make_session_factory(make_engine(db_url)),
    client_for=lambda team: client,
    compose=lambda s, team, channel, period, now: ComposedDigest({"text": f"digest {period.end}"}, None),
    replica=replica,
    clock=lambda: datetime.now(UTC),
)
base = datetime(2026, 1, 5, 9, tzinfo=UTC)
time.sleep(max(0.0, float(go) - time.time()))
for week in range(10):
    period = Period(start=base + timedelta(weeks=week), end=base + timedelta(weeks=week + 1))
    print(publisher.publish_digest("T0TWOWAY1", "C0SOCIAL01", period).status, flush=True)
"""


def test_two_processes_on_one_database_post_each_digest_once(db_url: str, sessions: Sessions) -> None:
    add_channel(sessions, created_at=datetime(2025, 12, 1, tzinfo=UTC))
    with Emulator(EmulatorSettings()) as emu:
        go = str(time.time() + 1.5)
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", TWO_PROCESSES, db_url, emu.api_url, go, f"process:{n}"],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for n in (1, 2)
        ]
        results = [p.communicate(timeout=60) for p in processes]
        calls = posted(emu)

    for process, (_, err) in zip(processes, results, strict=True):
        assert process.returncode == 0, err
    statuses = [line for out, _ in results for line in out.split()]
    assert len(statuses) == 20
    assert statuses.count("posted") == 10
    assert len(calls) == 10
    assert len({c["args"]["metadata"]["event_payload"]["period_end"] for c in calls}) == 10
    with sessions.begin() as s:
        runs = list(s.scalars(select(DigestRun).where(DigestRun.team_id == TEAM)))
    assert sorted(r.state for r in runs) == ["posted"] * 10


OTHER = "C0LAUNCH01"


def test_a_channel_whose_retry_raises_is_failed_and_the_other_channels_are_posted(
    sessions: Sessions,
    emu: Emulator,
    clock: Clock,
    publisher: Publisher,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    control(
        emu, "POST", "/_emulator/channel", {"team": TEAM, "id": OTHER, "name": "launches", "bot_member": True}
    )
    add_channel(sessions, created_at=SLOT - timedelta(weeks=4), channel_id=OTHER)
    control(emu, "POST", "/_emulator/faults", {"method": "chat.postMessage", "status": 500, "every": 1})
    for channel in (CHANNEL, OTHER):
        assert publisher.publish_digest(TEAM, channel, PERIOD).status == "failed"
    control(emu, "DELETE", "/_emulator/faults")
    real_find = publish_module.find_message

    def find(client: Any, channel: str, **kwargs: Any) -> str | None:
        # A retry searches the channel first; here Slack's answer for one channel can't be read.
        if channel == CHANNEL:
            raise ValueError("an unreadable answer")
        return real_find(client, channel, **kwargs)

    monkeypatch.setattr(publish_module, "find_message", find)
    clock.advance(timedelta(minutes=5))

    outcomes = publisher.retry(TEAM)

    assert sorted(o.status for o in outcomes) == ["failed", "posted"]
    assert [c["args"]["channel"] for c in posted(emu)] == [OTHER]
    # The broken channel's claim is failed with its attempt counted, not left for a lease to expire.
    run = run_of(sessions)
    assert (run.state, run.attempts) == ("failed", 2)
    assert "an unreadable answer" in caplog.text
