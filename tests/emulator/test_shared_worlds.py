"""Worlds with more than one workspace in a channel or an org: Slack Connect and Enterprise Grid.

What Slack does there, and where it says so:
- an event in a channel two installations can see is delivered once, with `authorizations` naming at
  most one of them (docs.slack.dev/changelog/2020-09-15-events-api-truncate-authed-users;
  apps.event.authorizations.list lists the rest), and `is_ext_shared_channel` set;
- Bolt takes the workspace from `authorizations[0]`, not from the envelope's `team_id`, which is not the
  installation's (slackapi/bolt-python#152, slackapi/java-slack-sdk#629; slack_bolt/request/internals.py
  `extract_team_id`);
- a shared channel keeps one id in every workspace it is in, with `is_shared`, `is_ext_shared` (between
  organizations) or `is_org_shared` (within one), and `shared_team_ids`;
- in Enterprise Grid, events carry `enterprise_id`, commands `enterprise_id`, interactions an
  `enterprise` object and a `team` with its org, and oauth.v2.access the `enterprise` installed in.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient

from emulator import DEFAULT_TEAM_ID, SOCIAL_CHANNEL_ID, Emulator, EmulatorSettings, payloads
from tests.emulator.conftest import EVERY_SCOPE
from tests.emulator.test_oauth import CLIENT_ID, CLIENT_SECRET, authorize, exchange
from tests.support.emulator import get, http, post

HOST, GUEST = DEFAULT_TEAM_ID, "T0GUEST001"
ADA, GUS = "U0ADA00001", "U0GUS00001"
ORG, NORTH, SOUTH = "E0ACME0001", "T0NORTH001", "T0SOUTH001"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    settings = EmulatorSettings(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, manifest=EVERY_SCOPE)
    with Emulator(settings) as emulator:
        yield emulator


def install(emu: Emulator, team: str) -> dict[str, Any]:
    """oauth.v2.access's answer for an install in ``team``, through the authorize page."""
    _, query, _ = authorize(emu, team=team)
    answer = exchange(emu, query["code"])
    assert answer["ok"], answer
    return answer


def token(emu: Emulator, team: str) -> str:
    return str(install(emu, team)["access_token"])


def events(emu: Emulator) -> list[dict[str, Any]]:
    listed: list[dict[str, Any]] = get(emu, "/_emulator/events")
    return [e["payload"] for e in listed]


@pytest.fixture
def connected(emu: Emulator) -> Emulator:
    """#social of the default workspace shared over Slack Connect with a second, unrelated one."""
    post(emu, "/_emulator/team", {"id": GUEST, "domain": "guest"})
    shared = post(emu, "/_emulator/share", {"team": HOST, "channel": SOCIAL_CHANNEL_ID, "with": GUEST})
    assert shared["channel"]["shared_team_ids"] == [HOST, GUEST]
    return emu


def test_a_shared_channel_is_one_channel_with_one_id_in_both_workspaces(connected: Emulator) -> None:
    host = WebClient(token(connected, HOST), base_url=connected.api_url)
    guest = WebClient(token(connected, GUEST), base_url=connected.api_url)
    seen = {c: c.conversations_info(channel=SOCIAL_CHANNEL_ID)["channel"] for c in (host, guest)}
    for info in seen.values():
        assert (info["is_shared"], info["is_ext_shared"], info["is_org_shared"]) == (True, True, False)
        assert info["shared_team_ids"] == [HOST, GUEST]
        assert info["conversation_host_id"] == HOST
        assert info["is_member"] is True
    assert (seen[host]["context_team_id"], seen[guest]["context_team_id"]) == (HOST, GUEST)

    # Someone of the guest workspace writes; the host's bot reads it in the same channel.
    post(
        connected,
        "/_emulator/message",
        {"team": GUEST, "channel": SOCIAL_CHANNEL_ID, "user": GUS, "text": "hi"},
    )
    said = host.conversations_history(channel=SOCIAL_CHANNEL_ID)["messages"]
    assert [(m["text"], m["user"], m["team"]) for m in said] == [("hi", GUS, GUEST)]
    # And each bot posts as itself.
    guest.chat_postMessage(channel=SOCIAL_CHANNEL_ID, text="from the guest's bot")
    assert host.conversations_history(channel=SOCIAL_CHANNEL_ID)["messages"][0]["bot_id"] == "B0GUEST001"


def test_an_event_in_a_shared_channel_is_delivered_once_naming_one_installation(connected: Emulator) -> None:
    for team, user in ((HOST, ADA), (GUEST, GUS)):
        post(
            connected,
            "/_emulator/message",
            {"team": team, "channel": SOCIAL_CHANNEL_ID, "user": user, "text": "x"},
        )
    # The control body picks the installation, which need not be the acting person's.
    post(
        connected,
        "/_emulator/message",
        {"team": GUEST, "channel": SOCIAL_CHANNEL_ID, "user": GUS, "text": "y", "authorized": HOST},
    )
    sent = events(connected)
    assert len(sent) == 3
    for payload in sent:
        assert payload["is_ext_shared_channel"] is True
        assert len(payload["authorizations"]) == 1
    assert [(p["team_id"], p["authorizations"][0]["team_id"]) for p in sent] == [
        (HOST, HOST),
        (GUEST, GUEST),
        (GUEST, HOST),
    ]
    assert sent[1]["authorizations"][0]["user_id"] == "U0GUEST001BOT"


