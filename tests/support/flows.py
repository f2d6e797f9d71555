"""twoway and the emulator on loopback in one process, as the flow tests drive them: every event,
command and click is a signed HTTP request the emulator sends as Slack would."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from bot.clock import utc_now
from emulator import Emulator
from twoway.runtime import Runtime

TEAM = "T0TWOWAY1"
CHANNEL = "C0SOCIAL01"
ADA, GRACE, LINUS = "U0ADA00001", "U0GRACE001", "U0LINUS001"
SECRET = "flow-signing-secret"


class Later:
    """twoway's clock, which a test moves days ahead; the emulator keeps the real time."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return utc_now() + self.ahead


@dataclass
class Flow:
    """The emulator and the app it delivers to: people's doings in Slack, and what the app did about them."""

    emulator: Emulator
    runtime: Runtime

    @property
    def sessions(self) -> sessionmaker[Session]:
        return self.runtime.deps.sessions

    def _post(self, path: str, payload: dict[str, Any]) -> Any:
        request = urllib.request.Request(
            self.emulator.base_url + path,
            data=json.dumps(payload).encode(),
            headers={"Content-Type": "application/json"},
            method="POST",
        )
        try:
            with urllib.request.urlopen(request, timeout=20) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            pytest.fail(f"{path} answered {error.code}: {error.read().decode()}")

    def _get(self, path: str) -> Any:
        with urllib.request.urlopen(self.emulator.base_url + path, timeout=20) as response:
            return json.loads(response.read())

    def say(
        self, user: str, text: str, *, thread_ts: str | None = None, channel: str = CHANNEL, **extra: Any
    ) -> str:
        """A person posts a message; returns its ts once the app has acknowledged the event."""
        payload: dict[str, Any] = {"team": TEAM, "channel": channel, "user": user, "text": text, **extra}
        if thread_ts:
            payload["thread_ts"] = thread_ts
        answer = self._post("/_emulator/message", payload)
        assert answer["delivery"]["status"] == 200, answer
        return str(answer["ts"])

    def edit(self, ts: str, text: str, channel: str = CHANNEL) -> None:
        answer = self._post(
            "/_emulator/message_changed", {"team": TEAM, "channel": channel, "ts": ts, "text": text}
        )
        assert answer["delivery"]["status"] == 200, answer

    def delete(self, ts: str, channel: str = CHANNEL) -> None:
        answer = self._post("/_emulator/message_deleted", {"team": TEAM, "channel": channel, "ts": ts})
        assert answer["delivery"]["status"] == 200, answer

    def react(
        self, user: str, ts: str, reaction: str, *, removed: bool = False, channel: str = CHANNEL
    ) -> None:
        payload = {
            "team": TEAM,
            "channel": channel,
            "ts": ts,
            "user": user,
            "reaction": reaction,
            "removed": removed,
        }
        answer = self._post("/_emulator/reaction", payload)
        assert answer["delivery"]["status"] == 200, answer

    def event(self, event: dict[str, Any], team: str = TEAM) -> dict[str, Any]:
        answer: dict[str, Any] = self._post("/_emulator/event", {"team": team, "event": event})
        return answer

    def command(
        self, user: str, text: str, *, channel: str = CHANNEL, team: str = TEAM
    ) -> list[dict[str, Any]]:
        """What the user saw after `/twoway text`: the ack body and every response_url post."""
        seen = self._post(
            "/_emulator/command",
            {"team": team, "channel": channel, "user": user, "command": "/twoway", "text": text},
        )
        assert seen["ack"]["status"] == 200, seen
        bodies = [seen["ack"]["body"], *seen["responses"]]
        return [b for b in bodies if isinstance(b, dict) and (b.get("text") or b.get("blocks"))]

    def reply_text(self, user: str, text: str, **kwargs: Any) -> str:
        """The text of the one answer a command got."""
        shown = self.command(user, text, **kwargs)
        assert len(shown) == 1, shown
        assert shown[0].get("response_type", "ephemeral") == "ephemeral"
        return str(shown[0]["text"])

    def click(self, user: str, message_ts: str, action_id: str, value: str, *, channel: str = CHANNEL) -> Any:
        payload = {
            "team": TEAM,
            "channel": channel,
            "user": user,
            "message_ts": message_ts,
            "action_id": action_id,
            "value": value,
            "wait": 0.5,
        }
        return self._post("/_emulator/action", payload)

    def shortcut(self, user: str, message_ts: str, *, channel: str = CHANNEL) -> Any:
        payload = {
            "team": TEAM,
            "channel": channel,
            "user": user,
            "message_ts": message_ts,
            "callback_id": "flag_unanswered_comment",
            "wait": 0.5,
        }
        return self._post("/_emulator/shortcut", payload)

    def calls(self, method: str | None = None) -> list[dict[str, Any]]:
        calls: list[dict[str, Any]] = self._get("/_emulator/calls")
        return [c for c in calls if method is None or c["method"] == method]

    def messages(self, channel: str = CHANNEL) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = self._get(f"/_emulator/messages?team={TEAM}&channel={channel}")
        return messages

    def bot_messages(self, channel: str = CHANNEL) -> list[dict[str, Any]]:
        return [m for m in self.messages(channel) if m.get("bot_id")]


def views_of(flow: Flow, user: str) -> list[dict[str, Any]]:
    """The views the app published or opened for ``user``, as the emulator keeps them."""
    views: Any = flow._get(f"/_emulator/views?team={TEAM}&user={user}")
    return list(views if isinstance(views, list) else views.get("views", []))
