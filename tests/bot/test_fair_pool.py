"""The pool that takes turns between workspaces: its order, its cap per key, its futures and its shutdown."""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator

import pytest

from bot.fair_pool import FairPool
from tests.support.polling import eventually

TIMEOUT = 10


def by_team(team: str, *rest: object, **named: object) -> str:
    return team


@pytest.fixture
def pools() -> Iterator[Callable[[int, int], FairPool]]:
    made: list[FairPool] = []

    def make(workers: int, per_key: int) -> FairPool:
        made.append(FairPool(workers, per_key, by_team))
        return made[-1]

    yield make
    for pool in made:
        pool.shutdown(wait=True)


def refuses_work(pool: FairPool) -> bool:
    try:
        pool.submit(lambda team: None, "T0LATE")
    except RuntimeError:
        return True
    return False


def test_the_workspaces_take_turns(pools: Callable[[int, int], FairPool]) -> None:
    pool = pools(1, 4)
    gate = threading.Event()
    started = threading.Event()
    order: list[str] = []

    def hold(team: str) -> None:
        started.set()
        assert gate.wait(TIMEOUT)

    def note(team: str, name: str) -> str:
        order.append(name)
        return name

    pool.submit(hold, "T0GATE")
    assert started.wait(TIMEOUT)
    # Queued while the one thread is held: A's three first, then B's two, then C's.
    queued = [("T0A", "a1"), ("T0A", "a2"), ("T0A", "a3"), ("T0B", "b1"), ("T0B", "b2"), ("T0C", "c1")]
    futures = [pool.submit(note, team, name) for team, name in queued]
    gate.set()

    assert [f.result(TIMEOUT) for f in futures] == [name for _, name in queued]
    assert order == ["a1", "b1", "c1", "a2", "b2", "a3"]


def test_a_workspace_never_runs_more_than_its_share_while_threads_are_free(
    pools: Callable[[int, int], FairPool],
) -> None:
    pool = pools(4, 2)
    lock = threading.Lock()
    running: Counter[str] = Counter()
    most: Counter[str] = Counter()
    started: list[str] = []
    release = {name: threading.Event() for name in ("a1", "a2", "a3", "a4", "b1")}
    began = {name: threading.Event() for name in release}

    def job(team: str, name: str) -> str:
        with lock:
            running[team] += 1
            most[team] = max(most[team], running[team])
            started.append(name)
        began[name].set()
        try:
            assert release[name].wait(TIMEOUT)
        finally:
            with lock:
                running[team] -= 1
        return name

    futures = {name: pool.submit(job, "T0A", name) for name in ("a1", "a2", "a3", "a4")}
    assert began["a1"].wait(TIMEOUT)
    assert began["a2"].wait(TIMEOUT)
    futures["b1"] = pool.submit(job, "T0B", "b1")
    # B's job was queued after A's third and fourth, and still ran first: they wait for A's share.
    assert began["b1"].wait(TIMEOUT)
    with lock:
        assert sorted(started) == ["a1", "a2", "b1"]

    release["a1"].set()
    assert began["a3"].wait(TIMEOUT)
    with lock:
        assert "a4" not in started
    for event in release.values():
        event.set()

    assert sorted(f.result(TIMEOUT) for f in futures.values()) == ["a1", "a2", "a3", "a4", "b1"]
    assert most == {"T0A": 2, "T0B": 1}


def test_results_and_exceptions_come_back_in_the_futures(pools: Callable[[int, int], FairPool]) -> None:
    pool = pools(1, 1)

    def fail(team: str) -> None:
        raise ValueError(f"{team} broke")

    failed = pool.submit(fail, "T0A")
    worked = pool.submit(lambda team, n: n * 2, "T0A", n=21)

    error = failed.exception(TIMEOUT)
    assert isinstance(error, ValueError)
    assert str(error) == "T0A broke"
    # The thread that ran the failing call goes on to the next.
    assert worked.result(TIMEOUT) == 42


def test_shutdown_waits_for_running_and_queued_calls() -> None:
    pool = FairPool(1, 1, by_team)
    gate = threading.Event()
    started = threading.Event()
    order: list[str] = []

    def first(team: str) -> str:
        started.set()
        assert gate.wait(TIMEOUT)
        order.append("first")
        return "first"

    def second(team: str) -> str:
        order.append("second")
        return "second"

    def stop() -> None:
        pool.shutdown(wait=True)
        order.append("shut down")

    running = pool.submit(first, "T0A")
    queued = pool.submit(second, "T0B")
    assert started.wait(TIMEOUT)
    stopping = threading.Thread(target=stop)
    stopping.start()
    eventually(lambda: refuses_work(pool), what="the pool refusing work once shutting down")
    gate.set()
    stopping.join(TIMEOUT)

    assert not stopping.is_alive()
    assert order == ["first", "second", "shut down"]
    assert (running.result(0), queued.result(0)) == ("first", "second")


def test_shutdown_can_cancel_what_is_queued() -> None:
    pool = FairPool(1, 1, by_team)
    gate = threading.Event()
    started = threading.Event()

    def hold(team: str) -> str:
        started.set()
        assert gate.wait(TIMEOUT)
        return "held"

    running = pool.submit(hold, "T0A")
    queued = pool.submit(hold, "T0B")
    assert started.wait(TIMEOUT)
    pool.shutdown(wait=False, cancel_futures=True)
    gate.set()

    assert running.result(TIMEOUT) == "held"
    assert queued.cancelled()
