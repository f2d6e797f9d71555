"""Benchmark 3, "Monday fan-out": 1,000 channels due at one slot, against a Slack that enforces its limits.

Run: ``.venv/bin/python -m bench.fanout [--quick] [--postgres URL] [--channels N] [--timeout S]
[--without-charts] [--replicas N]``

One workspace of ``--channels`` channels (1,000; 30 with ``--quick``), each with two shared posts and
their engagement recorded through the ledger's own functions: one in the week the digest covers and
one the week before, so that every digest has something to say and a chart to upload (with
``--without-charts``, only the first: the digest has no history to chart). Every channel's
digest is due on Monday at 09:00 UTC. twoway's own scheduling fires them: `Schedules` derives one cron
job per channel from the database into a real APScheduler `BackgroundScheduler`, and each job runs
the real `Publisher` (`twoway.runtime.make_publisher`) with the app's Web API client
(`bot.deps.make_web_client`) against the in-process emulator with Slack's rate limits on
(`emulator.rate_limits`). Rather than wait for a wall-clock Monday, twoway's and the emulator's clocks
read that Monday 09:00 at the instant ``T0`` when the jobs are due, and the jobs' next run time is set
to ``T0`` (as `twoway.demo.fire_schedule` does for the sweep). With ``--replicas N``, N such replicas
(scheduler and publisher each) share the database, and so the pace of Slack calls, and fire the same
jobs.

The floor is what the limits alone imply, from full buckets: the slowest of chat.postMessage per
channel (one digest each: nothing to wait for), and of each workspace-wide limit over the calls the
fan-out needs (one chat.postMessage per digest, one files.getUploadURLExternal and one
files.completeUploadExternal per chart): ``max((calls - burst) / rate)``. The wall is from ``T0`` until
every digest and every chart is in the emulator (or nothing more will happen, or ``--timeout``).
Lost: channels with no digest message; duplicated: channels with more than one (by the messages'
metadata, as Slack keeps them).
"""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

from apscheduler.events import (
    EVENT_JOB_ERROR,
    EVENT_JOB_EXECUTED,
    EVENT_JOB_MISSED,
    EVENT_JOB_SUBMITTED,
    JobEvent,
    JobExecutionEvent,
    JobSubmissionEvent,
)
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from bench.common import arguments, record, say, table
from bench.harness import control
from bench.pg import fresh_database
from bot.config import Config, Secret
from bot.deps import make_web_client
from bot.digest.blocks import DIGEST_EVENT_TYPE
from bot.digest.period import slot_at_or_before
from bot.digest.publish import Publisher
from bot.ledger import record_engagement, share_links
from bot.links import parse_post_link
from bot.nudges import Nudger
from bot.posting import MAX_POST_ATTEMPTS, UPLOAD_METHODS, CallRate, Pacer
from bot.scheduler import DIGEST_EXECUTOR, DIGEST_JOB_PREFIX, Schedules, digest_job_id, known_teams
from bot.summary import Engagement
from emulator import DEFAULT_TEAM_ID, Emulator, EmulatorSettings, RateLimits
from emulator.rate_limits import POST_MESSAGE
from storage.channels import ensure_channel
from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from storage.models import DigestRun, Post
from twoway.runtime import make_publisher

TEAM = DEFAULT_TEAM_ID
OWNER = "U0ADA00001"
TOKEN = "xoxb-bench-fanout"
# Monday 09:00 in UTC: 0 is Monday.
WEEKDAY, MINUTE = 0, 9 * 60
# (days before the slot, comments received, replies sent): one post in the digest's week, one the week before.
POSTS = ((9, 4, 1), (2, 3, 2))
# The jobs are due this long after the scheduler starts: time to hand them all to APScheduler first.
LEAD = timedelta(seconds=2)
POLL_SECONDS = 0.2

Sessions = sessionmaker[Session]


@dataclass
class ShiftedClock:
    """The time twoway and the emulator see: the wall clock moved by ``shift``, set once before T0."""

    shift: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.shift

    def epoch(self) -> float:
        return self.now().timestamp()


@dataclass(frozen=True)
class Floor:
    """What the limits alone imply: the least seconds each limited method needs, and their max."""

    seconds: float
    by_limit: dict[str, float]


def floor_of(limits: RateLimits, digests: int, charts: int) -> Floor:
    """The floor of a fan-out posting ``digests`` digests (one per channel) and ``charts`` charts."""
    by_limit = {"per channel": limits.per_channel.floor_seconds(1 if digests else 0)}
    calls = {POST_MESSAGE: digests, **dict.fromkeys(UPLOAD_METHODS, charts)}
    for method, count in calls.items():
        limit = limits.per_workspace.get(method)
        if limit is not None:
            by_limit[method] = limit.floor_seconds(count)
    return Floor(max(by_limit.values()), {k: round(v, 2) for k, v in by_limit.items()})


