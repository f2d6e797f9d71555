"""Digest jobs derived from the channels' settings, and digests that arrive once when the jobs fire."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import apscheduler.schedulers.base
import pytest
from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy.orm import Session, sessionmaker

from bot import departures
from bot.digest.compose import compose_digest
from bot.digest.period import next_slot_after, slot_at_or_before
from bot.digest.publish import Outcome, Publisher
from bot.inbox import KEEP_UNFINISHED, Inbox
from bot.nudges import Nudger
from bot.scheduler import (
    CATCH_UP_JOB_ID,
    DIGEST_EXECUTOR,
    DIGEST_WORKERS,
    INBOX_JOB_ID,
    SWEEP_JOB_ID,
    Schedules,
    digest_job_id,
    known_teams,
)
from bot.zones import zone
from emulator import Emulator, EmulatorSettings
from storage.channels import get_channel
from storage.event_claims import claim_event, record_event_failed
from storage.messages import keep_message, kept_message
from storage.workspace_rows import count_rows
from tests.support.polling import eventually
from tests.support.publishing import (
    CHANNEL,
    SLOT,
    TEAM,
    Clock,
    add_channel,
    control,
    flagged,
    make_publisher,
    posted,
    slack_client,
)

Sessions = sessionmaker[Session]
OTHER = "C0GENERAL1"
DISABLED = "C0QUIET001"


def fields(trigger: Any) -> dict[str, str]:
    return {f.name: str(f) for f in trigger.fields if f.name in ("day_of_week", "hour", "minute", "second")}


@pytest.fixture
def clock() -> Clock:
    return Clock(SLOT + timedelta(minutes=1))


@pytest.fixture
def emu(clock: Clock) -> Iterator[Emulator]:
    with Emulator(EmulatorSettings(clock=lambda: clock.now.timestamp())) as emulator:
        yield emulator


def make_schedules(sessions: Sessions, emu: Emulator, clock: Callable[[], datetime]) -> Schedules:
    client = slack_client(emu)
    return Schedules(
        sessions,
        make_publisher(sessions, emu, clock),
        Nudger(sessions=sessions, client_for=lambda team: client, replica="test:1", clock=clock),
        known_teams(sessions),
        scheduler=BackgroundScheduler(timezone=UTC),
    )


@pytest.fixture
def schedules(sessions: Sessions, emu: Emulator, clock: Clock) -> Iterator[Schedules]:
    created = SLOT - timedelta(weeks=4)
    add_channel(sessions, created)
    add_channel(
        sessions, created, OTHER, digest_weekday=4, digest_minute=17 * 60 + 30, timezone="America/New_York"
    )
    add_channel(sessions, created, DISABLED, digest_enabled=False)
    schedules = make_schedules(sessions, emu, clock)
    yield schedules
    schedules.shutdown()


def test_sync_all_derives_one_job_per_enabled_channel(schedules: Schedules) -> None:
    schedules.sync_all()

    jobs = {job.id: job for job in schedules.scheduler.get_jobs()}
    assert set(jobs) == {digest_job_id(TEAM, CHANNEL), digest_job_id(TEAM, OTHER)}
    social, other = jobs[digest_job_id(TEAM, CHANNEL)], jobs[digest_job_id(TEAM, OTHER)]
    assert fields(social.trigger) == {"day_of_week": "mon", "hour": "9", "minute": "0", "second": "0"}
    assert social.trigger.timezone is zone("UTC")
    assert fields(other.trigger) == {"day_of_week": "fri", "hour": "17", "minute": "30", "second": "0"}
    assert other.trigger.timezone is zone("America/New_York")
    assert other.args == (TEAM, OTHER)
    assert (other.coalesce, other.max_instances, other.misfire_grace_time) == (True, 1, 86400)


def test_digest_jobs_have_an_executor_of_their_own(schedules: Schedules) -> None:
    schedules.start()

    executors = {job.id: job.executor for job in schedules.scheduler.get_jobs()}
    assert executors[digest_job_id(TEAM, CHANNEL)] == executors[digest_job_id(TEAM, OTHER)] == DIGEST_EXECUTOR
    # The sweep keeps the default executor, free when hundreds of digests queue in theirs.
    assert executors[SWEEP_JOB_ID] == "default"
    assert schedules.scheduler._executors[DIGEST_EXECUTOR]._pool._max_workers == DIGEST_WORKERS


def test_sync_channel_reschedules_at_once_and_removes_disabled_digests(
    schedules: Schedules, sessions: Sessions
) -> None:
    schedules.scheduler.start(paused=True)
    schedules.sync_all()
    job_id = digest_job_id(TEAM, CHANNEL)
    before = schedules.scheduler.get_job(job_id).next_run_time

    with sessions.begin() as s:
        channel = get_channel(s, TEAM, CHANNEL)
        assert channel is not None
        channel.digest_weekday, channel.digest_minute, channel.timezone = 2, 8 * 60 + 15, "Asia/Tokyo"
    schedules.sync_channel(TEAM, CHANNEL)

    job = schedules.scheduler.get_job(job_id)
    assert fields(job.trigger) == {"day_of_week": "wed", "hour": "8", "minute": "15", "second": "0"}
    assert job.trigger.timezone is zone("Asia/Tokyo")
    expected = next_slot_after(datetime.now(UTC), weekday=2, minute=8 * 60 + 15, zone="Asia/Tokyo")
    assert job.next_run_time == expected
    assert job.next_run_time != before

    with sessions.begin() as s:
        channel = get_channel(s, TEAM, CHANNEL)
        assert channel is not None
        channel.digest_enabled = False
    schedules.sync_channel(TEAM, CHANNEL)
    assert schedules.scheduler.get_job(job_id) is None
    schedules.sync_channel(TEAM, CHANNEL)

    # Back on, and sync_all agrees with what sync_channel did.
    with sessions.begin() as s:
        channel = get_channel(s, TEAM, CHANNEL)
        assert channel is not None
        channel.digest_enabled = True
    schedules.sync_channel(TEAM, CHANNEL)
    schedules.sync_all()
    assert {j.id for j in schedules.scheduler.get_jobs()} == {job_id, digest_job_id(TEAM, OTHER)}


def test_a_job_fired_twice_posts_once(schedules: Schedules, emu: Emulator, sessions: Sessions) -> None:
    schedules.sync_all()
    job = schedules.scheduler.get_job(digest_job_id(TEAM, CHANNEL))

    first: Outcome = job.func(*job.args)
    second: Outcome = job.func(*job.args)

    assert first.status == "posted"
    assert second == Outcome("already_posted", first.ts)
    [call] = posted(emu)
    assert call["args"]["metadata"]["event_payload"]["period_end"] == "2026-03-02T09:00:00Z"
    assert schedules.run_digest(TEAM, DISABLED) is None


def test_the_sweep_sends_nudges_and_retries_failed_digests(
    schedules: Schedules, emu: Emulator, sessions: Sessions, clock: Clock
) -> None:
    clock.now = SLOT - timedelta(hours=23)
    flagged(sessions, emu, clock)
    clock.now = SLOT + timedelta(minutes=1)
    control(emu, "POST", "/_emulator/faults", {"method": "chat.postMessage", "status": 500})
    assert schedules.run_digest(TEAM, CHANNEL) == Outcome("failed", error="fatal_error")
    control(emu, "DELETE", "/_emulator/faults")
    clock.now = SLOT + timedelta(hours=1)

    schedules.run_sweep()
    schedules.run_sweep()

    calls = posted(emu)
    assert len(calls) == 2
    assert {"metadata" in c["args"] and c["args"]["metadata"]["event_type"] for c in calls} == {
        "twoway_digest",
        "twoway_nudge",
    }


def test_the_sweep_forgets_messages_kept_over_30_days(
    schedules: Schedules, sessions: Sessions, clock: Clock
) -> None:
    with sessions.begin() as s:
        for days, ts in ((31, "1700000000.000001"), (29, "1700000000.000002")):
            keep_message(
                s,
                TEAM,
                channel_id=CHANNEL,
                ts=ts,
                thread_ts="1700000000.000000",
                user_id="U0GRACE001",
                text="Do you ship to Canada?",
                received_at=clock.now - timedelta(days=days),
                replace=False,
            )

    schedules.run_sweep()

    with sessions.begin() as s:
        assert kept_message(s, TEAM, CHANNEL, "1700000000.000001") is None
        assert kept_message(s, TEAM, CHANNEL, "1700000000.000002") is not None


def test_a_workspace_that_left_runs_nothing_and_the_sweep_purges_it_30_days_on(
    schedules: Schedules, sessions: Sessions, clock: Clock
) -> None:
    schedules.sync_all()
    assert known_teams(sessions)() == [TEAM]
    departures.left(sessions, TEAM, clock.now, "app_uninstalled")
    assert known_teams(sessions)() == [], "its schedules stop"
    schedules.sync_all()
    assert [job.id for job in schedules.scheduler.get_jobs()] == []

    clock.advance(departures.KEEP_AFTER_LEAVING - timedelta(minutes=1))
    schedules.run_sweep()
    with sessions.begin() as s:
        assert count_rows(s, TEAM)["channels"] == 3
    clock.advance(timedelta(minutes=2))
    schedules.run_sweep()
    with sessions.begin() as s:
        assert set(count_rows(s, TEAM).values()) == {0}


def test_events_of_a_workspace_that_left_are_forgotten_like_any_others(
    sessions: Sessions, clock: Clock
) -> None:
    """Its failed events are forgotten 14 days on, although it is no longer among the teams recovered."""
    add_channel(sessions, clock.now)
    body = {"type": "event_callback", "team_id": TEAM, "event_id": "Ev1", "event": {"type": "message"}}
    with sessions.begin() as s:
        claim_event(s, TEAM, "Ev1", body=json.dumps(body), replica="dead", now=clock.now)
        assert record_event_failed(s, TEAM, "Ev1", claimed_at=clock.now, error="boom")
    departures.left(sessions, TEAM, clock.now, "tokens_revoked")
    inbox = Inbox(sessions, clock, "alive")
    with Emulator(EmulatorSettings()) as emu:
        client = slack_client(emu)
        schedules = Schedules(
            sessions,
            make_publisher(sessions, emu, clock),
            Nudger(sessions=sessions, client_for=lambda team: client, replica="alive", clock=clock),
            known_teams(sessions),
            scheduler=BackgroundScheduler(timezone=UTC),
            inbox=inbox,
        )
        clock.advance(KEEP_UNFINISHED + timedelta(minutes=1))
        schedules.run_inbox()
    with sessions.begin() as s:
        assert count_rows(s, TEAM)["processed_events"] == 0


class _Shifted(datetime):
    """APScheduler's view of now, moved so that the next whole minute is a second and a half away."""

    offset = timedelta(0)

    @classmethod
    def now(cls, tz: Any = None) -> Any:
        return datetime.now(tz) + cls.offset


