"""A slot that several workspaces share: each workspace's digests go out at its own pace, none waiting
behind another's.

Three workspaces' channels are all due at one Monday 09:00, fired by two replicas' real schedulers
sharing the database, against the emulator with a per-workspace limit on chat.postMessage (scaled
down to ten a second, with the publishers' pace under it). A has 50 channels and so needs 4.9 s of
turns; B and C have 28 each and need 2.7 s. Both are done before A's last digest: they never queue
behind A's sleeping jobs. (In one pool taking jobs in the order they came, A's jobs, due first,
fill every thread of both replicas, and B and C only start once A's last 20 are all that is left.)
"""

from __future__ import annotations

import dataclasses
from collections import Counter
from datetime import UTC, datetime

from sqlalchemy.orm import Session, sessionmaker

from bench.fanout import LEAD, ShiftedClock, bench_config, digest_posts, seed, the_slot
from bot.deps import make_web_client
from bot.digest.blocks import DIGEST_EVENT_TYPE
from bot.nudges import Nudger
from bot.posting import POST_MESSAGE, CallRate, Pacer
from bot.scheduler import Schedules, digest_job_id, known_teams
from emulator import Emulator, EmulatorSettings, Limit, RateLimits
from emulator.world import ts_key
from tests.support.polling import eventually
from twoway.runtime import make_publisher

Sessions = sessionmaker[Session]

# A's job ids sort first: APScheduler hands its due jobs over in that order.
SLOW = "T0AAAAAAA1"
SMALL = ("T0SMALL001", "T0SMALL002")
CHANNELS = {SLOW: 50, **dict.fromkeys(SMALL, 28)}
# Ten posts a second in each workspace; the publishers' pace a call less at once than Slack's.
LIMITS = RateLimits(per_workspace={POST_MESSAGE: Limit(per_minute=600, burst=2)})
RATES = {POST_MESSAGE: CallRate(per_minute=600, burst=1)}


def token(team: str) -> str:
    return f"xoxb-{team.lower()}"


def channel_ids(team: str) -> list[str]:
    return [f"C0{team[-3:]}{i:04d}" for i in range(CHANNELS[team])]


def replica(emu: Emulator, sessions: Sessions, db_url: str, clock: ShiftedClock, name: str) -> Schedules:
    config = bench_config(emu.api_url, db_url)
    clients = {team: make_web_client(config, token(team)) for team in CHANNELS}
    publisher = make_publisher(sessions, clients.__getitem__, clock.now, name)
    publisher = dataclasses.replace(publisher, pacer=Pacer(sessions, RATES))
    nudger = Nudger(sessions, clients.__getitem__, name, clock.now)
    return Schedules(sessions, publisher, nudger, known_teams(sessions))


def digest_times(emu: Emulator, team: str) -> list[int]:
    """When each of the workspace's digests was posted, by its ts."""
    with emu.state.lock:
        channels = list(emu.state.team(team).channels.values())
        return [
            ts_key(ts)
            for channel in channels
            for ts, message in channel.messages.items()
            if (message.get("metadata") or {}).get("event_type") == DIGEST_EVENT_TYPE
        ]


def test_small_workspaces_post_before_a_slow_one_finishes(sessions: Sessions, db_url: str) -> None:
    clock = ShiftedClock()
    slot = the_slot(datetime.now(UTC))
    with Emulator(EmulatorSettings(clock=clock.epoch, rate_limits=LIMITS)) as emu:
        for team in CHANNELS:
            emu.state.add_team(team, team.lower())
            emu.state.register_token(token(team), team)
            seed(sessions, emu.base_url, channel_ids(team), slot, charts=False, team=team)
        replicas = [replica(emu, sessions, db_url, clock, f"test:{n}") for n in (1, 2)]
        for schedules in replicas:
            schedules.sync_all()
        t0 = datetime.now(UTC) + LEAD
        clock.shift = slot - t0
        try:
            for schedules in replicas:
                for team in CHANNELS:
                    for channel_id in channel_ids(team):
                        schedules.scheduler.modify_job(digest_job_id(team, channel_id), next_run_time=t0)
                schedules.start()
            eventually(
                lambda: all(len(digest_times(emu, team)) == count for team, count in CHANNELS.items()),
                timeout=30,
                what="every channel's digest",
                detail=lambda: repr({team: len(digest_times(emu, team)) for team in CHANNELS}),
            )
        finally:
            for schedules in replicas:
                schedules.shutdown()

        found = {team: digest_posts(emu.base_url, team) for team in CHANNELS}
        last = {team: max(digest_times(emu, team)) for team in CHANNELS}

    for team, counts in found.items():
        assert counts == Counter(dict.fromkeys(channel_ids(team), 1)), f"{team}: a digest lost or doubled"
    for team in SMALL:
        assert last[team] < last[SLOW], f"{team} waited behind {SLOW}: {last}"
