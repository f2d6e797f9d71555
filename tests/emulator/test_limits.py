"""Slack's rate limits in the emulator: token buckets per workspace and method, and per channel for posts."""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler

from emulator import Emulator, EmulatorSettings, Limit, RateLimiter, RateLimits
from emulator.rate_limits import TIER_2, TIER_3, TIER_4, LimitsError
from tests.support.emulator import get, http, post

TEAM = "T0TWOWAY1"
OTHER_TEAM = "T0OTHER001"
SOCIAL = "C0SOCIAL01"
GENERAL = "C0GENERAL1"


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def limiter(clock: FakeClock, **workspace: Limit) -> RateLimiter:
    return RateLimiter(RateLimits(per_channel=Limit(60, 2), per_workspace=workspace), clock=clock)


def test_a_workspace_bucket_allows_its_burst_then_refuses_until_it_refills() -> None:
    clock = FakeClock()
    limits = limiter(clock, **{"files.getUploadURLExternal": Limit(per_minute=120, burst=3)})

    assert [limits.admit(TEAM, "files.getUploadURLExternal") for _ in range(4)] == [None, None, None, 1]
    clock.now += 0.5  # two a second: one call back
    assert limits.admit(TEAM, "files.getUploadURLExternal") is None
    assert limits.admit(TEAM, "files.getUploadURLExternal") == 1
    clock.now += 10  # never more than the burst saved up
    assert [limits.admit(TEAM, "files.getUploadURLExternal") for _ in range(4)] == [None, None, None, 1]
    assert limits.refused == {"files.getUploadURLExternal": 3}


def test_retry_after_is_the_wait_in_whole_seconds_rounded_up() -> None:
    clock = FakeClock()
    limits = limiter(clock, **{"conversations.history": Limit(per_minute=20, burst=1)})

    assert limits.admit(TEAM, "conversations.history") is None
    assert limits.admit(TEAM, "conversations.history") == 3
    clock.now += 2.5
    assert limits.admit(TEAM, "conversations.history") == 1
    clock.now += 0.5
    assert limits.admit(TEAM, "conversations.history") is None


def test_workspaces_and_methods_have_buckets_of_their_own() -> None:
    clock = FakeClock()
    limits = limiter(clock, **{"views.publish": Limit(60, 1), "reactions.add": Limit(60, 1)})

    assert limits.admit(TEAM, "views.publish") is None
    assert limits.admit(TEAM, "reactions.add") is None
    assert limits.admit(OTHER_TEAM, "views.publish") is None
    assert limits.admit(TEAM, "views.publish") == 1
    assert limits.admit(TEAM, "users.info") is None  # not limited at all


def test_posts_count_against_their_channel_and_the_workspace() -> None:
    clock = FakeClock()
    limits = limiter(clock, **{"chat.postMessage": Limit(per_minute=240, burst=3)})

    assert limits.admit(TEAM, "chat.postMessage", SOCIAL) is None
    assert limits.admit(TEAM, "chat.postMessage", SOCIAL) is None
    # The channel's burst of 2 is spent; the refused post takes nothing from the workspace's bucket.
    assert limits.admit(TEAM, "chat.postMessage", SOCIAL) == 1
    assert limits.admit(TEAM, "chat.postMessage", GENERAL) is None
    # Now the workspace's burst of 3 is spent, whichever channel asks.
    assert limits.admit(TEAM, "chat.postMessage", "C0THIRD001") == 1
    clock.now += 0.25
    assert limits.admit(TEAM, "chat.postMessage", "C0THIRD001") is None
    assert limits.refused == {"chat.postMessage": 2}


def test_the_floor_of_a_limit_is_the_calls_beyond_its_burst_at_its_rate() -> None:
    assert Limit(per_minute=300, burst=30).floor_seconds(1000) == pytest.approx(194.0)
    assert Limit(per_minute=100, burst=10).floor_seconds(10) == 0


