"""The Web API side, driven by the real slack_sdk WebClient."""

from __future__ import annotations

import json
import urllib.request

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from emulator import Emulator
from tests.support.emulator import get, http, post

SOCIAL, GENERAL = "C0SOCIAL01", "C0GENERAL1"


def error_of(call: object) -> str:
    with pytest.raises(SlackApiError) as raised:
        call()  # type: ignore[operator]
    return str(raised.value.response["error"])


def test_auth_test_names_the_seeded_bot(client: WebClient) -> None:
    answer = client.auth_test()
    assert answer.data == {
        "ok": True,
        "url": "https://twoway-demo.slack.com/",
        "team": "twoway demo",
        "user": "twoway",
        "team_id": "T0TWOWAY1",
        "user_id": "U0TWOWAYBOT",
        "bot_id": "B0TWOWAY1",
        "is_enterprise_install": False,
    }


@pytest.mark.parametrize(
    ("token", "error"), [("xoxb-invalid", "invalid_auth"), ("xoxp-123", "invalid_auth"), ("", "not_authed")]
)
def test_bad_tokens_are_refused(emu: Emulator, token: str, error: str) -> None:
    assert error_of(WebClient(token=token or None, base_url=emu.api_url).auth_test) == error


def test_unknown_method_and_app_token_rules(emu: Emulator, client: WebClient) -> None:
    assert error_of(lambda: client.api_call("chat.doesNotExist")) == "unknown_method"
    assert error_of(lambda: client.apps_connections_open(app_token="xoxb-test")) == "not_allowed_token_type"
    assert error_of(lambda: WebClient(token="xapp-1-test", base_url=emu.api_url).users_list()) == (
        "not_allowed_token_type"
    )
    url = client.apps_connections_open(app_token="xapp-1-test")["url"]
    assert url.startswith(emu.base_url.replace("http", "ws") + "/socket-mode?ticket=")


def test_posted_messages_come_back_through_history_and_replies(client: WebClient) -> None:
    parent = client.chat_postMessage(
        channel=SOCIAL, text="Week digest", metadata={"event_type": "digest", "event_payload": {"week": 3}}
    )
    assert parent["channel"] == SOCIAL
    assert parent["message"]["text"] == "Week digest"
    reply = client.chat_postMessage(channel=SOCIAL, text="first reply", thread_ts=parent["ts"])
    nested = client.chat_postMessage(channel=SOCIAL, text="second reply", thread_ts=reply["ts"])
    assert float(parent["ts"]) < float(reply["ts"]) < float(nested["ts"])

    history = client.conversations_history(channel=SOCIAL)
    assert [m["text"] for m in history["messages"]] == ["Week digest"]
    top = history["messages"][0]
    assert top["reply_count"] == 2
    assert top["latest_reply"] == nested["ts"]
    assert "metadata" not in top
    with_metadata = client.conversations_history(channel=SOCIAL, include_all_metadata=True)
    assert with_metadata["messages"][0]["metadata"] == {"event_type": "digest", "event_payload": {"week": 3}}

    replies = client.conversations_replies(channel=SOCIAL, ts=parent["ts"])
    assert [m["text"] for m in replies["messages"]] == ["Week digest", "first reply", "second reply"]
    assert replies["messages"][2]["thread_ts"] == parent["ts"]
    assert error_of(lambda: client.conversations_replies(channel=SOCIAL, ts="1.000001")) == "thread_not_found"

    client.chat_postMessage(
        channel=SOCIAL, text="also in channel", thread_ts=parent["ts"], reply_broadcast=True
    )
    broadcast = client.conversations_history(channel=SOCIAL)["messages"][0]
    assert (broadcast["text"], broadcast["subtype"]) == ("also in channel", "thread_broadcast")


