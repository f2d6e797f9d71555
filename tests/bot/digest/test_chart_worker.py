"""Charts drawn in a worker process: the same PNG as in this one, matplotlib never loaded here, and a
worker that dies replaced."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from datetime import UTC, datetime, timedelta

import pytest

from bot.digest.chart import ChartData, HistoryPoint, render_chart
from bot.digest.chart_worker import ChartWorker
from bot.metrics import Rate

FIRST_END = datetime(2026, 1, 5, 9, tzinfo=UTC)
CHART = ChartData(
    [HistoryPoint(FIRST_END + timedelta(weeks=n), Rate(n, 10, n / 10), 12 - n) for n in range(8)]
)


@pytest.fixture
def worker() -> Iterator[ChartWorker]:
    charts = ChartWorker(timeout=60)
    yield charts
    charts.close()


def test_the_worker_draws_the_chart_this_process_would(worker: ChartWorker) -> None:
    drawn = worker(CHART)
    assert drawn is not None
    assert drawn.startswith(b"\x89PNG")
    assert drawn == render_chart(CHART)
    assert worker(ChartData(CHART.points[:1])) is None


def test_a_process_that_draws_charts_through_the_worker_never_loads_matplotlib() -> None:
    script = (
        "import sys\n"
        "from tests.bot.digest.test_chart_worker import CHART\n"
        "from bot.digest.chart_worker import ChartWorker\n"
        "charts = ChartWorker()\n"
        "assert charts(CHART).startswith(b'\\x89PNG')\n"
        "charts.close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'numpy')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_worker_that_dies_is_replaced_for_the_next_chart(worker: ChartWorker) -> None:
    assert worker(CHART) is not None
    [child] = multiprocessing.active_children()
    os.kill(child.pid or 0, signal.SIGKILL)
    child.join(timeout=10)
    # The chart a dead worker owed fails at once; the next one starts another worker.
    with pytest.raises(BrokenProcessPool):
        worker(CHART)
    assert worker(CHART) == render_chart(CHART)


def test_a_chart_the_worker_does_not_answer_raises_and_the_next_starts_a_new_worker() -> None:
    charts = ChartWorker(timeout=0.001)
    try:
        # The first chart starts the worker, which takes far longer than a millisecond.
        with pytest.raises(FutureTimeout):
            charts(CHART)
        charts.timeout = 60
        assert charts(CHART) == render_chart(CHART)
    finally:
        charts.close()
