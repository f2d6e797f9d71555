"""`twoway demo`: the product on this machine against the local Slack emulator, no Slack account needed."""

from __future__ import annotations

import json
import secrets
import socket
import tempfile
import urllib.request
from pathlib import Path
from typing import Any, TextIO

from bot.config import Config, Secret
from bot.emulator import Emulator, EmulatorSettings
from bot.preview import blocks_to_text
from bot.runtime import prepare

DEMO_TEAM = "T0TWOWAY1"
DEMO_CHANNEL = "C0SOCIAL01"
DEMO_USER = "U0ADA00001"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def post_json(url: str, payload: dict[str, Any], timeout: float = 15) -> Any:
    """POST `payload` as JSON to a loopback control endpoint and return the decoded answer."""
    request = urllib.request.Request(  # noqa: S310 - the emulator on loopback
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
        return json.loads(response.read())


def local_config(*, api_url: str, signing_secret: str, database_url: str, port: int) -> Config:
    """twoway's settings for running against the local emulator in HTTP mode."""
    return Config(
        bot_token=Secret("xoxb-twoway-local"),
        signing_secret=Secret(signing_secret),
        app_token=None,
        database_url=database_url,
        slack_api_url=api_url,
        timezone="UTC",
        port=port,
    )


def what_the_user_saw(seen: dict[str, Any]) -> str:
    """The ack body and `response_url` posts of a delivered command, as Slack would show them."""
    shown = [seen["ack"]["body"], *seen.get("responses", [])]
    parts = [
        blocks_to_text(body.get("blocks") or [], body.get("text", ""))
        for body in shown
        if isinstance(body, dict) and (body.get("blocks") or body.get("text"))
    ]
    return "\n\n".join(parts)


def run_demo(out: TextIO) -> int:
    """Run the emulator and twoway on loopback with a fresh ledger; print what Slack would show."""
    with tempfile.TemporaryDirectory(prefix="twoway-demo-") as tmp:
        signing_secret = secrets.token_hex(16)
        app_port = free_port()
        settings = EmulatorSettings(
            host="127.0.0.1",
            port=0,
            app_url=f"http://127.0.0.1:{app_port}/slack/events",
            signing_secret=signing_secret,
        )
        with Emulator(settings) as emulator:
            config = local_config(
                api_url=emulator.api_url,
                signing_secret=signing_secret,
                database_url=f"sqlite:///{Path(tmp) / 'twoway.db'}",
                port=app_port,
            )
            runtime = prepare(config, host="127.0.0.1")
            runtime.start_background()
            try:
                print(f"twoway is running against the local Slack emulator at {emulator.base_url}", file=out)
                print("\nada, in #social, types: /twoway help\n", file=out)
                seen = post_json(
                    emulator.base_url + "/_emulator/command",
                    {
                        "team": DEMO_TEAM,
                        "channel": DEMO_CHANNEL,
                        "user": DEMO_USER,
                        "command": "/twoway",
                        "text": "help",
                    },
                )
                print("twoway answers (only visible to them):\n", file=out)
                print(what_the_user_saw(seen), file=out)
            finally:
                runtime.stop()
    return 0