def test_history_pages_newest_first_with_cursors_and_bounds(client: WebClient) -> None:
    stamps = [client.chat_postMessage(channel=SOCIAL, text=f"m{i}")["ts"] for i in range(5)]
    first = client.conversations_history(channel=SOCIAL, limit=2)
    assert [m["text"] for m in first["messages"]] == ["m4", "m3"]
    assert first["has_more"]
    cursor = first["response_metadata"]["next_cursor"]
    second = client.conversations_history(channel=SOCIAL, limit=2, cursor=cursor)
    assert [m["text"] for m in second["messages"]] == ["m2", "m1"]
    bounded = client.conversations_history(channel=SOCIAL, oldest=stamps[1], latest=stamps[3])
    assert [m["text"] for m in bounded["messages"]] == ["m2"]
    inclusive = client.conversations_history(
        channel=SOCIAL, oldest=stamps[1], latest=stamps[3], inclusive=True
    )
    assert [m["text"] for m in inclusive["messages"]] == ["m3", "m2", "m1"]
    everything = [
        m["text"] for page in client.conversations_history(channel=SOCIAL, limit=2) for m in page["messages"]
    ]
    assert everything == ["m4", "m3", "m2", "m1", "m0"]


def test_channel_errors(client: WebClient) -> None:
    assert error_of(lambda: client.chat_postMessage(channel="C0NOPE0000", text="x")) == "channel_not_found"
    assert error_of(lambda: client.chat_postMessage(channel=GENERAL, text="x")) == "not_in_channel"
    assert error_of(lambda: client.conversations_history(channel=GENERAL)) == "not_in_channel"
    with pytest.warns(UserWarning, match="top-level `text`"):
        assert error_of(lambda: client.chat_postMessage(channel=SOCIAL)) == "no_text"
    assert client.conversations_info(channel=GENERAL)["channel"]["is_member"] is False
    assert client.conversations_info(channel=SOCIAL)["channel"]["is_member"] is True
    assert "U0ADA00001" in client.conversations_members(channel=GENERAL)["members"]
    assert client.chat_postMessage(channel="#social", text="by name")["channel"] == SOCIAL


def test_private_channels_the_bot_is_not_in_do_not_exist_for_it(emu: Emulator, client: WebClient) -> None:
    post(
        emu,
        "/_emulator/channel",
        {"id": "G0SECRET01", "name": "secret", "is_private": True, "bot_member": False},
    )
    assert error_of(lambda: client.conversations_info(channel="G0SECRET01")) == "channel_not_found"


def test_reactions_add_remove_get(client: WebClient) -> None:
    ts = client.chat_postMessage(channel=SOCIAL, text="https://x.com/twoway/status/1")["ts"]
    client.reactions_add(channel=SOCIAL, timestamp=ts, name="eyes")
    assert (
        error_of(lambda: client.reactions_add(channel=SOCIAL, timestamp=ts, name="eyes")) == "already_reacted"
    )
    got = client.reactions_get(channel=SOCIAL, timestamp=ts)
    assert got["message"]["reactions"] == [{"name": "eyes", "users": ["U0TWOWAYBOT"], "count": 1}]
    client.reactions_remove(channel=SOCIAL, timestamp=ts, name="eyes")
    assert (
        error_of(lambda: client.reactions_remove(channel=SOCIAL, timestamp=ts, name="eyes")) == "no_reaction"
    )
    assert "reactions" not in client.reactions_get(channel=SOCIAL, timestamp=ts)["message"]
    missing = lambda: client.reactions_add(channel=SOCIAL, timestamp="1.000001", name="eyes")  # noqa: E731
    assert error_of(missing) == "message_not_found"


