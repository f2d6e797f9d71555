"""Finding a member by a typed name, against the emulator's users.list and the repository's manifest."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.people import PAGE_SIZE, TTL_SECONDS, Ambiguous, Found, People, Unknown
from emulator import Emulator, EmulatorSettings
from emulator.app_manifest import AppManifest
from tests.support.emulator import post

TEAM = "T0TWOWAY1"
ADA = "U0ADA00001"


class Ticks:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.at = 1000.0

    def __call__(self) -> float:
        return self.at


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorSettings()) as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> WebClient:
    return WebClient(token="xoxb-test", base_url=emu.api_url)


def _add(emu: Emulator, user_id: str, name: str, **extra: object) -> None:
    post(emu, "/_emulator/user", {"team": TEAM, "id": user_id, "name": name, **extra})


@pytest.mark.parametrize("typed", ["ada", "@ada", "ADA", "Ada Lovelace", "ada  lovelace", "Countess"])
def test_a_member_is_found_by_username_display_name_or_real_name(
    emu: Emulator, client: WebClient, typed: str
) -> None:
    _add(emu, "U0COUNT001", "lovelace.a", real_name="Augusta Ada King", display_name="Countess")
    expected = "U0COUNT001" if typed == "Countess" else ADA
    assert People().find(client, TEAM, typed) == Found(expected)


def test_two_members_going_by_the_name_are_ambiguous(emu: Emulator, client: WebClient) -> None:
    _add(emu, "U0ADA00002", "ada.b", real_name="Ada Byron", display_name="Ada")
    assert People().find(client, TEAM, "ada") == Ambiguous((ADA, "U0ADA00002"))
    # The full real name still tells them apart.
    assert People().find(client, TEAM, "ada byron") == Found("U0ADA00002")


def test_an_unknown_name_is_unknown(client: WebClient) -> None:
    assert People().find(client, TEAM, "nobody") == Unknown()
    assert People().find(client, TEAM, "ada lovelace x") == Unknown()


def test_deactivated_members_and_bots_are_never_found(emu: Emulator, client: WebClient) -> None:
    _add(emu, "U0GONE0001", "zed", deleted=True)
    _add(emu, "U0HELPER01", "helper", is_bot=True)
    _add(emu, "U0ADA00003", "ada.old", display_name="ada", deleted=True)
    listed = {m["id"]: m for m in client.users_list()["members"]}
    assert listed["U0GONE0001"]["deleted"] is True
    assert listed["U0HELPER01"]["is_bot"] is True

    people = People()
    assert people.find(client, TEAM, "zed") == Unknown()
    assert people.find(client, TEAM, "helper") == Unknown()
    assert people.find(client, TEAM, "twoway") == Unknown()  # the app's own bot user
    assert people.find(client, TEAM, "ada") == Found(ADA)


def test_every_page_of_the_list_is_read(emu: Emulator, client: WebClient) -> None:
    for n in range(PAGE_SIZE + 5):
        _add(emu, f"U1{n:08d}", f"member{n}")
    _add(emu, "U9LAST0001", "zoe")  # sorts last: on the second page
    emu.state.call_log.clear()

    assert People().find(client, TEAM, "zoe") == Found("U9LAST0001")
    calls = emu.calls("users.list")
    assert [c["args"].get("limit") for c in calls] == [str(PAGE_SIZE), str(PAGE_SIZE)]
    assert "cursor" not in calls[0]["args"]
    assert calls[1]["args"]["cursor"]


def test_the_list_is_kept_until_its_ttl_runs_out(emu: Emulator, client: WebClient) -> None:
    ticks = Ticks()
    people = People(now=ticks)
    assert people.find(client, TEAM, "ada") == Found(ADA)
    _add(emu, "U0NEW00001", "newcomer")
    ticks.at += TTL_SECONDS - 1
    assert people.find(client, TEAM, "grace") == Found("U0GRACE001")
    assert people.find(client, TEAM, "newcomer") == Unknown()  # not listed again yet
    assert len(emu.calls("users.list")) == 1

    ticks.at += 1
    assert people.find(client, TEAM, "newcomer") == Found("U0NEW00001")
    assert len(emu.calls("users.list")) == 2


def test_each_workspace_has_its_own_list(emu: Emulator, client: WebClient) -> None:
    post(emu, "/_emulator/team", {"id": "T0OTHER001", "domain": "other"})
    post(emu, "/_emulator/token", {"token": "xoxb-other", "team": "T0OTHER001"})
    _add(emu, "U0OTHADA01", "ada", team="T0OTHER001")
    other = WebClient(token="xoxb-other", base_url=emu.api_url)
    people = People()
    assert people.find(client, TEAM, "ada") == Found(ADA)
    assert people.find(other, "T0OTHER001", "ada") == Found("U0OTHADA01")
    assert len(emu.calls("users.list")) == 2


def test_without_users_read_the_lookup_raises_and_keeps_nothing() -> None:
    scopes = AppManifest.default().bot_scopes or frozenset()
    with Emulator(EmulatorSettings(manifest=AppManifest(bot_scopes=scopes - {"users:read"}))) as emu:
        client = WebClient(token="xoxb-test", base_url=emu.api_url)
        people = People()
        with pytest.raises(SlackApiError) as raised:
            people.find(client, TEAM, "ada")
        assert raised.value.response["error"] == "missing_scope"
        assert raised.value.response["needed"] == "users:read"
        with pytest.raises(SlackApiError):
            people.find(client, TEAM, "ada")
        assert len(emu.calls("users.list")) == 2


def test_a_burst_of_lookups_at_once_lists_the_members_once(client: WebClient, emu: Emulator) -> None:
    people = People()
    with ThreadPoolExecutor(max_workers=8) as pool:
        found = list(pool.map(lambda _: people.find(client, TEAM, "@Ada"), range(16)))
    assert found == [Found(ADA)] * 16
    assert len(emu.calls("users.list")) == 1


def test_names_are_the_ones_slack_shows_for_active_members_only(emu: Emulator, client: WebClient) -> None:
    _add(emu, "U0COUNT001", "lovelace.a", real_name="Augusta Ada King", display_name="Countess")
    _add(emu, "U0PERF0001", "perf", real_name="Perf Nerd", display_name="perf_nerd")
    _add(emu, "U0GONE0001", "gone", real_name="Gone Away", deleted=True)
    people = People()
    names = people.names(client, TEAM, ["U0COUNT001", "U0PERF0001", "U0GONE0001", "U0NOBODY01"])
    assert names == {"U0COUNT001": "Countess", "U0PERF0001": "perf_nerd"}
    assert people.names(client, TEAM, []) == {}
