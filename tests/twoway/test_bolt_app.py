"""The real Bolt app, in process: every surface in the manifest reaches a listener, signed or refused."""

from __future__ import annotations

import json
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
import yaml
from slack_bolt import App, BoltRequest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from emulator import Emulator, EmulatorSettings
from storage.channels import get_channel
from storage.models import SeenRequest
from storage.workspace_rows import count_rows
from tests.payloads import event_callback, message_shortcut, slash_command
from tests.support.inbox import settled_events
from tests.support.paths import ROOT
from tests.support.polling import eventually
from tests.support.signing import FORM, signed_request
from tests.support.wiring import SECRET, TEAM, wiring_app

BOT_USER = "U0TWOWAYBOT"


@pytest.fixture
def emulator() -> Iterator[Emulator]:
    with Emulator(EmulatorSettings(host="127.0.0.1", port=0, app_url=None, signing_secret=SECRET)) as emu:
        yield emu


@pytest.fixture
def app(emulator: Emulator, sessions: sessionmaker[Session]) -> App:
    return wiring_app(emulator, sessions)


EVENTS: dict[str, dict[str, Any]] = {
    "app_home_opened": {
        "type": "app_home_opened",
        "user": "U0ADA00001",
        "channel": "D0HOME0001",
        "tab": "home",
    },
    "app_mention": {
        "type": "app_mention",
        "user": "U0ADA00001",
        "text": "<@U0TWOWAYBOT> hi",
        "channel": "C0SOCIAL01",
    },
    "app_uninstalled": {"type": "app_uninstalled"},
    **{
        f"{prefix}_{change}": {"type": f"{prefix}_{change}", "channel": "C0SOCIAL01", "event_ts": "1.0"}
        for prefix in ("channel", "group")
        for change in ("archive", "unarchive", "deleted", "left")
    },
    "member_left_channel": {"type": "member_left_channel", "user": BOT_USER, "channel": "C0SOCIAL01"},
    "member_joined_channel": {"type": "member_joined_channel", "user": BOT_USER, "channel": "C0SOCIAL01"},
    "message.channels": {"type": "message", "user": "U0ADA00001", "text": "hi", "channel": "C0SOCIAL01"},
    "message.groups": {
        "type": "message",
        "user": "U0ADA00001",
        "text": "hi",
        "channel": "G0PRIVATE1",
        "channel_type": "group",
    },
    "reaction_added": {
        "type": "reaction_added",
        "user": "U0ADA00001",
        "reaction": "speech_balloon",
        "item": {"type": "message", "channel": "C0SOCIAL01", "ts": "1700000000.000100"},
    },
    "reaction_removed": {
        "type": "reaction_removed",
        "user": "U0ADA00001",
        "reaction": "speech_balloon",
        "item": {"type": "message", "channel": "C0SOCIAL01", "ts": "1700000000.000100"},
    },
    "tokens_revoked": {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": [BOT_USER]}},
}


def test_every_manifest_event_reaches_a_listener(app: App) -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    declared = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert sorted(declared) == sorted(EVENTS)
    for name in declared:
        body = json.dumps(event_callback(EVENTS[name], team_id=TEAM, event_id=f"Ev{name}"))
        response = app.dispatch(signed_request(body, secret=SECRET))
        assert response.status == 200, (name, response.body)


def test_the_command_and_the_shortcut_reach_their_listeners(app: App) -> None:
    command = app.dispatch(
        signed_request(urllib.parse.urlencode(slash_command("help")), secret=SECRET, content_type=FORM)
    )
    assert command.status == 200
    assert json.loads(command.body)["text"].startswith("twoway commands")

    payload = urllib.parse.urlencode({"payload": json.dumps(message_shortcut("flag_unanswered_comment"))})
    assert app.dispatch(signed_request(payload, secret=SECRET, content_type=FORM)).status == 200


def test_a_replayed_request_is_refused(app: App, sessions: sessionmaker[Session]) -> None:
    shared = {**EVENTS["message.channels"], "text": "<https://x.com/acme/status/1790000000000000009>"}
    body = json.dumps(event_callback(shared, team_id=TEAM, event_id="EvREPLAY"))
    request = signed_request(body, secret=SECRET)
    assert app.dispatch(request).status == 200
    replay = BoltRequest(body=body, headers={k: list(v) for k, v in request.headers.items()})
    assert app.dispatch(replay).status == 401
    eventually(lambda: settled_events(sessions, TEAM, expected=1), what="the event handled once")


def test_chatter_and_its_replay_are_acknowledged_and_record_nothing(
    app: App, sessions: sessionmaker[Session]
) -> None:
    # "hi" can't change the ledger (bot/relevance.py): no signature is remembered, so its replay is
    # acknowledged too, and reaches no listener either.
    body = json.dumps(event_callback(EVENTS["message.channels"], team_id=TEAM, event_id="EvCHATTER"))
    request = signed_request(body, secret=SECRET)
    replay = BoltRequest(body=body, headers={k: list(v) for k, v in request.headers.items()})
    assert [app.dispatch(request).status, app.dispatch(replay).status] == [200, 200]
    with sessions.begin() as s:
        assert sum(count_rows(s, TEAM).values()) == 0
        assert s.scalar(select(func.count()).select_from(SeenRequest)) == 0


def test_bad_signatures_are_refused_before_any_listener(app: App, sessions: sessionmaker[Session]) -> None:
    body = json.dumps(event_callback(EVENTS["message.channels"], team_id=TEAM, event_id="Ev1"))
    assert app.dispatch(signed_request(body, secret="wrong")).status == 401
    assert app.dispatch(signed_request(body, secret=SECRET, age=301)).status == 401
    with sessions.begin() as s:
        assert sum(count_rows(s, TEAM).values()) == 0


@pytest.mark.parametrize("missing", ["team_id", "event_id"])
def test_an_event_that_names_no_workspace_or_event_id_is_refused_and_recorded_nowhere(
    app: App, emulator: Emulator, sessions: sessionmaker[Session], missing: str
) -> None:
    # Slack names both in every delivery; without them there is nothing to claim, so nothing runs.
    body = event_callback(EVENTS["member_joined_channel"], team_id=TEAM, event_id="EvNAMELESS")
    del body[missing]
    assert app.dispatch(signed_request(json.dumps(body), secret=SECRET)).status == 400
    with sessions.begin() as s:
        assert sum(count_rows(s, TEAM).values()) == 0
    assert [c for c in _calls(emulator) if c["method"] == "chat.postMessage"] == []


def test_a_redelivered_event_is_handled_once(
    app: App, emulator: Emulator, sessions: sessionmaker[Session]
) -> None:
    # twoway joining a channel says hello once; a second hello would show the redelivery was handled.
    body = json.dumps(event_callback(EVENTS["member_joined_channel"], team_id=TEAM, event_id="EvJOINED"))
    # Slack signs each redelivery anew, with its own timestamp (ten seconds apart here, so that a
    # second ticking over between two signings can't make two of them the same).
    for age in (20, 10, 0):
        assert app.dispatch(signed_request(body, secret=SECRET, age=age)).status == 200
    # All three are acknowledged, so any of them handled has its claim: once that settles, every
    # hello the deliveries would ever post is posted. A redelivery taken over would count an attempt.
    [event] = eventually(lambda: settled_events(sessions, TEAM, expected=1), what="the event handled")
    assert (event.event_id, event.state, event.attempts) == ("EvJOINED", "done", 1)
    posts = [c for c in _calls(emulator) if c["method"] == "chat.postMessage"]
    assert [p["ok"] for p in posts] == [True]


def test_joining_a_channel_starts_its_ledger_with_the_default_time_zone(
    app: App, sessions: sessionmaker[Session], emulator: Emulator
) -> None:
    body = json.dumps(event_callback(EVENTS["member_joined_channel"], team_id=TEAM, event_id="EvJOIN"))
    assert app.dispatch(signed_request(body, secret=SECRET)).status == 200
    eventually(lambda: settled_events(sessions, TEAM, expected=1), what="the event handled")
    with sessions.begin() as s:
        channel = get_channel(s, TEAM, "C0SOCIAL01")
    assert channel is not None
    assert channel.timezone == "Europe/Paris"
    with sessions.begin() as s:
        assert get_channel(s, "T0OTHER001", "C0SOCIAL01") is None


def _calls(emulator: Emulator) -> list[dict[str, Any]]:
    with urllib.request.urlopen(emulator.base_url + "/_emulator/calls", timeout=5) as response:
        calls: list[dict[str, Any]] = json.loads(response.read())
    return calls


def test_empty_client_credentials_in_the_environment_leave_one_workspace_mode_alone(
    emulator: Emulator, sessions: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A .env copied from the template has them, empty; Bolt would otherwise switch to its own OAuth.
    monkeypatch.setenv("SLACK_CLIENT_ID", "")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", " ")
    app = wiring_app(emulator, sessions, timezone="UTC")
    assert app.oauth_flow is None
    assert app.installation_store is None
    body = json.dumps(event_callback(EVENTS["member_joined_channel"], team_id=TEAM, event_id="EvENV"))
    assert app.dispatch(signed_request(body, secret=SECRET)).status == 200
    eventually(
        lambda: [c for c in _calls(emulator) if c["method"] == "chat.postMessage"], what="the event handled"
    )