def test_chat_update_delete_and_permalink(emu: Emulator, client: WebClient) -> None:
    ts = client.chat_postMessage(channel=SOCIAL, text="draft")["ts"]
    updated = client.chat_update(channel=SOCIAL, ts=ts, text="final", blocks=[{"type": "divider"}])
    assert updated["text"] == "final"
    assert updated["message"]["blocks"][0]["type"] == "divider"
    assert client.conversations_history(channel=SOCIAL)["messages"][0]["text"] == "final"
    assert "edited" not in updated["message"], "a message drawn by its blocks shows no edited flag"
    # Text without blocks takes the blocks away and shows the edit (docs.slack.dev chat.update).
    plain = client.chat_update(channel=SOCIAL, ts=ts, text="plain")["message"]
    assert not plain.get("blocks")
    assert "edited" in plain
    assert error_of(lambda: client.chat_update(channel=SOCIAL, ts=ts)) == "no_text"
    bad = [{"type": "section"}]
    assert (
        error_of(lambda: client.chat_update(channel=SOCIAL, ts=ts, text="x", blocks=bad)) == "invalid_blocks"
    )
    assert (
        error_of(lambda: client.chat_update(channel=SOCIAL, ts="1.000001", text="x")) == "message_not_found"
    )
    human_ts = post(emu, "/_emulator/message", {"channel": SOCIAL, "user": "U0ADA00001", "text": "mine"})[
        "ts"
    ]
    assert (
        error_of(lambda: client.chat_update(channel=SOCIAL, ts=human_ts, text="x")) == "cant_update_message"
    )
    link = client.chat_getPermalink(channel=SOCIAL, message_ts=ts)["permalink"]
    assert link == f"https://twoway-demo.slack.com/archives/{SOCIAL}/p{ts.replace('.', '')}"
    client.chat_delete(channel=SOCIAL, ts=ts)
    assert [m["ts"] for m in client.conversations_history(channel=SOCIAL)["messages"]] == [human_ts]


def test_ephemeral_and_direct_messages(client: WebClient) -> None:
    assert client.chat_postEphemeral(channel=SOCIAL, user="U0ADA00001", text="only you")["message_ts"]
    assert error_of(lambda: client.chat_postEphemeral(channel=SOCIAL, user="U0NOBODY01", text="x")) == (
        "user_not_in_channel"
    )
    dm = client.chat_postMessage(channel="U0GRACE001", text="Your comment is waiting")
    assert dm["channel"].startswith("D")
    assert client.conversations_open(users="U0GRACE001")["channel"]["id"] == dm["channel"]


def test_users_info(client: WebClient) -> None:
    ada = client.users_info(user="U0ADA00001")["user"]
    assert (ada["name"], ada["real_name"], ada["tz"], ada["is_bot"]) == (
        "ada",
        "Ada Lovelace",
        "Europe/London",
        False,
    )
    assert isinstance(ada["tz_offset"], int)
    assert client.users_info(user="U0TWOWAYBOT")["user"]["is_bot"] is True
    assert error_of(lambda: client.users_info(user="U0NOBODY01")) == "user_not_found"


def test_views_publish_and_open(emu: Emulator, client: WebClient) -> None:
    home = {"type": "home", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Your queue"}}]}
    view = client.views_publish(user_id="U0ADA00001", view=home)["view"]
    assert view["type"] == "home"
    assert view["id"].startswith("V")
    assert view["blocks"][0]["block_id"]
    again = client.views_publish(user_id="U0ADA00001", view=home)["view"]
    assert again["id"] == view["id"]
    assert get(emu, "/_emulator/views?user=U0ADA00001")[0]["blocks"][0]["text"]["text"] == "Your queue"
    assert error_of(lambda: client.views_publish(user_id="U0ADA00001", view={"type": "modal"})) == (
        "invalid_arguments"
    )
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "Flag"}, "blocks": []}
    assert (
        error_of(lambda: client.views_open(trigger_id="made.up.trigger", view=modal)) == "invalid_trigger_id"
    )


def test_files_upload_v2_end_to_end(emu: Emulator, client: WebClient) -> None:
    parent = client.chat_postMessage(channel=SOCIAL, text="export coming")["ts"]
    content = "url,comments\nhttps://x.com/a/status/1,3\n"
    uploaded = client.files_upload_v2(
        channel=SOCIAL,
        thread_ts=parent,
        content=content,
        filename="posts.csv",
        title="Posts",
        initial_comment="Here is the export",
    )
    info = uploaded["file"]
    assert info["name"] == "posts.csv"
    assert info["title"] == "Posts"
    assert info["size"] == len(content)
    with urllib.request.urlopen(info["url_private"]) as response:
        assert response.read().startswith(b"url,comments")
    shared = client.conversations_replies(channel=SOCIAL, ts=parent)["messages"][-1]
    assert shared["text"] == "Here is the export"
    assert shared["files"][0]["id"] == info["id"]
    methods = [c["method"] for c in get(emu, "/_emulator/calls")]
    assert methods[1:4] == ["files.getUploadURLExternal", "upload_url", "files.completeUploadExternal"]


