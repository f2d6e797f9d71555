"""Real processes on loopback: `twoway emulator` and `twoway run`, each started as a user would."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.polling import eventually
from tests.support.processes import base_env, http, launch, running, stop, wait_until_up
from tests.support.stack import APP_TOKEN, BOT_TOKEN, SIGNING_SECRET, Stack
from twoway.demo import free_port


def _start_stack(tmp_path: Path, database_url: str, *, socket_mode: bool) -> Iterator[Stack]:
    emulator_port, app_port = free_port(), free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    env = base_env(tmp_path)
    emulator = launch(
        [
            "twoway.cli",
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
    wait_until_up(emulator_url + "/_emulator/health", emulator)
    app_env = {
        **env,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": emulator_url + "/api/",
        "DATABASE_URL": database_url,
        "PORT": str(app_port),
        # The watcher reads Bluesky and Mastodon from the emulator, never from the networks.
        "TWOWAY_BLUESKY_API_URL": emulator_url + "/bluesky",
        "TWOWAY_MASTODON_API_URL": emulator_url + "/mastodon",
    }
    if socket_mode:
        app_env["SLACK_APP_TOKEN"] = APP_TOKEN
    else:
        app_env["SLACK_SIGNING_SECRET"] = SIGNING_SECRET
    app = launch(["twoway.cli", "run", "--host", "127.0.0.1"], app_env, tmp_path / "app.log")
    app_url = None if socket_mode else f"http://127.0.0.1:{app_port}"
    stack = Stack(emulator_url, app_url, database_url, app, emulator)
    try:
        if app_url:
            wait_until_up(app_url + "/healthz", app)
        else:
            _wait_for_socket(stack)
        yield stack
    finally:
        stop(app)
        stop(emulator)


def _wait_for_socket(stack: Stack, timeout: float = 30) -> None:
    def connected() -> bool:
        running(stack.app)
        status, connections = http("GET", stack.emulator_url + "/_emulator/connections")
        return status == 200 and connections["count"] > 0

    eventually(
        connected,
        timeout=timeout,
        interval=0.1,
        what="twoway to connect over Socket Mode",
        detail=stack.app.output,
    )


@pytest.fixture
def http_stack(tmp_path: Path, db_url: str) -> Iterator[Stack]:
    yield from _start_stack(tmp_path, db_url, socket_mode=False)


@pytest.fixture
def socket_stack(tmp_path: Path, db_url: str) -> Iterator[Stack]:
    yield from _start_stack(tmp_path, db_url, socket_mode=True)