def test_a_real_scheduler_posts_the_digest_at_its_slot_once(
    sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Digest slots are whole minutes; rather than wait up to a minute, the scheduler and the
    # publisher both run a little ahead, on the same shifted clock, in real time.
    real = datetime.now(UTC)
    slot = real.replace(second=0, microsecond=0) + timedelta(minutes=1)
    _Shifted.offset = slot - timedelta(seconds=1.5) - real
    monkeypatch.setattr(apscheduler.schedulers.base, "datetime", _Shifted)
    local = slot.astimezone(ZoneInfo("Europe/Paris"))
    add_channel(
        sessions,
        slot - timedelta(weeks=4),
        digest_weekday=local.weekday(),
        digest_minute=local.hour * 60 + local.minute,
        timezone="Europe/Paris",
    )
    with Emulator(EmulatorSettings()) as emu:
        schedules = make_schedules(sessions, emu, lambda: _Shifted.now(UTC))
        schedules.start()
        try:
            assert {j.id for j in schedules.scheduler.get_jobs()} >= {
                SWEEP_JOB_ID,
                digest_job_id(TEAM, CHANNEL),
            }
            [call] = eventually(lambda: posted(emu), timeout=8, what="the digest posted at its slot")
            assert call["args"]["metadata"]["event_payload"]["period_end"] == slot.strftime(
                "%Y-%m-%dT%H:%M:%SZ"
            )
            time.sleep(1)
        finally:
            schedules.shutdown()
        assert len(posted(emu)) == 1
        assert _Shifted.now(UTC) >= slot


def test_start_catches_up_on_a_digest_missed_within_a_day(sessions: Sessions) -> None:
    now = datetime.now(UTC)
    missed, too_old = now - timedelta(hours=2), now - timedelta(hours=30)
    for channel_id, when in ((CHANNEL, missed), (OTHER, too_old)):
        add_channel(
            sessions,
            now - timedelta(weeks=4),
            channel_id,
            digest_weekday=when.weekday(),
            digest_minute=when.hour * 60 + when.minute,
        )
    with Emulator(EmulatorSettings()) as emu:
        schedules = make_schedules(sessions, emu, lambda: datetime.now(UTC))
        schedules.start()
        try:
            [call] = eventually(lambda: posted(emu), what="the missed digest posted")
            eventually(
                lambda: schedules.scheduler.get_job(CATCH_UP_JOB_ID) is None, what="the catch-up job finished"
            )
        finally:
            schedules.shutdown()
        assert call["args"]["channel"] == CHANNEL
        slot = slot_at_or_before(
            now, weekday=missed.weekday(), minute=missed.hour * 60 + missed.minute, zone="UTC"
        )
        assert call["args"]["metadata"]["event_payload"]["period_end"] == slot.strftime("%Y-%m-%dT%H:%M:%SZ")
        assert len(posted(emu)) == 1


def test_a_real_scheduler_handles_events_a_dead_replica_left(sessions: Sessions) -> None:
    now = datetime.now(UTC)
    add_channel(sessions, now - timedelta(weeks=4))
    body = {"type": "event_callback", "team_id": TEAM, "event_id": "Ev1", "event": {"type": "message"}}
    with sessions.begin() as s:
        claim_event(s, TEAM, "Ev1", body=json.dumps(body), replica="dead", now=now - timedelta(seconds=3))
    handled: list[dict[str, Any]] = []

    def handle(event: dict[str, Any]) -> bool:
        handled.append(event)
        return True

    inbox = Inbox(sessions, lambda: datetime.now(UTC), "alive", lease=timedelta(seconds=2))
    inbox.serve(handle)
    with Emulator(EmulatorSettings()) as emu:
        client = slack_client(emu)
        schedules = Schedules(
            sessions,
            make_publisher(sessions, emu, lambda: datetime.now(UTC)),
            Nudger(sessions=sessions, client_for=lambda team: client, replica="alive", clock=lambda: now),
            known_teams(sessions),
            scheduler=BackgroundScheduler(timezone=UTC),
            inbox=inbox,
        )
        schedules.start()
        try:
            job = schedules.scheduler.get_job(INBOX_JOB_ID)
            assert job is not None
            assert job.trigger.interval == timedelta(seconds=1), "every half lease"
            eventually(lambda: handled, what="the dead replica's event handled")
        finally:
            schedules.shutdown()
    assert handled == [body]


def test_catch_up_takes_channels_side_by_side(sessions: Sessions, emu: Emulator, clock: Clock) -> None:
    channels = [f"C0LATE{i:04d}" for i in range(3)]
    for channel_id in channels:
        add_channel(sessions, SLOT - timedelta(weeks=4), channel_id)
        emu.state.add_channel(TEAM, channel_id, channel_id.lower())
    # Every channel's catch-up must be under way before any of them can finish.
    together = threading.Barrier(len(channels), timeout=10)
    started: list[str] = []

    class Waiting(Publisher):
        def catch_up(self, team_id: str, channel_id: str, **schedule: Any) -> Outcome | None:
            started.append(channel_id)
            together.wait()
            return super().catch_up(team_id, channel_id, **schedule)

    client = slack_client(emu)
    schedules = Schedules(
        sessions,
        Waiting(sessions, lambda team: client, compose_digest, "test:1", lambda: clock.now),
        Nudger(sessions=sessions, client_for=lambda team: client, replica="test:1", clock=lambda: clock.now),
        known_teams(sessions),
        scheduler=BackgroundScheduler(timezone=UTC),
    )

    schedules.catch_up_all()

    assert sorted(started) == channels
    assert sorted(call["args"]["channel"] for call in posted(emu)) == channels