def test_upload_to_a_channel_the_bot_is_not_in(client: WebClient) -> None:
    assert error_of(lambda: client.files_upload_v2(channel=GENERAL, content="x", filename="x.txt")) == (
        "not_in_channel"
    )


def test_calls_log_lists_arguments_but_never_the_token(emu: Emulator, client: WebClient) -> None:
    client.chat_postMessage(channel=SOCIAL, text="hi", blocks=[{"type": "divider"}])
    WebClient(base_url=emu.api_url).api_call("auth.test", params={"token": "xoxb-secret-in-a-form"})
    calls = get(emu, "/_emulator/calls")
    assert calls[0]["method"] == "chat.postMessage"
    assert calls[0]["ok"] is True
    assert calls[0]["team"] == "T0TWOWAY1"
    assert calls[0]["args"]["blocks"] == [{"type": "divider"}]
    assert "xoxb-test" not in json.dumps(calls)
    assert "secret-in-a-form" not in json.dumps(calls)
    assert http(emu, "DELETE", "/_emulator/calls")[0] == 200
    assert get(emu, "/_emulator/calls") == []


def test_tokens_can_belong_to_other_teams(emu: Emulator) -> None:
    post(emu, "/_emulator/team", {"id": "T0OTHER001", "domain": "other", "name": "Other"})
    post(emu, "/_emulator/channel", {"team": "T0OTHER001", "id": "C0OTHER001", "name": "social"})
    post(emu, "/_emulator/token", {"token": "xoxb-other", "team": "T0OTHER001"})
    other = WebClient(token="xoxb-other", base_url=emu.api_url)
    assert other.auth_test()["team_id"] == "T0OTHER001"
    assert other.chat_postMessage(channel="C0OTHER001", text="hello other")["ok"]
    assert error_of(lambda: other.chat_postMessage(channel="C0SOCIAL01", text="x")) == "channel_not_found"
    assert get(emu, "/_emulator/calls")[-1]["team"] == "T0OTHER001"


def test_rate_limit_fault_is_retried_after_retry_after(emu: Emulator) -> None:
    post(
        emu,
        "/_emulator/faults",
        {"method": "auth.test", "status": 429, "every": 1, "count": 1, "retry_after": 0},
    )
    client = WebClient(
        token="xoxb-test",
        base_url=emu.api_url,
        retry_handlers=[RateLimitErrorRetryHandler(max_retry_count=1)],
    )
    assert client.auth_test()["ok"]
    calls = get(emu, "/_emulator/calls?method=auth.test")
    assert [(c["status"], c["error"]) for c in calls] == [(429, "ratelimited"), (200, None)]


def test_rate_limit_fault_answers_429_with_retry_after(emu: Emulator, client: WebClient) -> None:
    post(emu, "/_emulator/faults", {"method": "chat.postMessage", "status": 429, "retry_after": 7})
    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=SOCIAL, text="x")
    assert raised.value.response.status_code == 429
    assert raised.value.response.headers["Retry-After"] == "7"
    assert raised.value.response["error"] == "ratelimited"
    assert http(emu, "DELETE", "/_emulator/faults")[0] == 200
    assert client.chat_postMessage(channel=SOCIAL, text="x")["ok"]


