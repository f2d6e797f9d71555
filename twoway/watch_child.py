"""The watcher as a child of `twoway run`: started beside the server, started again if it dies.

Reading Bluesky and Mastodon takes their client libraries, and the atproto SDK alone adds about 57 MB
of resident memory. So the process that serves Slack never loads them: `twoway run` (role ``all``)
starts `twoway run --role watch` as a child process (`twoway.watch_role`), which shares only the ledger
with it. If the child dies, it is started again after a pause that doubles from 5 seconds to 5 minutes
(a child that ran for 10 minutes starts the count afresh); when the server stops, the child gets SIGTERM
and then, after 10 seconds, SIGKILL. The child leaves by itself if this process dies first.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time

logger = logging.getLogger(__name__)

FIRST_PAUSE = 5.0
LONGEST_PAUSE = 300.0
# A child that lived this long was healthy: its death starts the pauses afresh.
HEALTHY_AFTER = 600.0
STOP_GRACE = 10.0
COMMAND = [sys.executable, "-m", "twoway.cli", "run", "--role", "watch", "--migrated"]


def watcher_command() -> list[str]:
    """The watcher's command line, naming this process as the parent it must outlive no longer."""
    return [*COMMAND, "--parent", str(os.getpid())]


class WatcherChild:
    """Keeps one `twoway run --role watch` running until `stop`."""

    def __init__(self, command: list[str] | None = None) -> None:
        self.command = command or watcher_command()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._thread: threading.Thread | None = None
        self.starts = 0

    @property
    def pid(self) -> int | None:
        with self._lock:
            return None if self._process is None else self._process.pid

    def start(self) -> None:
        self._thread = threading.Thread(target=self._keep_running, name="twoway-watch-child", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        with self._lock:
            process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=STOP_GRACE)
            except subprocess.TimeoutExpired:
                logger.warning("the watcher did not stop within %.0f s: killed", STOP_GRACE)
                process.kill()
                process.wait()
        if self._thread is not None:
            self._thread.join(timeout=STOP_GRACE)

    def _keep_running(self) -> None:
        pause = FIRST_PAUSE
        while not self._stopping.is_set():
            started = time.monotonic()
            with self._lock:
                if self._stopping.is_set():
                    return
                # Its output goes where this process's goes: one log for both.
                self._process = subprocess.Popen(self.command)
                self.starts += 1
                process = self._process
            logger.info("the watcher of Bluesky and Mastodon posts started (pid %d)", process.pid)
            code = process.wait()
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= HEALTHY_AFTER:
                pause = FIRST_PAUSE
            logger.error("the watcher stopped with exit code %d: starting it again in %.0f s", code, pause)
            if self._stopping.wait(pause):
                return
            pause = min(pause * 2, LONGEST_PAUSE)
