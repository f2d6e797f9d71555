"""Real processes on loopback sharing one PostgreSQL, for the reliability tests: the emulator as a process
of its own, `twoway run` replicas behind it, and worker processes running the real `Publisher` and
`Nudger` (`tests/reliability/worker.py`). The fixtures that start them are in tests/reliability/conftest.py.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from storage.channels import ensure_channel
from storage.db import make_session_factory
from tests.support.processes import Process, http, launch, wait_until_up

TEAM = "T0TWOWAY1"
CHANNEL = "C0SOCIAL01"
ADA, GRACE = "U0ADA00001", "U0GRACE001"
# Distinctive values, so that the secrets test can tell any leak of them, whole or in part.
SIGNING_SECRET = "rel-signing-5ecret-7c1d0e9a"
BOT_TOKEN = "xoxb-rel-b0t-t0ken-4f2a9c81"
APP_TOKEN = "xapp-1-A0TWOWAY1-rel-app-t0ken-d3b7e6"
SECRETS = (SIGNING_SECRET, BOT_TOKEN, APP_TOKEN)
# How long to wait for what the processes do: a busy machine may take most of a minute over 500 events.
PROCESS_TIMEOUT = 60
# An event lease of seconds rather than minutes, so that a test sees a dead replica's event taken over.
SHORT_LEASE_SECONDS = 2


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
        wait_until_up(self.url(name) + "/healthz", process)


def add_channels(slack: Slack, count: int, prefix: str) -> list[str]:
    """``count`` channels the bot is in, in Slack and in the ledger."""
    ids = [f"C0{prefix}{i:04d}" for i in range(count)]
    now = datetime.now(UTC)
    with slack.sessions.begin() as s:
        for channel_id in ids:
            slack.post("/_emulator/channel", {"team": TEAM, "id": channel_id, "name": channel_id.lower()})
            ensure_channel(s, TEAM, channel_id, now=now - timedelta(days=30))
    return ids


def digest_plan(channels: list[str], nudges: list[int] | None = None) -> dict[str, Any]:
    """A plan for `tests/reliability/worker.py`: last week's digest in each channel, then the nudges."""
    start, end = digest_period()
    return {
        "team": TEAM,
        "digests": [{"channel": c, "start": start, "end": end} for c in channels],
        "nudges": nudges or [],
    }


def digest_period(now: datetime | None = None) -> tuple[str, str]:
    """A week that ended a minute ago, as ISO strings: recent enough for retries and history search."""
    end = (now or datetime.now(UTC)).replace(second=0, microsecond=0) - timedelta(minutes=1)
    return (end - timedelta(days=7)).isoformat(), end.isoformat()


def elapsed(since: float) -> str:
    """Seconds since the ``time.monotonic()`` reading ``since``, as the reports show them."""
    return f"{time.monotonic() - since:.1f}s"


def report(name: str, **figures: Any) -> None:
    """Print a test's figures (pytest -s shows them; RELIABILITY.md quotes them) and keep them on disk."""
    line = json.dumps({"test": name, **figures})
    print(line)
    figures_file = os.environ.get("TWOWAY_RELIABILITY_FIGURES")
    if figures_file:
        with open(figures_file, "a") as out:
            out.write(line + "\n")