def channel_ids(count: int) -> list[str]:
    return [f"C0FAN{i:05d}" for i in range(count)]


def the_slot(now: datetime) -> datetime:
    """The Monday 09:00 UTC at or before ``now``: the slot every channel is due at."""
    return slot_at_or_before(now, weekday=WEEKDAY, minute=MINUTE, zone="UTC")


def seed(
    sessions: Sessions, slack_url: str, channels: list[str], slot: datetime, *, charts: bool, team: str = TEAM
) -> None:
    """Each channel in Slack (the bot a member; ``slack_url`` is the emulator's) and in the ledger, with
    its posts and their engagement."""
    for channel_id in channels:
        control(slack_url, "/_emulator/channel", {"team": team, "id": channel_id, "name": channel_id.lower()})
    posts = POSTS if charts else POSTS[1:]
    for batch in range(0, len(channels), 100):
        with sessions.begin() as s:
            for index, channel_id in enumerate(channels[batch : batch + 100], start=batch):
                seed_channel(s, team, channel_id, index, slot, posts)


def seed_channel(
    s: Session,
    team: str,
    channel_id: str,
    index: int,
    slot: datetime,
    posts: tuple[tuple[int, int, int], ...],
) -> None:
    channel = ensure_channel(s, team, channel_id, name=channel_id.lower(), now=slot - timedelta(days=60))
    channel.digest_weekday, channel.digest_minute = WEEKDAY, MINUTE
    for number, (days, comments, replies) in enumerate(posts):
        shared_at = slot - timedelta(days=days, minutes=index % 600)
        post = share_post(s, team, channel_id, 1_000_000 + index * 10 + number, shared_at, OWNER)
        record_engagement(
            s,
            team,
            post,
            Engagement(comments=comments, replies=replies, shares=5, likes=20),
            recorded_at=shared_at + timedelta(days=1),
            recorded_by=OWNER,
            source="command",
        )


def share_post(
    s: Session, team: str, channel_id: str, status: int, shared_at: datetime, user_id: str
) -> Post:
    """The post x.com/twoway/status/``status``, shared in ``channel_id`` by ``user_id`` at ``shared_at``,
    through the ledger's own function."""
    link = parse_post_link(f"https://x.com/twoway/status/{status}")
    assert link is not None
    shares = share_links(
        s,
        team,
        channel_id=channel_id,
        message_ts=f"{shared_at.timestamp():.6f}",
        user_id=user_id,
        links=[link],
        now=shared_at,
        timezone="UTC",
    )
    return shares.posts[0]


def in_slack(emu: Emulator) -> tuple[Counter[str], Counter[str]]:
    """Digest messages and charts per channel, as the emulator keeps them (read under its lock)."""
    digests: Counter[str] = Counter()
    charts: Counter[str] = Counter()
    state = emu.state
    with state.lock:
        for channel in state.team(TEAM).channels.values():
            for message in channel.messages.values():
                if (message.get("metadata") or {}).get("event_type") == DIGEST_EVENT_TYPE:
                    digests[channel.id] += 1
                elif message.get("files") and message.get("thread_ts"):
                    charts[channel.id] += 1
    return digests, charts


def digest_posts(slack_url: str, team: str = TEAM) -> Counter[str]:
    """How many digest messages each channel of ``team`` holds, from the emulator at ``slack_url``'s
    `GET /_emulator/messages` (by metadata)."""
    found: Counter[str] = Counter()
    for message in control(slack_url, f"/_emulator/messages?team={team}"):
        metadata = message.get("metadata") or {}
        if metadata.get("event_type") == DIGEST_EVENT_TYPE:
            found[str(metadata["event_payload"]["channel_id"])] += 1
    return found


