"""Real processes on loopback: `twoway emulator` and `twoway run`, each started as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from twoway.demo import free_port

SIGNING_SECRET = "e2e-signing-secret-0123456789"
BOT_TOKEN = "xoxb-e2e-bot-token-42"
APP_TOKEN = "xapp-1-A0TWOWAY1-e2e-app-token"
TEAM, CHANNEL, USER = "T0TWOWAY1", "C0SOCIAL01", "U0ADA00001"


def http(
    method: str,
    url: str,
    payload: Any = None,
    headers: dict[str, str] | None = None,
    body: bytes | None = None,
) -> tuple[int, Any]:
    """One request; returns the status and the decoded JSON (or text) body, also for 4xx/5xx."""
    data = body if body is not None else (json.dumps(payload).encode() if payload is not None else None)
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json"}
    )
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def wait_until_up(url: str, process: subprocess.Popen[bytes], log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{process.args!r} exited with {process.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.1)
    pytest.fail(f"{url} did not come up in {timeout}s:\n{log.read_text()}")


@dataclass
class Process:
    popen: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text()


def start(args: list[str], env: dict[str, str], log: Path) -> Process:
    handle = log.open("wb")
    popen = subprocess.Popen(
        [sys.executable, "-m", "twoway.cli", *args], env=env, stdout=handle, stderr=subprocess.STDOUT
    )
    return Process(popen, log)


def stop(process: Process) -> None:
    process.popen.terminate()
    try:
        process.popen.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.popen.kill()
        process.popen.wait()


def base_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE_URL", "PORT"))}
    env["PYTHONUNBUFFERED"] = "1"
    # No .env of the developer's may leak into the run.
    env["HOME"] = str(tmp_path)
    return env


@dataclass
class Stack:
    emulator_url: str
    app_url: str | None
    database_url: str
    app: Process
    emulator: Process

    def command(self, text: str, **overrides: str) -> dict[str, Any]:
        payload = {
            "team": TEAM,
            "channel": CHANNEL,
            "user": USER,
            "command": "/twoway",
            "text": text,
            **overrides,
        }
        status, seen = http("POST", self.emulator_url + "/_emulator/command", payload)
        assert status == 200, seen
        assert isinstance(seen, dict)
        return seen

    def calls(self) -> list[dict[str, Any]]:
        status, calls = http("GET", self.emulator_url + "/_emulator/calls")
        assert status == 200
        assert isinstance(calls, list)
        return calls


def _start_stack(tmp_path: Path, database_url: str, *, socket_mode: bool) -> Iterator[Stack]:
    emulator_port, app_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    env = base_env(tmp_path)
    emulator = start(
        [
            "emulator",
            "--port",
            str(emulator_port),
            "--app-url",
            f"http://127.0.0.1:{app_port}/slack/events",
            "--signing-secret",
            SIGNING_SECRET,
        ],
        env,
        tmp_path / "emulator.log",
    )
    wait_until_up(emulator_url + "/_emulator/health", emulator.popen, emulator.log)
    app_env = {
        **env,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": emulator_url + "/api/",
        "DATABASE_URL": database_url,
        "PORT": str(app_port),
    }
    if socket_mode:
        app_env["SLACK_APP_TOKEN"] = APP_TOKEN
    else:
        app_env["SLACK_SIGNING_SECRET"] = SIGNING_SECRET
    app = start(["run", "--host", "127.0.0.1"], app_env, tmp_path / "app.log")
    app_url = None if socket_mode else f"http://127.0.0.1:{app_port}"
    stack = Stack(emulator_url, app_url, database_url, app, emulator)
    try:
        if app_url:
            wait_until_up(app_url + "/healthz", app.popen, app.log)
        else:
            _wait_for_socket(stack)
        yield stack
    finally:
        stop(app)
        stop(emulator)


def _wait_for_socket(stack: Stack, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if stack.app.popen.poll() is not None:
            pytest.fail(f"twoway run exited:\n{stack.app.output()}")
        status, connections = http("GET", stack.emulator_url + "/_emulator/connections")
        if status == 200 and connections["count"] > 0:
            return
        time.sleep(0.1)
    pytest.fail(f"twoway never connected over Socket Mode:\n{stack.app.output()}")


@pytest.fixture
def http_stack(tmp_path: Path, db_url: str) -> Iterator[Stack]:
    yield from _start_stack(tmp_path, db_url, socket_mode=False)


@pytest.fixture
def socket_stack(tmp_path: Path, db_url: str) -> Iterator[Stack]:
    yield from _start_stack(tmp_path, db_url, socket_mode=True)