def test_an_authorization_must_be_an_installation_in_the_channel(connected: Emulator) -> None:
    post(connected, "/_emulator/team", {"id": "T0ELSEWHER", "domain": "elsewhere"})
    status, answer = http(
        connected,
        "POST",
        "/_emulator/message",
        {"team": GUEST, "channel": SOCIAL_CHANNEL_ID, "user": GUS, "text": "z", "authorized": "T0ELSEWHER"},
    )
    assert (status, answer["error"]) == (400, "authorized_team_not_in_channel")


def test_when_only_one_side_has_the_bot_that_side_is_authorized(emu: Emulator) -> None:
    post(emu, "/_emulator/team", {"id": GUEST, "domain": "guest"})
    post(
        emu,
        "/_emulator/share",
        {"team": HOST, "channel": SOCIAL_CHANNEL_ID, "with": GUEST, "bot_member": False},
    )
    post(emu, "/_emulator/message", {"team": GUEST, "channel": SOCIAL_CHANNEL_ID, "user": GUS, "text": "x"})
    [payload] = events(emu)
    assert (payload["team_id"], payload["authorizations"][0]["team_id"]) == (GUEST, HOST)


@pytest.fixture
def grid(emu: Emulator) -> Emulator:
    """Two workspaces of one Enterprise Grid org, North hosting #launch and sharing it with South."""
    for team in (NORTH, SOUTH):
        post(
            emu,
            "/_emulator/team",
            {"id": team, "domain": team.lower(), "enterprise_id": ORG, "enterprise_name": "Acme"},
        )
    post(
        emu,
        "/_emulator/channel",
        {"team": NORTH, "id": "C0LAUNCH01", "name": "launch", "members": ["W0ADA00001"]},
    )
    post(emu, "/_emulator/share", {"team": NORTH, "channel": "C0LAUNCH01", "with": SOUTH})
    return emu


def test_grid_installs_events_and_commands_carry_the_enterprise(grid: Emulator) -> None:
    answer = install(grid, SOUTH)
    assert answer["enterprise"] == {"id": ORG, "name": "Acme"}
    assert (answer["team"]["id"], answer["is_enterprise_install"]) == (SOUTH, False)
    south = WebClient(answer["access_token"], base_url=grid.api_url)
    tested = south.auth_test()
    assert (tested["team_id"], tested["enterprise_id"], tested["is_enterprise_install"]) == (
        SOUTH,
        ORG,
        False,
    )
    assert south.team_info()["team"]["enterprise_id"] == ORG

    # A channel shared inside one org is org-shared, not Slack Connect.
    info = south.conversations_info(channel="C0LAUNCH01")["channel"]
    assert (info["is_shared"], info["is_ext_shared"], info["is_org_shared"]) == (True, False, True)

    post(
        grid,
        "/_emulator/message",
        {"team": SOUTH, "channel": "C0LAUNCH01", "user": "W0SAM00001", "text": "x"},
    )
    [payload] = events(grid)
    assert (payload["enterprise_id"], payload["context_enterprise_id"]) == (ORG, ORG)
    assert payload["authorizations"][0]["enterprise_id"] == ORG
    assert payload["is_ext_shared_channel"] is False
    assert payload["event"]["user"] == "W0SAM00001"

    # Commands and clicks carry the acting person's workspace and its org.
    team = grid.state.team(SOUTH)
    channel = grid.state.channel(team, "C0LAUNCH01")
    sam = grid.state.ensure_user(team, "W0SAM00001")
    form = payloads.slash_command(team, "A1", channel, sam, "/twoway", "help", "https://r", "t")
    assert (form["team_id"], form["enterprise_id"], form["enterprise_name"]) == (SOUTH, ORG, "Acme")
    message = {"ts": "1.000001", "text": "x"}
    click = payloads.block_actions(
        team, "A1", channel, sam, message, "b", {"action_id": "a"}, None, "1.1", "u", "t"
    )
    assert click["enterprise"] == {"id": ORG, "name": "Acme"}
    assert click["team"] == {
        "id": SOUTH,
        "domain": "t0south001",
        "enterprise_id": ORG,
        "enterprise_name": "Acme",
    }
    assert click["user"]["team_id"] == SOUTH


def test_a_workspace_outside_grid_carries_no_enterprise(emu: Emulator) -> None:
    answer = install(emu, HOST)
    assert answer["enterprise"] is None
    assert "enterprise_id" not in WebClient(answer["access_token"], base_url=emu.api_url).auth_test().data
    post(emu, "/_emulator/message", {"team": HOST, "channel": SOCIAL_CHANNEL_ID, "user": ADA, "text": "x"})
    [payload] = events(emu)
    assert "enterprise_id" not in payload
    assert payload["authorizations"][0]["enterprise_id"] is None


def test_an_enterprise_id_is_an_e_id(emu: Emulator) -> None:
    status, answer = http(
        emu, "POST", "/_emulator/team", {"id": "T0BAD00001", "domain": "bad", "enterprise_id": "T123"}
    )
    assert (status, answer["error"]) == (400, "invalid_enterprise_id")
