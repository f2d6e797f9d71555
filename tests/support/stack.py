"""`twoway emulator` and `twoway run` as real processes, as the end-to-end tests talk to them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from tests.support.processes import Process, http

SIGNING_SECRET = "e2e-signing-secret-0123456789"
BOT_TOKEN = "xoxb-e2e-bot-token-42"
APP_TOKEN = "xapp-1-A0TWOWAY1-e2e-app-token"
TEAM, CHANNEL, USER = "T0TWOWAY1", "C0SOCIAL01", "U0ADA00001"


@dataclass
class Stack:
    """The emulator and the app it delivers to; ``app_url`` is None when the app uses Socket Mode."""

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
