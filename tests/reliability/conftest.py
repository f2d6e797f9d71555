"""Real processes on loopback sharing one PostgreSQL: `twoway emulator`, `twoway run` replicas, workers.

- ``cluster``: the emulator delivering to two HTTP replicas, A and B, at random (its ``--app-url``
  given twice), both on the same ``DATABASE_URL``, ``SLACK_API_URL`` and signing secret.
- ``slack``: the emulator alone, for the digest and nudge tests, whose replicas are ``worker``
  processes: each builds the real `Publisher` and `Nudger` (`tests/reliability/worker.py`).

What the tests drive them with, `Slack` and `Cluster` among it, is in tests/support/replicas.py.

Every process writes stdout and stderr to one log file under the test's tmp_path, which the
secrets test reads back. They run on PostgreSQL only: they are about several processes sharing one
database, which SQLite is not for.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from storage.db import make_engine
from storage.migrate import upgrade
from tests.support.processes import base_env, launch, stop, wait_until_up
from tests.support.replicas import SHORT_LEASE_SECONDS, SIGNING_SECRET, Cluster, Slack
from twoway.demo import free_port


@contextmanager
def _start_slack(tmp_path: Path, database_url: str, app_urls: list[str]) -> Iterator[Slack]:
    logs = tmp_path / "logs"
    logs.mkdir()
    env = base_env(tmp_path)
    port = free_port()
    args = ["twoway.cli", "emulator", "--port", str(port), "--signing-secret", SIGNING_SECRET]
    for url in app_urls:
        args += ["--app-url", url]
    emulator = launch(args, env, logs / "emulator.log")
    url = f"http://127.0.0.1:{port}"
    # Migrated once here, so that the tests can seed the ledger before any replica starts.
    engine = make_engine(database_url)
    upgrade(engine)
    slack = Slack(url, emulator, database_url, env, logs, engine, [emulator])
    try:
        wait_until_up(url + "/_emulator/health", emulator)
        yield slack
    finally:
        for process in reversed(slack.processes):
            if process.popen.poll() is None:
                stop(process)
        engine.dispose()


@pytest.fixture
def slack(tmp_path: Path, postgresql_url: str) -> Iterator[Slack]:
    """The emulator alone (no request URL), on a fresh PostgreSQL schema."""
    with _start_slack(tmp_path, postgresql_url, []) as slack:
        yield slack


@contextmanager
def _start_cluster(tmp_path: Path, database_url: str, env: dict[str, str]) -> Iterator[Cluster]:
    ports = {"a": free_port(), "b": free_port()}
    app_urls = [f"http://127.0.0.1:{port}/slack/events" for port in ports.values()]
    with _start_slack(tmp_path, database_url, app_urls) as slack:
        cluster = Cluster(slack, ports, {}, env)
        for name in ports:
            cluster.start(name)
        for name in ports:
            cluster.wait_up(name)
        yield cluster


@pytest.fixture
def cluster(tmp_path: Path, postgresql_url: str) -> Iterator[Cluster]:
    with _start_cluster(tmp_path, postgresql_url, {}) as cluster:
        yield cluster


@pytest.fixture
def short_lease_cluster(tmp_path: Path, postgresql_url: str) -> Iterator[Cluster]:
    with _start_cluster(
        tmp_path, postgresql_url, {"TWOWAY_EVENT_LEASE_SECONDS": str(SHORT_LEASE_SECONDS)}
    ) as cluster:
        yield cluster