def test_limits_from_json_change_only_what_is_given() -> None:
    limits = RateLimits.from_json(
        {
            "per_channel": {"burst": 1},
            "per_workspace": {"chat.postMessage": {"per_minute": 600}, "files.completeUploadExternal": None},
        }
    )

    assert limits.per_channel == Limit(60, 1)
    assert limits.per_workspace["chat.postMessage"] == Limit(600, 30)
    assert limits.per_workspace["files.getUploadURLExternal"] == Limit(100, 10)
    assert "files.completeUploadExternal" not in limits.per_workspace
    assert RateLimits.from_json(RateLimits().to_json()) == RateLimits()


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"per_channel": {"per_minute": 0}}, "invalid_per_minute"),
        ({"per_channel": {"burst": 0}}, "invalid_burst"),
        ({"per_channel": "fast"}, "invalid_limit"),
        ({"per_workspace": {"chat.postMessage": {"per_minute": "x"}}}, "invalid_limit"),
        ({"per_workspace": []}, "invalid_per_workspace"),
    ],
)
def test_limits_that_make_no_sense_are_refused(body: dict[str, object], error: str) -> None:
    with pytest.raises(LimitsError) as raised:
        RateLimits.from_json(body)
    assert raised.value.error == error


# ---- over HTTP --------------------------------------------------------------------------------


def test_limits_are_off_by_default(emu: Emulator, client: WebClient) -> None:
    for i in range(10):
        assert client.chat_postMessage(channel=SOCIAL, text=f"post {i}")["ok"]
    assert get(emu, "/_emulator/limits") == {
        "ok": True,
        "enabled": False,
        "limits": None,
        "ratelimited": {},
        "total": 0,
    }


def test_a_post_over_the_limit_gets_slacks_429(emu: Emulator, client: WebClient) -> None:
    answer = post(emu, "/_emulator/limits", {"per_channel": {"per_minute": 6, "burst": 1}})
    assert answer["enabled"]
    assert answer["limits"]["per_workspace"]["chat.postMessage"] == {"per_minute": 300, "burst": 30}

    assert client.chat_postMessage(channel=SOCIAL, text="first")["ok"]
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel="#social", text="too soon")
    response = raised.value.response
    assert (response.status_code, response["error"]) == (429, "ratelimited")
    assert response.headers["Retry-After"] == "10"
    # Another channel has a bucket of its own.
    post(emu, "/_emulator/channel", {"id": "C0OTHER001", "name": "other"})
    assert client.chat_postMessage(channel="C0OTHER001", text="elsewhere")["ok"]

    calls = get(emu, "/_emulator/calls?method=chat.postMessage")
    assert [(c["status"], c["error"]) for c in calls] == [(200, None), (429, "ratelimited"), (200, None)]
    assert get(emu, "/_emulator/limits")["ratelimited"] == {"chat.postMessage": 1}
    assert [m["text"] for m in get(emu, f"/_emulator/messages?channel={SOCIAL}")] == ["first"]


def test_deleting_the_limits_answers_what_was_refused_and_lifts_them(
    emu: Emulator, client: WebClient
) -> None:
    post(emu, "/_emulator/limits", {"per_workspace": {"auth.test": {"per_minute": 1, "burst": 1}}})
    assert client.auth_test()["ok"]
    with pytest.raises(SlackApiError):
        client.auth_test()

    status, answer = http(emu, "DELETE", "/_emulator/limits")

    assert status == 200
    assert (answer["enabled"], answer["ratelimited"], answer["total"]) == (False, {"auth.test": 1}, 1)
    assert client.auth_test()["ok"]
    assert get(emu, "/_emulator/limits")["enabled"] is False


def test_bad_limits_are_a_400(emu: Emulator) -> None:
    status, answer = http(emu, "POST", "/_emulator/limits", {"per_channel": {"burst": -1}})
    assert (status, answer) == (400, {"ok": False, "error": "invalid_burst"})
    assert get(emu, "/_emulator/limits")["enabled"] is False