def test_server_error_fault_is_retried(emu: Emulator) -> None:
    post(emu, "/_emulator/faults", {"method": "chat.postMessage", "status": 500, "count": 1})
    handler = ServerErrorRetryHandler(
        max_retry_count=2, interval_calculator=FixedValueRetryIntervalCalculator(0.01)
    )
    client = WebClient(token="xoxb-test", base_url=emu.api_url, retry_handlers=[handler])
    assert client.chat_postMessage(channel=SOCIAL, text="after a 500")["ok"]
    assert [c["status"] for c in get(emu, "/_emulator/calls?method=chat.postMessage")] == [500, 200]


def test_faults_every_nth_call(emu: Emulator, client: WebClient) -> None:
    post(emu, "/_emulator/faults", {"method": "users.info", "status": 503, "every": 3})
    outcomes = []
    for _ in range(6):
        try:
            client.users_info(user="U0ADA00001")
            outcomes.append("ok")
        except SlackApiError as e:
            outcomes.append(str(e.response.status_code))
    assert outcomes == ["ok", "ok", "503", "ok", "ok", "503"]


def test_replies_list_the_parent_first_count_it_in_limit_and_page_without_it(client: WebClient) -> None:
    # docs.slack.dev/reference/methods/conversations.replies: `ts` may name the parent or any reply;
    # the earliest messages come first, the parent leading the first page.
    parent = client.chat_postMessage(channel=SOCIAL, text="parent")["ts"]
    replies = [
        client.chat_postMessage(channel=SOCIAL, text=f"r{n}", thread_ts=parent)["ts"] for n in range(3)
    ]

    first = client.conversations_replies(channel=SOCIAL, ts=replies[1], limit=1)
    assert [m["text"] for m in first["messages"]] == ["parent"]
    assert first["has_more"] is True

    two = client.conversations_replies(channel=SOCIAL, ts=parent, limit=2)
    assert [m["text"] for m in two["messages"]] == ["parent", "r0"]
    later = client.conversations_replies(
        channel=SOCIAL, ts=parent, limit=2, cursor=two["response_metadata"]["next_cursor"]
    )
    assert [m["text"] for m in later["messages"]] == ["r1", "r2"]
    assert (later["has_more"], later["response_metadata"]["next_cursor"]) == (False, "")

    # Bounds select the replies; `inclusive` takes in a reply at either bound.
    one = client.conversations_replies(
        channel=SOCIAL, ts=replies[1], oldest=replies[1], latest=replies[1], inclusive=True, limit=2
    )
    assert [m["text"] for m in one["messages"]] == ["parent", "r1"]
    exclusive = client.conversations_replies(channel=SOCIAL, ts=parent, oldest=replies[0], latest=replies[2])
    assert [m["text"] for m in exclusive["messages"]] == ["parent", "r1"]


def test_users_list_pages_by_cursor_and_flags_deactivated_members_and_bots(
    emu: Emulator, client: WebClient
) -> None:
    post(emu, "/_emulator/user", {"id": "U0GONE0001", "name": "zed", "deleted": True})
    post(emu, "/_emulator/user", {"id": "U0HELPER01", "name": "helper", "is_bot": True})
    whole = client.users_list()
    assert whole["response_metadata"]["next_cursor"] == ""
    everyone = [m["id"] for m in whole["members"]]
    assert len(everyone) == 6  # the three seeded people, the app's bot user, and the two above

    first = client.users_list(limit=4)
    assert [m["id"] for m in first["members"]] == everyone[:4]
    cursor = first["response_metadata"]["next_cursor"]
    second = client.users_list(limit=4, cursor=cursor)
    assert [m["id"] for m in second["members"]] == everyone[4:]
    assert second["response_metadata"]["next_cursor"] == ""
    # slack_sdk follows the cursor itself when the answer is iterated.
    assert [m["id"] for page in client.users_list(limit=2) for m in page["members"]] == everyone

    flags = {m["id"]: (m["deleted"], m["is_bot"]) for m in whole["members"]}
    assert flags["U0GONE0001"] == (True, False)
    assert flags["U0HELPER01"] == (False, True)
    assert flags["U0ADA00001"] == (False, False)
    assert error_of(lambda: client.users_list(limit=2, cursor="bm90LWEtY3Vyc29y")) == "invalid_cursor"
