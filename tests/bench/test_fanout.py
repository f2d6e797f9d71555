"""The Monday fan-out benchmark at a tiny size: every digest once, and the figures it reports (no timing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.fanout import fan_out, floor_of
from bot.posting import UPLOAD_METHODS, CallRate
from bot.scheduler import DIGEST_WORKERS
from emulator import Limit, RateLimits
from emulator.rate_limits import POST_MESSAGE

# Slack's limits scaled down so that ten channels meet them: a burst of three posts and two uploads,
# and the publisher's pace under them (a call less at once, as under Slack's own).
LIMITS = RateLimits(
    per_workspace={
        POST_MESSAGE: Limit(per_minute=600, burst=3),
        **dict.fromkeys(UPLOAD_METHODS, Limit(per_minute=300, burst=2)),
    }
)
RATES = {POST_MESSAGE: CallRate(600, 2), **dict.fromkeys(UPLOAD_METHODS, CallRate(300, 1))}


def test_the_floor_is_the_slowest_limit_over_the_calls_the_fan_out_needs() -> None:
    floor = floor_of(LIMITS, digests=10, charts=10)

    assert floor.by_limit == {
        "per channel": 0.0,
        POST_MESSAGE: 0.7,
        "files.getUploadURLExternal": 1.6,
        "files.completeUploadExternal": 1.6,
    }
    assert floor.seconds == 1.6


@pytest.mark.parametrize("replicas", [1, 2])
def test_ten_channels_get_one_digest_and_one_chart_each(tmp_path: Path, replicas: int) -> None:
    url = f"sqlite:///{tmp_path / 'fanout.db'}"

    figures = fan_out(10, url, LIMITS, timeout=60, rates=RATES, replicas=replicas)

    assert figures["outcome"] == "complete"
    assert (figures["lost"], figures["duplicated"]) == (0, 0)
    assert (figures["charts"], figures["charts_lost"]) == (10, 0)
    assert figures["runs"] == {"posted": 10}
    assert figures["job_outcomes"]["posted"] == 10
    assert sum(figures["job_outcomes"].values()) == 10 * replicas
    assert figures["floor_s"] == 1.6
    assert figures["wall_s"] > 0
    assert figures["wall_over_floor"] == pytest.approx(figures["wall_s"] / 1.6, abs=0.01)
    assert figures["last_digest_s"] <= figures["wall_s"]
    assert figures["ratelimited"] == sum(figures["ratelimited_by_method"].values())
    assert figures["workers"] == DIGEST_WORKERS
    assert set(figures) >= {"channels", "seed_s", "floor_by_limit", "jobs_missed", "jobs_failed"}
