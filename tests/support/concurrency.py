"""Racing transactions against each other, for tests of what the database lets through exactly once."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")


def all_at_once(sessions: sessionmaker[Session], work: Callable[[Session], T], threads: int = 8) -> list[T]:
    """Run ``work`` in ``threads`` threads, each in its own transaction, released together; their results."""
    start = threading.Barrier(threads)

    def run() -> T:
        start.wait()
        with sessions.begin() as s:
            return work(s)

    with ThreadPoolExecutor(threads) as pool:
        return [f.result() for f in [pool.submit(run) for _ in range(threads)]]
