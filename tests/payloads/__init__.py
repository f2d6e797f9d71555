"""Payload builders shaped as Slack sends them (events API, slash commands, shortcuts)."""

from __future__ import annotations

import time
from typing import Any

TEAM = "T0TWOWAY1"
APP = "A0TWOWAY1"
BOT_USER = "U0TWOWAYBOT"


def event_callback(event: dict[str, Any], *, team_id: str = TEAM, event_id: str = "Ev0001") -> dict[str, Any]:
    """An Events API `event_callback` envelope around `event`."""
    now = int(time.time())
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "api_app_id": APP,
        "event": {"event_ts": f"{now}.000100", "ts": f"{now}.000100", **event},
        "type": "event_callback",
        "event_id": event_id,
        "event_time": now,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": BOT_USER,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-{event_id}",
    }


def slash_command(text: str, *, team_id: str = TEAM, user_id: str = "U0ADA00001") -> dict[str, str]:
    """The form fields of a `/twoway` slash command."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "team_domain": "twoway-demo",
        "channel_id": "C0SOCIAL01",
        "channel_name": "social",
        "user_id": user_id,
        "user_name": "ada",
        "command": "/twoway",
        "text": text,
        "api_app_id": APP,
        "is_enterprise_install": "false",
        "response_url": "http://127.0.0.1:9/_emulator/response/1",
        "trigger_id": "1.2.3",
    }


def message_shortcut(callback_id: str, *, team_id: str = TEAM) -> dict[str, Any]:
    """A `message_action` payload: a message shortcut used on a channel message."""
    return {
        "type": "message_action",
        "token": "legacy-verification-token",
        "action_ts": f"{time.time():.6f}",
        "team": {"id": team_id, "domain": "twoway-demo"},
        "user": {"id": "U0ADA00001", "username": "ada", "team_id": team_id, "name": "ada"},
        "channel": {"id": "C0SOCIAL01", "name": "social"},
        "is_enterprise_install": False,
        "enterprise": None,
        "callback_id": callback_id,
        "trigger_id": "1.2.3",
        "response_url": "http://127.0.0.1:9/_emulator/response/2",
        "message_ts": "1700000000.000100",
        "message": {
            "type": "message",
            "user": "U0GRACE001",
            "text": "Someone asked …",
            "ts": "1700000000.000100",
        },
    }
