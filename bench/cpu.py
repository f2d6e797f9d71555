"""CPU time of processes on this machine, read from /proc, over a window of a benchmark.

A process's utime and stime count every thread it has run, so one reading per process covers an
app's server, inbox and listener threads alike. Processes that start during a window (a pooled
connection's new PostgreSQL backend) count from zero; processes that exit during it count up to
their last reading, which is why the meter reads them all every ``interval`` seconds rather than
only at both ends.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

TICKS_PER_SECOND = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User plus system CPU seconds ``pid`` has used, or None if there is no such process here."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name (field 2) is in parentheses and may hold spaces: count fields after it.
    fields = stat[stat.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])
    return (utime + stime) / TICKS_PER_SECOND


def descendants(pid: int) -> set[int]:
    """``pid``'s children, their children and so on (not ``pid`` itself); empty if it is gone."""
    found: set[int] = set()
    todo = [pid]
    while todo:
        parent = todo.pop()
        for children in Path(f"/proc/{parent}/task").glob("*/children"):
            try:
                kids = {int(k) for k in children.read_text().split()}
            except OSError:
                continue
            todo += kids - found
            found |= kids
    return found


class CpuMeter:
    """CPU seconds used by groups of processes over a window, from ``start()`` to ``stop()``.

    ``groups`` names the processes of each group as they are now; it is called at every reading,
    so that a group can gain and lose processes during the window.
    """

    def __init__(self, groups: Callable[[], Mapping[str, Iterable[int]]], interval: float = 0.2) -> None:
        self.groups = groups
        self.interval = interval
        self._before: dict[str, dict[int, float]] = {}
        self._last: dict[str, dict[int, float]] = {}
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> None:
        self._before = self._read()
        self._last = {name: dict(readings) for name, readings in self._before.items()}
        self._thread.start()

    def stop(self) -> dict[str, float]:
        """Seconds of CPU each group used since ``start()``; a group none of whose processes could
        be read here (a database server on another machine) is left out."""
        self._stopping.set()
        self._thread.join()
        self._take()
        return {
            name: sum(cpu - self._before.get(name, {}).get(pid, 0.0) for pid, cpu in readings.items())
            for name, readings in self._last.items()
            if readings
        }

    def _run(self) -> None:
        while not self._stopping.wait(self.interval):
            self._take()

    def _take(self) -> None:
        for name, readings in self._read().items():
            self._last.setdefault(name, {}).update(readings)

    def _read(self) -> dict[str, dict[int, float]]:
        readings: dict[str, dict[int, float]] = {}
        for name, pids in self.groups().items():
            group = readings.setdefault(name, {})
            for pid in pids:
                cpu = cpu_seconds(pid)
                if cpu is not None:
                    group[pid] = cpu
        return readings
