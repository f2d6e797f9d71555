"""The control endpoints: building the world, inspecting it, and refusing mistakes with JSON."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from slack_sdk import WebClient

from emulator import Emulator, EmulatorSettings, describe
from tests.support.emulator import get, http, post

SOCIAL, ADA = "C0SOCIAL01", "U0ADA00001"


def test_health(emu: Emulator) -> None:
    assert get(emu, "/_emulator/health") == {"ok": True}


def test_seeded_world(emu: Emulator) -> None:
    world = get(emu, "/_emulator/world")
    team = world["teams"][0]
    assert (team["id"], team["domain"], team["bot_user_id"], team["bot_id"]) == (
        "T0TWOWAY1",
        "twoway-demo",
        "U0TWOWAYBOT",
        "B0TWOWAY1",
    )
    channels = {c["id"]: (c["name"], c["is_member"]) for c in team["channels"]}
    assert channels == {"C0SOCIAL01": ("social", True), "C0GENERAL1": ("general", False)}
    users = {u["id"]: (u["name"], u["real_name"]) for u in team["users"] if not u["is_bot"]}
    assert users["U0ADA00001"] == ("ada", "Ada Lovelace")
    assert len(users) == 3
    line = describe(emu)
    assert emu.base_url in line
    assert "T0TWOWAY1" in line
    assert "#social C0SOCIAL01 (bot member)" in line
    assert f"Bluesky's AppView at {emu.base_url}/bluesky" in line
    assert f"Mastodon's instances at {emu.base_url}/mastodon/<instance>" in line


def test_teams_channels_and_users_can_be_added(emu: Emulator) -> None:
    team = post(emu, "/_emulator/team", {"id": "T0SECOND01", "domain": "second", "name": "Second"})["team"]
    assert team["bot_user_id"] != "U0TWOWAYBOT"
    post(
        emu,
        "/_emulator/channel",
        {"team": "T0SECOND01", "id": "C0LAUNCH01", "name": "launch", "bot_member": False},
    )
    user = post(
        emu,
        "/_emulator/user",
        {"team": "T0SECOND01", "id": "U0HEDY0001", "name": "hedy", "tz": "Europe/Vienna"},
    )
    assert user["user"]["tz"] == "Europe/Vienna"
    assert user["user"]["real_name"] == "hedy"
    post(emu, "/_emulator/token", {"token": "xoxb-second", "team": "T0SECOND01"})
    client = WebClient(token="xoxb-second", base_url=emu.api_url)
    assert client.users_info(user="U0HEDY0001")["user"]["team_id"] == "T0SECOND01"
    assert client.conversations_info(channel="C0LAUNCH01")["channel"]["is_member"] is False
    client.conversations_join(channel="C0LAUNCH01")
    assert client.chat_postMessage(channel="C0LAUNCH01", text="hello")["ok"]


def test_messages_lists_kept_messages_with_their_channel(emu: Emulator) -> None:
    first = post(emu, "/_emulator/message", {"channel": SOCIAL, "user": ADA, "text": "one"})
    assert first["delivery"]["error"] == "no_app_connected"
    reply = post(
        emu, "/_emulator/message", {"channel": SOCIAL, "user": ADA, "text": "two", "thread_ts": first["ts"]}
    )
    older = post(
        emu, "/_emulator/message", {"channel": SOCIAL, "user": ADA, "text": "zero", "ts": "1600000000.000100"}
    )
    kept = get(emu, f"/_emulator/messages?team=T0TWOWAY1&channel={SOCIAL}")
    assert [(m["text"], m["channel"]) for m in kept] == [("zero", SOCIAL), ("one", SOCIAL), ("two", SOCIAL)]
    assert kept[1]["reply_count"] == 1
    assert kept[2]["ts"] == reply["ts"]
    assert older["ts"] == "1600000000.000100"


def test_events_list_what_was_delivered(emu: Emulator) -> None:
    answer = post(
        emu, "/_emulator/event", {"event": {"type": "member_joined_channel", "user": ADA, "channel": SOCIAL}}
    )
    listed = get(emu, "/_emulator/events")
    assert listed[0]["event_id"] == answer["event_id"]
    assert listed[0]["payload"]["event"]["event_ts"]


def test_events_list_one_workspaces_with_team(emu: Emulator) -> None:
    post(emu, "/_emulator/team", {"id": "T0OTHER01", "domain": "other"})
    post(emu, "/_emulator/channel", {"team": "T0OTHER01", "id": "C0OTHER01", "name": "general"})
    ours = post(emu, "/_emulator/message", {"channel": SOCIAL, "user": ADA, "text": "ours"})
    elsewhere = {"team": "T0OTHER01", "channel": "C0OTHER01", "user": ADA, "text": "theirs"}
    theirs = post(emu, "/_emulator/message", elsewhere)
    assert [e["event_id"] for e in get(emu, "/_emulator/events?team=T0OTHER01")] == [theirs["event_id"]]
    assert [e["event_id"] for e in get(emu, "/_emulator/events?team=T0TWOWAY1")] == [ours["event_id"]]
    assert len(get(emu, "/_emulator/events")) == 2


def test_clock_setting_drives_timestamps() -> None:
    with Emulator(EmulatorSettings(clock=lambda: 1_700_000_000.0)) as emu:
        client = WebClient(token="xoxb-test", base_url=emu.api_url)
        stamps = [client.chat_postMessage(channel=SOCIAL, text=str(i))["ts"] for i in range(3)]
    assert stamps == ["1700000000.000000", "1700000000.000001", "1700000000.000002"]


def test_response_url_that_was_never_issued(emu: Emulator) -> None:
    assert http(emu, "POST", "/_emulator/response/R0NOPE", {"text": "x"}) == (
        404,
        {"ok": False, "error": "expired_url"},
    )


def test_unknown_control_path_is_json_404(emu: Emulator) -> None:
    assert http(emu, "GET", "/_emulator/nothing-here") == (404, {"ok": False, "error": "not_found"})


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/_emulator/message", {"channel": "C0NOPE0000", "user": ADA, "text": "x"}, 404, "channel_not_found"),
        (
            "/_emulator/message",
            {"team": "T0NOPE0000", "channel": SOCIAL, "user": ADA, "text": "x"},
            404,
            "team_not_found",
        ),
        ("/_emulator/message", {"channel": SOCIAL, "user": ADA}, 400, "missing_text"),
        ("/_emulator/message", {"channel": SOCIAL, "text": "x"}, 400, "missing_user"),
        (
            "/_emulator/message",
            {"channel": SOCIAL, "user": ADA, "text": "x", "thread_ts": "1.000001"},
            404,
            "thread_not_found",
        ),
        ("/_emulator/message", [1, 2], 400, "json_not_object"),
        (
            "/_emulator/reaction",
            {"channel": SOCIAL, "user": ADA, "ts": "1.000001", "reaction": "eyes"},
            404,
            "message_not_found",
        ),
        ("/_emulator/command", {"channel": SOCIAL, "user": ADA, "command": "twoway"}, 400, "invalid_command"),
        ("/_emulator/redeliver", {"event_id": "Ev0NOPE"}, 404, "event_not_found"),
        ("/_emulator/faults", {"method": "auth.test", "status": 200}, 400, "invalid_fault"),
        ("/_emulator/channel", {"id": SOCIAL, "name": "again"}, 409, "channel_already_exists"),
        ("/_emulator/team", {"id": "T0TWOWAY1", "domain": "again"}, 409, "team_already_exists"),
        ("/_emulator/token", {"token": "xoxp-user", "team": "T0TWOWAY1"}, 400, "invalid_token"),
        ("/_emulator/event", {"event": "app_home_opened"}, 400, "invalid_event"),
    ],
)
def test_control_mistakes_answer_4xx_json(
    emu: Emulator, path: str, body: Any, status: int, error: str
) -> None:
    assert http(emu, "POST", path, body) == (status, {"ok": False, "error": error})


def test_serve_forever_logs_where_it_listens_and_stops_cleanly_on_ctrl_c() -> None:
    code = "from emulator import EmulatorSettings, serve_forever; serve_forever(EmulatorSettings(port=0))"
    root = Path(__file__).resolve().parents[2]
    process = subprocess.Popen([sys.executable, "-c", code], cwd=root, stderr=subprocess.PIPE, text=True)
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"Slack emulator at (http://127\.0\.0\.1:\d+)", line)
        assert match, line
        assert "T0TWOWAY1" in line
        assert "#social C0SOCIAL01" in line
        with urllib.request.urlopen(match.group(1) + "/_emulator/health", timeout=5) as response:
            assert json.loads(response.read()) == {"ok": True}
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert "Traceback" not in process.stderr.read()
    finally:
        process.kill()
        process.wait()