@dataclass
class Jobs:
    """What APScheduler's events say about the digest jobs: how many ran, are running, and how."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    running: int = 0
    executed: int = 0
    missed: int = 0
    errors: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def __call__(self, event: JobEvent) -> None:
        with self.lock:
            if event.code == EVENT_JOB_SUBMITTED and isinstance(event, JobSubmissionEvent):
                self.running += 1
                return
            if event.code != EVENT_JOB_MISSED:
                self.running -= 1
            if not event.job_id.startswith(DIGEST_JOB_PREFIX):
                return
            if event.code == EVENT_JOB_MISSED:
                self.missed += 1
            elif event.code == EVENT_JOB_ERROR:
                self.errors += 1
            else:
                self.executed += 1
                assert isinstance(event, JobExecutionEvent)
                status = getattr(event.retval, "status", None)
                self.statuses[str(status)] += 1


def run_states(sessions: Sessions) -> Counter[str]:
    """The team's digest runs by state, ``failed`` split by whether the sweep will try them again."""
    with sessions.begin() as s:
        rows = s.execute(
            select(DigestRun.state, DigestRun.attempts, func.count())
            .where(DigestRun.team_id == TEAM)
            .group_by(DigestRun.state, DigestRun.attempts)
        ).all()
    states: Counter[str] = Counter()
    for state, attempts, count in rows:
        exhausted = state == "failed" and attempts >= MAX_POST_ATTEMPTS
        states[f"{state} (out of attempts)" if exhausted else state] += count
    return states


def bench_config(api_url: str, database_url: str) -> Config:
    """twoway's settings against the emulator whose Web API is at ``api_url``."""
    return Config(
        bot_token=Secret(TOKEN),
        signing_secret=Secret("bench-signing-secret"),
        app_token=None,
        database_url=database_url,
        slack_api_url=api_url,
        timezone="UTC",
        port=0,
    )


def fan_out(
    channels: int,
    database_url: str,
    limits: RateLimits,
    *,
    timeout: float | None = None,
    rates: Mapping[str, CallRate] | None = None,
    charts: bool = True,
    replicas: int = 1,
) -> dict[str, Any]:
    """Fire ``channels`` digests at one slot and measure them; the figures, as ``record`` takes them.

    ``replicas`` replicas share the database, each with its scheduler and publisher, and all with one
    pace of Slack calls; ``rates`` replaces the pace's own (Slack's documented limits), for limits
    scaled down.
    """
    clock = ShiftedClock()
    slot = the_slot(datetime.now(UTC))
    ids = channel_ids(channels)
    settings = EmulatorSettings(clock=clock.epoch, rate_limits=limits)
    engine = make_engine(database_url)
    upgrade(engine)
    sessions = make_session_factory(engine)
    with Emulator(settings) as emu:
        seeded = time.monotonic()
        seed(sessions, emu.base_url, ids, slot, charts=charts)
        seed_seconds = time.monotonic() - seeded
        # The seed's channel posts don't count against the limits; the digests' do.
        control(emu.base_url, "/_emulator/limits", limits.to_json())
        jobs = Jobs()
        every = [replica_schedules(emu, sessions, database_url, clock, rates) for _ in range(replicas)]
        for schedules in every:
            schedules.scheduler.add_listener(
                jobs, EVENT_JOB_SUBMITTED | EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED
            )
        expected_charts = channels if charts else 0
        floor = floor_of(limits, channels, expected_charts)
        deadline_after = timeout if timeout is not None else 2 * floor.seconds + 600

        # The jobs as twoway derives them, all due at T0, when twoway's clock reads the slot.
        for schedules in every:
            schedules.sync_all()
        t0 = datetime.now(UTC) + LEAD * replicas
        clock.shift = slot - t0
        for schedules in every:
            for channel_id in ids:
                schedules.scheduler.modify_job(digest_job_id(TEAM, channel_id), next_run_time=t0)
            schedules.start()
        t0_mono = time.monotonic() + (t0 - datetime.now(UTC)).total_seconds()
        say(f"{channels} digests due at T0; floor {floor.seconds:.1f} s {floor.by_limit}")

        last_digest = last_chart = None
        digests_seen = charts_seen = 0
        outcome = "timeout"
        try:
            while True:
                time.sleep(POLL_SECONDS)
                now = time.monotonic()
                with_digest, with_chart = (len(found) for found in in_slack(emu))
                if with_digest > digests_seen:
                    digests_seen, last_digest = with_digest, now
                if with_chart > charts_seen:
                    charts_seen, last_chart = with_chart, now
                if digests_seen == channels and charts_seen == expected_charts:
                    outcome = "complete"
                    break
                if now - t0_mono > deadline_after:
                    break
                with jobs.lock:
                    done = jobs.executed + jobs.missed + jobs.errors
                    idle = jobs.running == 0 and done >= channels * replicas
                if idle and now > t0_mono and _nothing_to_retry(sessions):
                    outcome = "stalled"
                    break
        finally:
            for schedules in every:
                schedules.shutdown()
        wall = (max(t for t in (last_digest, last_chart) if t is not None) if last_digest else now) - t0_mono
        found = digest_posts(emu.base_url)
        refused = control(emu.base_url, "/_emulator/limits")
        states = run_states(sessions)
    engine.dispose()
    return {
        "channels": channels,
        "replicas": replicas,
        "outcome": outcome,
        "workers": _workers(every[0]),
        "seed_s": round(seed_seconds, 1),
        "wall_s": round(wall, 2),
        "floor_s": round(floor.seconds, 2),
        "wall_over_floor": round(wall / floor.seconds, 3) if floor.seconds else None,
        "floor_by_limit": floor.by_limit,
        "last_digest_s": round(last_digest - t0_mono, 2) if last_digest else None,
        "ratelimited": refused["total"],
        "ratelimited_by_method": refused["ratelimited"],
        "lost": sum(1 for channel_id in ids if found[channel_id] == 0),
        "duplicated": sum(1 for channel_id in ids if found[channel_id] > 1),
        "charts": charts_seen,
        "charts_lost": expected_charts - charts_seen,
        "runs": dict(states),
        "job_outcomes": dict(jobs.statuses),
        "jobs_missed": jobs.missed,
        "jobs_failed": jobs.errors,
    }


