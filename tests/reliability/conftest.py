"""Real processes on loopback sharing one PostgreSQL: `twoway emulator`, `twoway run` replicas, workers.

- ``cluster``: the emulator delivering to two HTTP replicas, A and B, at random (its ``--app-url``
  given twice), both on the same ``DATABASE_URL``, ``SLACK_API_URL`` and signing secret.
- ``slack``: the emulator alone, for the digest and nudge tests, whose replicas are ``worker``
  processes: each builds the real `Publisher` and `Nudger` (`tests/reliability/worker.py`).

Every process writes stdout and stderr to one log file under the test's tmp_path, which the
secrets test reads back. They run on PostgreSQL only: they are about several processes sharing one
database, which SQLite is not for.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.db import make_engine, make_session_factory
from storage.migrate import upgrade
from tests.e2e.conftest import Process, base_env, http, stop, wait_until_up
from tests.flows.conftest import eventually as wait_for
from twoway.demo import free_port

TEAM = "T0TWOWAY1"
CHANNEL = "C0SOCIAL01"
ADA, GRACE = "U0ADA00001", "U0GRACE001"
# Distinctive values, so that the secrets test can tell any leak of them, whole or in part.
SIGNING_SECRET = "rel-signing-5ecret-7c1d0e9a"
BOT_TOKEN = "xoxb-rel-b0t-t0ken-4f2a9c81"
APP_TOKEN = "xapp-1-A0TWOWAY1-rel-app-t0ken-d3b7e6"
SECRETS = (SIGNING_SECRET, BOT_TOKEN, APP_TOKEN)

T = TypeVar("T")


def eventually(probe: Callable[[], T | None], *, timeout: float = 60, what: str = "the expected state") -> T:
    """`tests.flows.conftest.eventually` with the minute real processes may need."""
    return wait_for(probe, timeout=timeout, what=what)


def launch(args: list[str], env: dict[str, str], log: Path) -> Process:
    """``python -m <args>`` with stdout and stderr appended to ``log`` (appended: a restart keeps both)."""
    handle = log.open("ab")
    popen = subprocess.Popen([sys.executable, "-m", *args], env=env, stdout=handle, stderr=subprocess.STDOUT)
    handle.close()
    return Process(popen, log)


def kill_hard(process: Process) -> None:
    """SIGKILL: no shutdown hook, no finally, no flushed buffer; a machine losing power."""
    process.popen.send_signal(signal.SIGKILL)
    process.popen.wait(timeout=10)


@dataclass
class Slack:
    """The emulator process and the database every replica and worker shares."""

    url: str
    emulator: Process
    database_url: str
    env: dict[str, str]
    logs: Path
    engine: Engine
    processes: list[Process] = field(default_factory=list)

    @property
    def sessions(self) -> sessionmaker[Session]:
        return make_session_factory(self.engine)

    def post(self, path: str, payload: dict[str, Any]) -> Any:
        status, answer = http("POST", self.url + path, payload)
        assert status == 200, (path, status, answer)
        return answer

    def get(self, path: str) -> Any:
        status, answer = http("GET", self.url + path)
        assert status == 200, (path, status, answer)
        return answer

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = self.get("/_emulator/calls" + (f"?method={method}" if method else ""))
        return calls

    def messages(self, channel: str | None = None) -> list[dict[str, Any]]:
        query = f"?team={TEAM}" + (f"&channel={channel}" if channel else "")
        messages: list[dict[str, Any]] = self.get("/_emulator/messages" + query)
        return messages

    def fault(self, **fault: Any) -> None:
        self.post("/_emulator/faults", fault)

    def clear_faults(self) -> None:
        status, _ = http("DELETE", self.url + "/_emulator/faults")
        assert status == 200

    def app_env(self, port: int | None = None, *, socket_mode: bool = False) -> dict[str, str]:
        env = {
            **self.env,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "SLACK_API_URL": self.url + "/api/",
            "DATABASE_URL": self.database_url,
        }
        if port is not None:
            env["PORT"] = str(port)
        if socket_mode:
            env["SLACK_APP_TOKEN"] = APP_TOKEN
        return env

    def spawn(self, args: list[str], log_name: str, env: dict[str, str]) -> Process:
        process = launch(args, env, self.logs / f"{log_name}.log")
        self.processes.append(process)
        return process

    def worker(self, name: str, plan: dict[str, Any], *extra: str) -> Process:
        """A replica's publisher and nudger in a process of its own, working through ``plan``."""
        plan_file = self.logs / f"plan-{name}-{len(self.processes)}.json"
        plan_file.write_text(json.dumps(plan))
        return self.spawn(
            ["tests.reliability.worker", "--plan", str(plan_file), "--name", name, *extra],
            f"worker-{name}",
            self.app_env(),
        )

    def all_output(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))

    def count(self, model: Any, *where: Any) -> int:
        with self.sessions.begin() as s:
            return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


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
        wait_until_up(url + "/_emulator/health", emulator.popen, emulator.log)
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


@dataclass
class Cluster:
    """The emulator delivering to replicas A and B at random; each replica's process by name."""

    slack: Slack
    ports: dict[str, int]
    replicas: dict[str, Process]
    env: dict[str, str] = field(default_factory=dict)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def events_url(self, name: str) -> str:
        return self.url(name) + "/slack/events"

    def start(self, name: str) -> Process:
        process = self.slack.spawn(
            ["twoway.cli", "run", "--host", "127.0.0.1"],
            f"replica-{name}",
            {**self.slack.app_env(self.ports[name]), **self.env},
        )
        self.replicas[name] = process
        return process

    def wait_up(self, name: str) -> None:
        process = self.replicas[name]
        wait_until_up(self.url(name) + "/healthz", process.popen, process.log)


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


# An event lease of seconds rather than minutes, so that a test sees a dead replica's event taken over.
SHORT_LEASE_SECONDS = 2


@pytest.fixture
def short_lease_cluster(tmp_path: Path, postgresql_url: str) -> Iterator[Cluster]:
    with _start_cluster(
        tmp_path, postgresql_url, {"TWOWAY_EVENT_LEASE_SECONDS": str(SHORT_LEASE_SECONDS)}
    ) as cluster:
        yield cluster


def digest_period(now: datetime | None = None) -> tuple[str, str]:
    """A week that ended a minute ago, as ISO strings: recent enough for retries and history search."""
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0) - timedelta(minutes=1)
    return (end - timedelta(days=7)).isoformat(), end.isoformat()


def elapsed(since: float) -> str:
    return f"{time.monotonic() - since:.1f}s"


def report(name: str, **figures: Any) -> None:
    """Print a test's figures (pytest -s shows them; RELIABILITY.md quotes them) and keep them on disk."""
    line = json.dumps({"test": name, **figures})
    print(line)
    figures_file = os.environ.get("TWOWAY_RELIABILITY_FIGURES")
    if figures_file:
        with open(figures_file, "a") as out:
            out.write(line + "\n")
