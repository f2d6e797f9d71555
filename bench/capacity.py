"""The capacity model: what a fleet of workspaces needs, from what one event, digest and sweep cost.

Run: ``.venv/bin/python -m bench.capacity`` prints the model's table (SCALING.md quotes it) for 100,
1,000 and 10,000 workspaces of the size mix below, from the unit costs measured on this machine
(``MEASURED``). `bench.fleet` checks the same formulas against a simulation of many workspaces.

A workspace's load comes from its size: the channels twoway is in, the requests Slack sends per
channel in a busy hour (messages, thread replies, reactions, commands), and, of those, the share that
change the ledger (the workspace mix of `bench.workspace_mix`: 15 in 100). Every workspace also costs
something while nothing happens: each replica sweeps every workspace every five minutes (nudges,
retries, asks), and each replica's watcher reads every workspace's due posts every 30 seconds.

CPU is in core-milliseconds. One replica is one `twoway run` process: its request handling, jobs and
Slack calls share one interpreter, so one replica uses at most about one core, whatever the machine
(its watcher and chart worker are processes of their own beside it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.common import say, table
from bot.posting import SLACK_RATES, UPLOAD_METHODS
from storage.db import POSTGRES_POOL_OVERFLOW, POSTGRES_POOL_SIZE

# How often each replica sweeps every workspace (bot.scheduler: sweep_every) and reads due posts.
SWEEP_SECONDS = 300
# A replica runs its busy hour at this share of its one core at most, leaving room for bursts
# and the Monday fan-out on top.
REPLICA_TARGET = 0.5
# PostgreSQL's default max_connections, less the three kept for superusers.
PG_CONNECTIONS = 97
# A replica's connections at most: its server's full pool, and its watcher's one (a single thread).
CONNECTIONS_PER_REPLICA = POSTGRES_POOL_SIZE + POSTGRES_POOL_OVERFLOW + 1
# Busy hours a month, when the requests come: a social team's working day, 22 days a month.
BUSY_HOURS_A_MONTH = 8 * 22


@dataclass(frozen=True)
class Size:
    """A kind of workspace: the channels twoway is in and the requests each sends in a busy hour."""

    name: str
    channels: int
    requests_per_channel_hour: float
    share: float = 1.0  # of the fleet's workspaces

    @property
    def requests_per_hour(self) -> float:
        return self.channels * self.requests_per_channel_hour


# The fleet of the model's table: most workspaces are a small team with a handful of channels.
MIX = (
    Size("small", channels=5, requests_per_channel_hour=2, share=0.6),
    Size("medium", channels=20, requests_per_channel_hour=5, share=0.3),
    Size("large", channels=100, requests_per_channel_hour=10, share=0.1),
)
# What `bench.fleet` simulates: every workspace medium.
FLEET = (Size("medium", channels=20, requests_per_channel_hour=5),)
# Of every 100 requests of the workspace mix: what each leaves in the ledger (bench.workspace_mix).
POSTS_PER_100, SNAPSHOTS_PER_100, COMMENTS_PER_100 = 3, 4.5, 2


@dataclass(frozen=True)
class UnitCosts:
    """What one thing costs, measured: CPU in core-ms (the app's processes, PostgreSQL's backends and
    the emulator playing Slack), statements, and bytes on disk."""

    event_app_ms: float
    event_db_ms: float
    event_statements: float
    digest_app_ms: float  # the replica processes, charts drawn in their workers included
    digest_chart_ms: float  # of which the chart workers'
    digest_db_ms: float
    digest_statements: float
    # What one installed workspace costs each replica every second with nothing happening: its
    # watcher's read of the workspace's due posts every 30 s, above all (an idle fleet's CPU).
    watch_app_ms: float
    watch_db_ms: float
    watch_statements: float = 0.0
    # Each replica sweeps every workspace every SWEEP_SECONDS (nudges, retries, asks): one workspace's
    # sweep with nothing due, from bench.unit_costs.
    sweep_app_ms: float = 0.0
    sweep_db_ms: float = 0.0
    sweep_statements: float = 0.0
    # One workspace's digests alone, as its own Slack limits let them go: the fan-out's least wall.
    alone_s: float = 0.0
    # Slack's side, in the simulation only (the emulator shares the machine).
    event_slack_ms: float = 0.0
    digest_slack_ms: float = 0.0
    # Bytes the database grows by for each row the ledger keeps, indexes included.
    post_bytes: float = 0.0
    snapshot_bytes: float = 0.0
    comment_bytes: float = 0.0
    # Writes to the pacer's turns per digest posted (chat.postMessage per workspace and channel, the
    # two upload methods per workspace).
    turn_writes_per_digest: float = 4.0


@dataclass(frozen=True)
class Hour:
    """A busy hour's load."""

    requests: float
    app_cores: float  # the requests', on all replicas together
    db_cores: float
    statements_per_second: float