def replica_schedules(
    emu: Emulator,
    sessions: Sessions,
    database_url: str,
    clock: ShiftedClock,
    rates: Mapping[str, CallRate] | None,
) -> Schedules:
    """One replica's scheduling, as `twoway.runtime.prepare` builds it: its client, publisher and nudger."""
    client = make_web_client(bench_config(emu.api_url, database_url))
    replica = f"bench:{uuid.uuid4().hex[:6]}"
    publisher: Publisher = make_publisher(sessions, lambda team: client, clock.now, replica)
    if rates is not None:
        publisher = dataclasses.replace(publisher, pacer=Pacer(sessions, rates))
    nudger = Nudger(sessions, lambda team: client, replica, clock.now)
    return Schedules(sessions, publisher, nudger, known_teams(sessions))


def _nothing_to_retry(sessions: Sessions) -> bool:
    """True when every run is posted or out of attempts: no sweep will post anything more."""
    states = run_states(sessions)
    return not (states["claimed"] or states["failed"])


def _workers(schedules: Schedules) -> int | None:
    executor = schedules.scheduler._executors.get(DIGEST_EXECUTOR)
    pool = getattr(executor, "_pool", None)
    return getattr(pool, "_max_workers", None)


@contextmanager
def database(backend: str, postgres_url: str | None, workdir: Path) -> Iterator[str]:
    """A fresh database: a SQLite file, or PostgreSQL's ``bench_fanout``, dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{workdir / 'fanout.db'}"
        return
    assert postgres_url is not None
    with fresh_database(postgres_url, "bench_fanout") as url:
        yield url


def main() -> None:
    args = arguments(
        __doc__.splitlines()[0] if __doc__ else "fan-out",
        extra=[
            ("--channels", {"type": int, "help": "channels due at the slot (default 1,000; 30 quick)"}),
            ("--timeout", {"type": float, "help": "give up this long after T0 (default 2 x floor + 600 s)"}),
            ("--without-charts", {"action": "store_true", "help": "digests with no history, so no chart"}),
            ("--replicas", {"type": int, "default": 1, "help": "replicas firing the slot (default 1)"}),
        ],
    )
    channels = args.channels or (30 if args.quick else 1000)
    backends = ["sqlite", *(["postgresql"] if args.postgres else [])]
    limits = RateLimits()
    charts = not args.without_charts
    rows = []
    with TemporaryDirectory(prefix="twoway-fanout-") as workdir:
        for backend in backends:
            say(f"fan-out of {channels} channels on {backend}…")
            with database(backend, args.postgres, Path(workdir)) as url:
                figures = fan_out(
                    channels, url, limits, timeout=args.timeout, charts=charts, replicas=args.replicas
                )
            settings = {"backend": backend, "limits": limits.to_json(), "with_charts": charts}
            record("fanout", args.quick, {**settings, **figures})
            rows.append(
                [
                    backend,
                    figures["channels"],
                    figures["wall_s"],
                    figures["floor_s"],
                    figures["wall_over_floor"],
                    figures["last_digest_s"],
                    figures["ratelimited"],
                    figures["lost"],
                    figures["duplicated"],
                    f"{figures['charts']}/{figures['charts'] + figures['charts_lost']}",
                    figures["outcome"],
                ]
            )
    header = ["backend", "channels", "wall s", "floor s", "wall/floor", "last digest s", "429s"]
    header += ["lost", "duplicated", "charts", "outcome"]
    say(table("Monday fan-out (goal: wall <= 1.2 x floor, 0 lost, 0 duplicated)", header, rows))


if __name__ == "__main__":
    main()