def test_slack_sdk_waits_out_retry_after_and_gets_through() -> None:
    limits = RateLimits(per_workspace={"chat.postMessage": Limit(per_minute=120, burst=1)})
    with Emulator(EmulatorSettings(rate_limits=limits)) as emu:
        client = WebClient(
            token="xoxb-test",
            base_url=emu.api_url,
            retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=2)],
        )
        started = time.monotonic()
        assert client.chat_postMessage(channel=SOCIAL, text="one")["ok"]
        assert client.chat_postMessage(channel=SOCIAL, text="two")["ok"]

        assert time.monotonic() - started >= 1  # Retry-After: 1, and slack_sdk waited it out
        assert get(emu, "/_emulator/limits")["ratelimited"] == {"chat.postMessage": 1}


def test_each_method_has_its_tier_when_the_limits_are_on() -> None:
    # docs.slack.dev/reference/methods/reactions.remove: Tier 2; reactions.add: Tier 3.
    limits = RateLimits()
    assert (limits.per_workspace["reactions.remove"], limits.per_workspace["reactions.add"]) == (
        TIER_2,
        TIER_3,
    )
    assert limits.per_workspace["views.publish"] == TIER_4
    with Emulator(EmulatorSettings(rate_limits=limits)) as emu:
        client = WebClient(token="xoxb-test", base_url=emu.api_url, retry_handlers=[])
        for _ in range(TIER_2.burst + 1):
            with contextlib.suppress(SlackApiError):
                client.reactions_remove(channel=SOCIAL, timestamp="1.000100", name="eyes")
        statuses = [c["status"] for c in get(emu, "/_emulator/calls?method=reactions.remove")]
        assert statuses == [200] * TIER_2.burst + [429]


@pytest.mark.parametrize("kind", ["internal", "marketplace"])
def test_internal_and_marketplace_apps_read_history_without_limits_unless_asked(kind: str) -> None:
    with Emulator(EmulatorSettings(app_kind=kind)) as emu:
        client = WebClient(token="xoxb-test", base_url=emu.api_url, retry_handlers=[])
        for n in range(20):
            client.chat_postMessage(channel=SOCIAL, text=f"m{n}")
        for _ in range(3):
            assert len(client.conversations_history(channel=SOCIAL, limit=100)["messages"]) == 20


def test_an_app_outside_the_marketplace_reads_history_once_a_minute_15_messages_at_most() -> None:
    # docs.slack.dev/reference/methods/conversations.history: "rate limited to 1 request per minute.
    # The maximum and default values for the limit parameter have both been reduced to 15 objects."
    with Emulator(EmulatorSettings(app_kind="non-marketplace")) as emu:
        client = WebClient(token="xoxb-test", base_url=emu.api_url, retry_handlers=[])
        parent = client.chat_postMessage(channel=SOCIAL, text="parent")["ts"]
        for n in range(40):
            client.chat_postMessage(channel=SOCIAL, text=f"m{n}", thread_ts=parent if n % 2 else None)

        page = client.conversations_history(channel=SOCIAL, limit=100)
        assert (len(page["messages"]), page["has_more"]) == (15, True)
        with pytest.raises(SlackApiError) as refused:
            client.conversations_history(channel=SOCIAL)
        assert refused.value.response.status_code == 429
        assert int(refused.value.response.headers["Retry-After"]) > 1
        # A method of its own: replies have their own minute, and their own 15.
        thread = client.conversations_replies(channel=SOCIAL, ts=parent, limit=100)
        assert (len(thread["messages"]), thread["has_more"]) == (15, True)
        with pytest.raises(SlackApiError):
            client.conversations_replies(channel=SOCIAL, ts=parent)
        # Other methods are not limited without the limits on.
        for _ in range(10):
            assert client.reactions_get(channel=SOCIAL, timestamp=parent)["ok"]
