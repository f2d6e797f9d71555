"""`twoway run` and `twoway emulator` as real processes: a signed `/twoway help` end to end."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import select

from storage.db import make_engine, make_session_factory
from storage.models import ProcessedEvent
from storage.workspace_rows import count_rows
from tests.support.polling import eventually
from tests.support.processes import http
from tests.support.signing import signed_headers
from tests.support.stack import BOT_TOKEN, CHANNEL, SIGNING_SECRET, TEAM, Stack

pytestmark = pytest.mark.e2e


def _shown(seen: dict[str, Any]) -> list[dict[str, Any]]:
    bodies = [seen["ack"]["body"], *seen["responses"]]
    return [b for b in bodies if isinstance(b, dict) and (b.get("text") or b.get("blocks"))]


def test_help_over_http_answers_the_user_ephemerally(http_stack: Stack) -> None:
    seen = http_stack.command("help")
    assert seen["ack"]["status"] == 200
    [reply] = _shown(seen)
    assert reply["response_type"] == "ephemeral"
    assert reply["text"].startswith("twoway commands: help, log, flag")
    rendered = json.dumps(reply["blocks"])
    assert "/twoway schedule [weekday] [time] [time zone]" in rendered
    methods = [call["method"] for call in http_stack.calls()]
    assert "auth.test" in methods


def test_an_unknown_subcommand_gets_one_line_and_the_usage(http_stack: Stack) -> None:
    [reply] = _shown(http_stack.command("reprot week"))
    assert reply["text"].startswith("`reprot` isn't a twoway command. Did you mean `report`?")
    assert "/twoway report [week|month] [@user|me]" in reply["text"]


def test_healthz(http_stack: Stack) -> None:
    assert http_stack.app_url
    assert http("GET", http_stack.app_url + "/healthz") == (200, {"ok": True})
    assert http("GET", http_stack.app_url + "/nowhere")[0] == 404


def _message_event(event_id: str) -> bytes:
    return json.dumps(
        {
            "token": "verification-token",
            "team_id": TEAM,
            "api_app_id": "A0TWOWAY1",
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "event": {
                "type": "message",
                "channel": "C0FORGED01",
                "user": "U0ADA00001",
                "text": "out now <https://x.com/twoway/status/1790000000000000001>",
                "ts": "1700000000.000100",
                "channel_type": "channel",
            },
            "authorizations": [{"team_id": TEAM, "user_id": "U0TWOWAYBOT", "is_bot": True}],
        }
    ).encode()


def _rows(database_url: str) -> dict[str, int]:
    engine = make_engine(database_url)
    try:
        with make_session_factory(engine).begin() as s:
            return count_rows(s, TEAM)
    finally:
        engine.dispose()


def _post_event(stack: Stack, body: bytes, *, secret: str, age: int = 0) -> int:
    assert stack.app_url
    headers = signed_headers(body, secret=secret, age=age)
    status, _ = http("POST", stack.app_url + "/slack/events", body=body, headers=headers)
    return status


def test_forged_and_stale_signatures_get_401_and_change_nothing(http_stack: Stack) -> None:
    assert http_stack.app_url
    before = _rows(http_stack.database_url)
    assert _post_event(http_stack, _message_event("Ev0FORGED"), secret="not-the-secret") == 401
    assert _post_event(http_stack, _message_event("Ev0STALE"), secret=SIGNING_SECRET, age=301) == 401
    status, _ = http("POST", http_stack.app_url + "/slack/events", body=_message_event("Ev0UNSIGNED"))
    assert status == 401
    assert _rows(http_stack.database_url) == before

    # The same event, signed properly, is recorded: the counts above could have changed.
    assert _post_event(http_stack, _message_event("Ev0GOOD"), secret=SIGNING_SECRET) == 200
    eventually(lambda: _rows(http_stack.database_url)["posts"], what="the signed event's post")
    engine = make_engine(http_stack.database_url)
    try:
        with make_session_factory(engine).begin() as s:
            events = s.scalars(select(ProcessedEvent.event_id).where(ProcessedEvent.team_id == TEAM)).all()
    finally:
        engine.dispose()
    assert list(events) == ["Ev0GOOD"]


def test_logs_never_show_the_token_or_signing_secret(http_stack: Stack) -> None:
    http_stack.command("help")
    http_stack.command("nonsense")
    output = http_stack.app.output() + http_stack.emulator.output()
    assert "listening on" in output
    assert BOT_TOKEN not in output
    assert SIGNING_SECRET not in output


def test_help_over_socket_mode(socket_stack: Stack) -> None:
    seen = socket_stack.command("help")
    [reply] = _shown(seen)
    assert reply["text"].startswith("twoway commands: help, log, flag")
    methods = [call["method"] for call in socket_stack.calls()]
    assert "apps.connections.open" in methods
    assert CHANNEL
