"""A thread pool that takes turns between workspaces: the digests of a slot that many workspaces share.

Each workspace's digests wait on that workspace's own Slack limits (`bot.posting.Pacer` sleeps in the
thread until its turn). In a pool that runs jobs in the order they came, one workspace's queue of
digests can fill every thread with sleepers while the next workspace's, whose limits nobody is
using, waits behind them. `FairPool` keeps a queue per key (the workspace) and hands the next job
to a free thread from each key in turn, running at most ``per_key`` jobs of one key at once, so a
slow workspace holds a few threads and the rest go to everyone else.

It is a `concurrent.futures.Executor`: results and exceptions come back in the futures, so it fits
both APScheduler's `BasePoolExecutor` and a ``with`` block.
"""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class _Work:
    key: Hashable
    future: Future[Any]
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


class FairPool(Executor):
    """Up to ``max_workers`` threads running calls queued per ``key(*args, **kwargs)``, the keys in turn,
    at most ``per_key`` of one key's calls at a time."""

    def __init__(
        self,
        max_workers: int,
        per_key: int,
        key: Callable[..., Hashable],
        *,
        thread_name_prefix: str = "fair-pool",
    ) -> None:
        if max_workers < 1 or per_key < 1:
            raise ValueError("max_workers and per_key must be at least 1")
        # The name concurrent.futures' pools give it: readers of a pool's size look for it.
        self._max_workers = max_workers
        self._per_key = per_key
        self._key = key
        self._prefix = thread_name_prefix
        self._changed = threading.Condition(threading.Lock())
        # The keys with calls waiting, in the order they get their next turn.
        self._queues: dict[Hashable, deque[_Work]] = {}
        self._running: Counter[Hashable] = Counter()
        self._threads: list[threading.Thread] = []
        self._shut = False

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Queue ``fn(*args, **kwargs)`` behind its key's earlier calls; its future holds what it returns
        or raises."""
        key = self._key(*args, **kwargs)
        future: Future[Any] = Future()
        with self._changed:
            if self._shut:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._queues.setdefault(key, deque()).append(_Work(key, future, fn, args, kwargs))
            if len(self._threads) < self._max_workers:
                thread = threading.Thread(
                    target=self._work, name=f"{self._prefix}_{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            self._changed.notify()
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Take no more calls. Queued calls still run, as in concurrent.futures' pools, unless
        ``cancel_futures``; with ``wait``, return once every call has."""
        with self._changed:
            self._shut = True
            if cancel_futures:
                for queue in self._queues.values():
                    for work in queue:
                        work.future.cancel()
                self._queues.clear()
            self._changed.notify_all()
            threads = list(self._threads)
        if wait:
            for thread in threads:
                thread.join()

    def _next(self) -> _Work | None:
        """The first key in turn under its cap gives its oldest call, and goes to the back of the turn."""
        for key, queue in self._queues.items():
            if self._running[key] < self._per_key:
                work = queue.popleft()
                del self._queues[key]
                if queue:
                    self._queues[key] = queue
                self._running[key] += 1
                return work
        return None

    def _work(self) -> None:
        while True:
            with self._changed:
                while (work := self._next()) is None:
                    if self._shut and not self._queues:
                        return
                    self._changed.wait()
                if self._shut and not self._queues:
                    # The last queued call is taken: idle threads may leave.
                    self._changed.notify_all()
            if work.future.set_running_or_notify_cancel():
                try:
                    result = work.fn(*work.args, **work.kwargs)
                except BaseException as error:
                    work.future.set_exception(error)
                else:
                    work.future.set_result(result)
            with self._changed:
                self._running[work.key] -= 1
                if not self._running[work.key]:
                    del self._running[work.key]