def busy_hour(workspaces: int, mix: tuple[Size, ...], units: UnitCosts) -> Hour:
    """The fleet's busy hour: its requests, and the cores they keep busy."""
    requests = workspaces * sum(size.share * size.requests_per_hour for size in mix)
    return Hour(
        requests,
        requests * units.event_app_ms / 3_600_000,
        requests * units.event_db_ms / 3_600_000,
        requests * units.event_statements / 3600,
    )


@dataclass(frozen=True)
class Background:
    """What the replicas spend whatever happens: each its watcher's reads of every workspace, and each
    its sweep of every workspace every SWEEP_SECONDS (in the server's interpreter)."""

    app_cores_per_replica: float  # the sweep's share of the server's one core
    watcher_cores_per_replica: float  # the watcher, a process of its own
    db_cores: float
    statements_per_second: float
    sweep_seconds: float  # one replica's sweep of every workspace, on its one core


def background(workspaces: int, replicas: int, units: UnitCosts) -> Background:
    sweep = workspaces * units.sweep_app_ms / 1000
    per_replica_db = workspaces * (units.watch_db_ms + units.sweep_db_ms / SWEEP_SECONDS) / 1000
    statements = workspaces * (units.watch_statements + units.sweep_statements / SWEEP_SECONDS)
    return Background(
        sweep / SWEEP_SECONDS,
        workspaces * units.watch_app_ms / 1000,
        replicas * per_replica_db,
        replicas * statements,
        sweep,
    )


@dataclass(frozen=True)
class FanOut:
    """Every channel's digest due at one slot."""

    digests: float
    app_cpu_s: float
    db_cpu_s: float
    slack_cpu_s: float
    statements: float
    turn_writes: float
    wall_s: float
    bound: str


def slack_floor(channels: int) -> float:
    """Seconds a workspace's own Slack limits need for ``channels`` digests with their charts, from
    full buckets: chat.postMessage per workspace, and each upload method."""
    floor = 0.0
    for method in ("chat.postMessage", *UPLOAD_METHODS):
        rate = SLACK_RATES[method]
        floor = max(floor, max(0, channels - rate.burst) / rate.per_second)
    return floor


def fan_out(
    workspaces: int,
    mix: tuple[Size, ...],
    units: UnitCosts,
    *,
    replicas: int,
    cores: float | None = None,
    db_cores: float | None = None,
    background_cores: float = 0.0,
    background_cpu_s: float = 0.0,
) -> FanOut:
    """The slot every channel of ``workspaces`` shares, on ``replicas`` replicas.

    Each workspace has its own Slack limits, so no workspace waits for another's: the wall is the
    slowest of one workspace alone (``units.alone_s``, or its Slack floor), the replicas'
    interpreters (each posts its share of the digests on one core), their chart workers (one each,
    drawing in turn), and the machine's ``cores`` when the app, database and Slack share them (as in
    the simulation, less the ``background_cores`` the watchers keep busy, and with the
    ``background_cpu_s`` of the sweeps that fall in the slot on top), or the database's own ``db_cores``.
    """
    digests = workspaces * sum(size.share * size.channels for size in mix)
    app = digests * units.digest_app_ms / 1000
    charts = digests * units.digest_chart_ms / 1000
    db = digests * units.digest_db_ms / 1000
    slack = digests * units.digest_slack_ms / 1000
    bounds = {
        "one workspace's own Slack limits": max(units.alone_s, *(slack_floor(size.channels) for size in mix)),
        "the replicas' interpreters": (app - charts) / replicas,
        "the chart workers": charts / replicas,
    }
    if cores is not None:
        bounds["the machine's cores"] = (app + db + slack + background_cpu_s) / (cores - background_cores)
    if db_cores is not None:
        bounds["the database's cores"] = db / db_cores
    bound = max(bounds, key=lambda name: bounds[name])
    return FanOut(
        digests,
        app,
        db,
        slack,
        digests * units.digest_statements,
        digests * units.turn_writes_per_digest,
        bounds[bound],
        bound,
    )


@dataclass(frozen=True)
class Needs:
    """What a fleet needs, by the model."""

    workspaces: int
    replicas: int
    db_cores: float
    disk_gb_a_month: float
    connections: int
    fan_out: FanOut
    sweep_seconds: float
    sweep_cores: float  # of each replica's one core, whatever happens
    watcher_cores: float  # each replica's watcher
    statements_per_second: float  # at the busy hour, the background's included
    requests_per_second: float
    server_cores: float  # of each replica's one core at the busy hour: its requests and its sweep


