"""Races between transactions: the same work run in several threads at once, to see one of them win."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from sqlalchemy.orm import Session, sessionmaker

THREADS = 8

T = TypeVar("T")


def all_at_once(sessions: sessionmaker[Session], work: Callable[[Session], T]) -> list[T]:
    """Run ``work`` in THREADS threads, each in its own transaction, released together."""
    start = threading.Barrier(THREADS)

    def run() -> T:
        start.wait()
        with sessions.begin() as s:
            return work(s)

    with ThreadPoolExecutor(THREADS) as pool:
        return [f.result() for f in [pool.submit(run) for _ in range(THREADS)]]
