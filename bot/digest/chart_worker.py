"""Drawing digests' charts in a process of their own, so that matplotlib never loads into the server.

matplotlib and numpy are 45 MB of resident memory, which the server would keep for good after its first
chart. A `ChartWorker` hands each chart to one worker process instead (a `concurrent.futures` process
pool of one, started with ``spawn`` on the first chart: a fresh interpreter, not a fork of a threaded
server), which draws it with `bot.digest.chart.render_chart` and sends the PNG back. Charts are drawn
one at a time, as they were under the GIL. The worker stays for the next digest until `close`. A worker
that dies fails the chart it owed at once (`BrokenProcessPool`), one that takes longer than the timeout
fails it then; either way that chart's digest is posted without it, as any chart that fails to draw
is, and the next chart starts a new worker.
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool

from bot.digest.chart import ChartData, render_chart

logger = logging.getLogger(__name__)

# Drawing takes a tenth of a second; the first chart also starts the worker and imports matplotlib.
CHART_TIMEOUT = 60.0


class ChartWorker:
    """``draw_chart`` for `bot.digest.publish.Publisher`: each chart drawn in the worker process."""

    def __init__(self, timeout: float = CHART_TIMEOUT) -> None:
        self.timeout = timeout
        self._lock = threading.Lock()
        self._pool: ProcessPoolExecutor | None = None

    def __call__(self, chart: ChartData) -> bytes | None:
        pool = self._started()
        try:
            return pool.submit(render_chart, chart).result(timeout=self.timeout)
        except (BrokenProcessPool, FutureTimeout):
            self._discard(pool)
            raise

    def close(self) -> None:
        """Stop the worker once the chart it is drawing, if any, is done; charts not begun are dropped."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def _started(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                spawn = multiprocessing.get_context("spawn")
                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=spawn)
            return self._pool

    def _discard(self, pool: ProcessPoolExecutor) -> None:
        """Leave a worker that died or took too long: the next chart starts another. One that took too
        long ends once its chart is drawn, and draws nothing more."""
        with self._lock:
            if self._pool is pool:
                self._pool = None
        logger.warning(
            "the chart worker failed or took over %.0f s: the next chart starts another", self.timeout
        )
        pool.shutdown(wait=False, cancel_futures=True)