def needs(workspaces: int, mix: tuple[Size, ...], units: UnitCosts, *, db_cores: float = 4) -> Needs:
    """Replicas for the busy hour and the background, the database's CPU at the busy hour or in the
    fan-out (whichever is more, on a database of ``db_cores``), disk a month, connections at full
    pools, and the fan-out's wall."""
    hour = busy_hour(workspaces, mix, units)
    # Every replica sweeps every workspace: more replicas share the requests, never the sweeps. Once
    # the sweep alone fills a replica's share of its core, replicas are sized for the requests alone,
    # and the sweep is what saturates.
    room = REPLICA_TARGET - background(workspaces, 1, units).app_cores_per_replica
    replicas = max(2, math.ceil(hour.app_cores / (room if room > 0 else REPLICA_TARGET)))
    quiet = background(workspaces, replicas, units)
    slot = fan_out(workspaces, mix, units, replicas=replicas, db_cores=db_cores)
    db_busy = max(hour.db_cores, slot.db_cpu_s / slot.wall_s if slot.wall_s else 0.0) + quiet.db_cores
    requests_a_month = hour.requests * BUSY_HOURS_A_MONTH
    ledger = (
        requests_a_month
        / 100
        * (
            POSTS_PER_100 * units.post_bytes
            + SNAPSHOTS_PER_100 * units.snapshot_bytes
            + COMMENTS_PER_100 * units.comment_bytes
        )
    )
    return Needs(
        workspaces,
        replicas,
        db_busy,
        ledger / 1e9,
        replicas * CONNECTIONS_PER_REPLICA,
        slot,
        quiet.sweep_seconds,
        quiet.app_cores_per_replica,
        quiet.watcher_cores_per_replica,
        hour.statements_per_second + quiet.statements_per_second,
        hour.requests / 3600,
        hour.app_cores / replicas + quiet.app_cores_per_replica,
    )


def replicas_for(seconds: float, workspaces: int, mix: tuple[Size, ...], units: UnitCosts) -> int:
    """Replicas that post every digest of a shared slot within ``seconds`` (their interpreters and
    chart workers; a workspace's own Slack limits permitting)."""
    replicas = 2
    while fan_out(workspaces, mix, units, replicas=replicas).wall_s > seconds and replicas < 10_000:
        replicas += 1
    return replicas


# Unit costs measured on this machine, PostgreSQL 15 and two replicas in distribution mode: a request,
# a digest and the idle fleet from bench.fleet's calibration (BENCHMARKS.md section 8), a sweep and
# the bytes of a row from bench.unit_costs (section 7), 2026-12-05.
MEASURED = UnitCosts(
    event_app_ms=2.10,
    event_db_ms=0.67,
    event_statements=7.06,
    digest_app_ms=107.2,
    digest_chart_ms=88.2,
    digest_db_ms=5.43,
    digest_statements=51.8,
    watch_app_ms=0.048,
    watch_db_ms=0.020,
    watch_statements=0.20,
    sweep_app_ms=15.4,
    sweep_db_ms=2.8,
    sweep_statements=30,
    post_bytes=909,
    snapshot_bytes=344,
    comment_bytes=549,
    turn_writes_per_digest=5.05,
)
# A Monday whose last digest is out within this long is a Monday morning's.
MONDAY_SECONDS = 15 * 60


def rows(units: UnitCosts, sizes: tuple[int, ...] = (100, 1_000, 10_000)) -> list[list[object]]:
    out: list[list[object]] = []
    for workspaces in sizes:
        n = needs(workspaces, MIX, units)
        out.append(
            [
                f"{workspaces:,}",
                f"{n.requests_per_second:,.1f}",
                n.replicas,
                f"{n.server_cores:.2f}",
                f"{n.watcher_cores:.2f}",
                f"{n.db_cores:.2f}",
                f"{n.statements_per_second:,.0f}",
                f"{n.disk_gb_a_month:,.1f}",
                n.connections,
                f"{n.fan_out.digests:,.0f}",
                f"{n.fan_out.wall_s / 60:,.1f} min ({n.fan_out.bound})",
                replicas_for(MONDAY_SECONDS, workspaces, MIX, units),
                f"{n.sweep_seconds:,.0f} s",
            ]
        )
    return out


HEADER = [
    "workspaces",
    "requests/s",
    "replicas",
    "server cores/replica",
    "watcher cores/replica",
    "db cores",
    "statements/s",
    "disk GB/month",
    "connections",
    "Monday digests",
    "Monday fan-out",
    "replicas for 15 min",
    "one sweep",
]


def main() -> None:
    say(table("The model, on the measured unit costs", HEADER, rows(MEASURED)))


if __name__ == "__main__":
    main()
