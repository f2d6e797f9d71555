"""The emulator's install flow: the authorize page approves at once, and oauth.v2.access trades its code."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from emulator import DEFAULT_TEAM_ID, Emulator, EmulatorSettings
from tests.support.emulator import get, post

CLIENT_ID = "111.222"
CLIENT_SECRET = "oauth-test-client-secret"
REDIRECT = "http://127.0.0.1:3000/slack/oauth_redirect"
OTHER_TEAM = "T0OTHER001"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorSettings(client_id=CLIENT_ID, client_secret=CLIENT_SECRET)) as emulator:
        yield emulator


def authorize(emu: Emulator, **query: str) -> tuple[int, dict[str, str], Any]:
    """(status, Location's query, JSON body) of one authorize request, its redirect not followed."""
    params = {
        "client_id": CLIENT_ID,
        "scope": "chat:write,commands",
        "state": "st-1",
        "redirect_uri": REDIRECT,
    }
    params.update(query)
    parts = urlsplit(emu.base_url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=10)
    try:
        connection.request("GET", "/oauth/v2/authorize?" + urlencode({k: v for k, v in params.items() if v}))
        response = connection.getresponse()
        body = response.read()
        location = response.getheader("Location") or ""
    finally:
        connection.close()
    if location:
        assert location.startswith(REDIRECT + "?"), location
    found = {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}
    return response.status, found, json.loads(body) if body else None


def api(emu: Emulator) -> WebClient:
    return WebClient(base_url=emu.api_url)


def exchange(emu: Emulator, code: str, secret: str = CLIENT_SECRET, **extra: Any) -> dict[str, Any]:
    try:
        answer = api(emu).oauth_v2_access(client_id=CLIENT_ID, client_secret=secret, code=code, **extra)
    except SlackApiError as error:
        return dict(error.response.data)
    return dict(answer.data)  # type: ignore[arg-type]


def test_authorize_redirects_at_once_with_a_code_and_the_state(emu: Emulator) -> None:
    status, query, _ = authorize(emu)
    assert status == 302
    assert query["state"] == "st-1"
    assert query["code"]


def test_a_code_is_traded_once_for_a_bot_token_of_the_default_team(emu: Emulator) -> None:
    _, query, _ = authorize(emu, user="U0GRACE001")
    answer = exchange(emu, query["code"], redirect_uri=REDIRECT)
    assert answer["ok"] is True
    assert answer["access_token"].startswith("xoxb-")
    assert {k: v for k, v in answer.items() if k != "access_token"} == {
        "ok": True,
        "token_type": "bot",
        "scope": "chat:write,commands",
        "bot_user_id": "U0TWOWAYBOT",
        "app_id": "A0TWOWAY1",
        "team": {"id": DEFAULT_TEAM_ID, "name": "twoway demo"},
        "enterprise": None,
        "authed_user": {"id": "U0GRACE001"},
        "is_enterprise_install": False,
    }
    assert exchange(emu, query["code"]) == {"ok": False, "error": "invalid_code"}


def test_the_new_token_acts_in_the_team_it_was_installed_in(emu: Emulator) -> None:
    post(emu, "/_emulator/team", {"id": OTHER_TEAM, "domain": "other"})
    _, query, _ = authorize(emu, team=OTHER_TEAM)
    answer = exchange(emu, query["code"])
    assert answer["team"] == {"id": OTHER_TEAM, "name": "other"}
    assert answer["bot_user_id"] == "U0OTHER001BOT"

    me = WebClient(token=answer["access_token"], base_url=emu.api_url).auth_test()
    assert (me["team_id"], me["user_id"], me["bot_id"]) == (OTHER_TEAM, "U0OTHER001BOT", "B0OTHER001")
    assert [c["team"] for c in get(emu, "/_emulator/calls?method=auth.test")] == [OTHER_TEAM]


@pytest.mark.parametrize(
    ("code", "secret", "extra", "error"),
    [
        ("not-a-code", CLIENT_SECRET, {}, "invalid_code"),
        (None, "wrong-secret", {}, "bad_client_secret"),
        (None, CLIENT_SECRET, {"redirect_uri": "https://elsewhere.example/cb"}, "bad_redirect_uri"),
    ],
)
def test_a_bad_exchange_gets_slacks_error(
    emu: Emulator, code: str | None, secret: str, extra: dict[str, str], error: str
) -> None:
    _, query, _ = authorize(emu)
    assert exchange(emu, code or query["code"], secret, **extra) == {"ok": False, "error": error}


def test_a_wrong_client_id_gets_invalid_client_id(emu: Emulator) -> None:
    _, query, _ = authorize(emu)
    with pytest.raises(SlackApiError) as refused:
        api(emu).oauth_v2_access(client_id="999.999", client_secret=CLIENT_SECRET, code=query["code"])
    assert refused.value.response["error"] == "invalid_client_id"


def test_the_exchange_is_logged_without_the_secret(emu: Emulator) -> None:
    _, query, _ = authorize(emu)
    exchange(emu, query["code"])
    exchange(emu, query["code"], "wrong-secret")
    calls = get(emu, "/_emulator/calls?method=oauth.v2.access")
    assert [(c["ok"], c["error"], c["team"]) for c in calls] == [
        (True, None, DEFAULT_TEAM_ID),
        (False, "bad_client_secret", None),
    ]
    assert CLIENT_SECRET not in json.dumps(calls)
    assert calls[0]["args"]["client_id"] == CLIENT_ID


def test_cancel_redirects_with_access_denied(emu: Emulator) -> None:
    status, query, _ = authorize(emu, deny="true")
    assert status == 302
    assert query == {"error": "access_denied", "state": "st-1"}


@pytest.mark.parametrize(
    ("query", "status", "error"),
    [
        ({"client_id": "999.999"}, 400, "invalid_client_id"),
        ({"redirect_uri": ""}, 400, "missing_redirect_uri"),
        ({"team": "T0NOWHERE1"}, 404, "team_not_found"),
    ],
)
def test_authorize_refuses_what_slack_would_not_show(
    emu: Emulator, query: dict[str, str], status: int, error: str
) -> None:
    answered, location, body = authorize(emu, **query)
    assert (answered, location, body) == (status, {}, {"ok": False, "error": error})
