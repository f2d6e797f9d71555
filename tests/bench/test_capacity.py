"""The capacity model's arithmetic, and the fleet benchmark's workspaces (no timing)."""

from __future__ import annotations

import dataclasses
from collections import Counter

import pytest

from bench import capacity, fleet
from bench.capacity import Size, UnitCosts, busy_hour, fan_out, needs, slack_floor
from bench.workspace_mix import Ledger, Mix

UNITS = UnitCosts(
    event_app_ms=2.0,
    event_db_ms=1.0,
    event_statements=4.0,
    digest_app_ms=120.0,
    digest_chart_ms=100.0,
    digest_db_ms=5.0,
    digest_statements=30.0,
    watch_app_ms=0.05,
    watch_db_ms=0.02,
    sweep_app_ms=10.0,
    sweep_db_ms=4.0,
    post_bytes=2_000,
    snapshot_bytes=400,
    comment_bytes=1_000,
)
MEDIUM = (Size("medium", channels=20, requests_per_channel_hour=5),)


def test_a_workspaces_floor_is_its_slowest_limit_over_its_channels_digests_and_charts() -> None:
    # 20 charts: 8 at once, then 100 a minute for each upload method; 20 posts fit the burst of 25.
    assert slack_floor(20) == pytest.approx(7.2)
    assert slack_floor(5) == 0.0
    # 100 channels: the uploads' (100 - 8) / (100/60) s outlast the posts' (100 - 25) / 5 s.
    assert slack_floor(100) == pytest.approx(55.2)


def test_the_busy_hour_is_the_fleets_requests_at_their_unit_cost() -> None:
    mix = (
        Size("small", channels=5, requests_per_channel_hour=2, share=0.5),
        Size("large", channels=10, requests_per_channel_hour=10, share=0.5),
    )
    hour = busy_hour(100, mix, UNITS)

    assert hour.requests == 100 * (0.5 * 10 + 0.5 * 100)
    assert hour.app_cores == pytest.approx(hour.requests * 2.0 / 3_600_000)
    assert hour.statements_per_second == pytest.approx(hour.requests * 4.0 / 3600)


def test_a_fan_out_is_bound_by_its_slowest_part() -> None:
    alone = fan_out(1, MEDIUM, UNITS, replicas=2)
    assert alone.digests == 20
    assert alone.bound == "one workspace's own Slack limits"
    assert alone.wall_s == pytest.approx(7.2)

    many = fan_out(200, MEDIUM, UNITS, replicas=2)
    # 4,000 charts at 100 ms in two chart workers: 200 s, more than the interpreters' 20 ms each.
    assert many.bound == "the chart workers"
    assert many.wall_s == pytest.approx(200.0)
    assert many.turn_writes == 4 * 4_000

    shared = fan_out(200, MEDIUM, UNITS, replicas=2, cores=2)
    assert shared.bound == "the machine's cores"
    assert shared.wall_s == pytest.approx(4_000 * (120 + 5) / 1000 / 2)

    measured_alone = fan_out(1, MEDIUM, dataclasses.replace(UNITS, alone_s=9.5), replicas=2)
    assert measured_alone.wall_s == 9.5


def test_the_fleet_needs_more_replicas_as_its_busy_hour_and_sweeps_grow() -> None:
    small, large = needs(100, MEDIUM, UNITS), needs(100_000, MEDIUM, UNITS)

    assert small.replicas == 2
    assert large.replicas > small.replicas
    assert large.connections == large.replicas * capacity.CONNECTIONS_PER_REPLICA == large.replicas * 25
    # Every replica sweeps every workspace: one sweep of the whole fleet, on one core.
    assert large.sweep_seconds == pytest.approx(100_000 * 10.0 / 1000)
    assert large.disk_gb_a_month == pytest.approx(1000 * small.disk_gb_a_month)


def test_the_fleets_workspaces_channels_and_installers_never_collide() -> None:
    teams = [fleet.CALIBRATION, fleet.WARM_UP, *fleet.team_ids(1_000)]
    channels = [c for t in teams for c in fleet.channel_ids(t)]

    assert len(set(teams)) == len(teams)
    assert len(set(channels)) == len(channels) == 1_001 * fleet.CHANNELS + fleet.WARM_UP_CHANNELS
    assert len({fleet.address(i) for i in range(len(teams))}) == len(teams)
    assert all(fleet.address(i).startswith("127.") for i in range(len(teams)))


def test_the_fleets_requests_take_turns_between_workspaces_each_in_its_own_order() -> None:
    def workspace(team: str, n: int) -> fleet.Workspace:
        bodies = [(f"{team}{i}".encode(), "application/json") for i in range(n)]
        return fleet.Workspace(team, [], Mix(bodies, Counter(), Ledger(), []))

    order = [body for body, _ in fleet.interleaved([workspace("a", 3), workspace("b", 1), workspace("c", 2)])]

    assert order == [b"a0", b"b0", b"c0", b"a1", b"c1", b"a2"]


def test_every_replica_sweeps_and_watches_every_workspace() -> None:
    quiet = capacity.background(1_000, 2, UNITS)

    # 1,000 sweeps of 10 ms every 300 s on each replica's server; 1,000 reads a second-share on its watcher.
    assert quiet.app_cores_per_replica == pytest.approx(1_000 * 10 / 1000 / 300)
    assert quiet.watcher_cores_per_replica == pytest.approx(1_000 * 0.05 / 1000)
    assert quiet.db_cores == pytest.approx(2 * 1_000 * (0.02 + 4 / 300) / 1000)
    assert capacity.background(1_000, 4, UNITS).db_cores == pytest.approx(2 * quiet.db_cores)


def test_the_watchers_and_sweeps_take_their_share_of_a_shared_machine() -> None:
    plain = fan_out(200, MEDIUM, UNITS, replicas=2, cores=2)
    busy = fan_out(200, MEDIUM, UNITS, replicas=2, cores=2, background_cores=0.5, background_cpu_s=15)

    assert busy.wall_s == pytest.approx((plain.wall_s * 2 + 15) / 1.5)


def test_a_shorter_monday_takes_more_replicas() -> None:
    assert capacity.replicas_for(200.0, 200, MEDIUM, UNITS) == 2
    # 4,000 charts of 100 ms: 400 s of drawing, 100 s a replica with four.
    assert capacity.replicas_for(100.0, 200, MEDIUM, UNITS) == 4
