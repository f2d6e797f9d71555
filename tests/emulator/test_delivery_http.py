"""Toward the app over HTTP: signed requests to a real Bolt app, which answers 401 to a bad signature."""

from __future__ import annotations

import queue
from typing import Any

import pytest
from slack_bolt import Ack, BoltRequest, Respond
from slack_sdk import WebClient

from tests.support.emulator import BoltOverHttp, get, http, post

SOCIAL, GENERAL = "C0SOCIAL01", "C0GENERAL1"
ADA = "U0ADA00001"


def test_message_event_arrives_signed_and_shaped_like_slack(bolt_http: BoltOverHttp) -> None:
    received: queue.Queue[dict[str, Any]] = queue.Queue()

    @bolt_http.app.event("message")
    def on_message(body: dict[str, Any]) -> None:
        received.put(body)

    answer = post(
        bolt_http.emu,
        "/_emulator/message",
        {"team": "T0TWOWAY1", "channel": SOCIAL, "user": ADA, "text": "New post https://x.com/a/status/1"},
    )
    assert answer["delivery"]["status"] == 200
    assert answer["delivery"]["via"] == "http"
    body = received.get(timeout=5)
    assert body["type"] == "event_callback"
    assert body["event_id"] == answer["event_id"]
    assert body["event_id"].startswith("Ev")
    assert isinstance(body["event_time"], int)
    assert body["team_id"] == "T0TWOWAY1"
    assert body["api_app_id"] == "A0TWOWAY1"
    assert body["authorizations"] == [
        {
            "enterprise_id": None,
            "team_id": "T0TWOWAY1",
            "user_id": "U0TWOWAYBOT",
            "is_bot": True,
            "is_enterprise_install": False,
        }
    ]
    assert body["is_ext_shared_channel"] is False
    assert body["event_context"]
    event = body["event"]
    assert event["type"] == "message"
    assert event["channel"] == SOCIAL
    assert event["user"] == ADA
    assert event["text"] == "New post <https://x.com/a/status/1>"
    assert event["ts"] == answer["ts"] == event["event_ts"]
    assert event["channel_type"] == "channel"
    assert event["blocks"][0]["type"] == "rich_text"
    link = event["blocks"][0]["elements"][0]["elements"][1]
    assert link == {"type": "link", "url": "https://x.com/a/status/1"}
    kept = get(bolt_http.emu, f"/_emulator/messages?channel={SOCIAL}")
    assert [m["ts"] for m in kept] == [answer["ts"]]


def test_thread_replies_and_channels_without_the_bot(bolt_http: BoltOverHttp) -> None:
    received: queue.Queue[dict[str, Any]] = queue.Queue()
    bolt_http.app.event("message")(lambda event: received.put(event))
    parent = post(bolt_http.emu, "/_emulator/message", {"channel": SOCIAL, "user": ADA, "text": "post"})["ts"]
    received.get(timeout=5)
    reply = post(
        bolt_http.emu,
        "/_emulator/message",
        {"channel": SOCIAL, "user": "U0NEWBIE01", "text": "12 comments, 3 replies", "thread_ts": parent},
    )
    event = received.get(timeout=5)
    assert event["thread_ts"] == parent
    assert event["parent_user_id"] == ADA
    assert event["ts"] == reply["ts"]
    client = WebClient(token="xoxb-test", base_url=bolt_http.emu.api_url)
    assert client.users_info(user="U0NEWBIE01")["user"]["name"] == "u0newbie01"

    elsewhere = post(bolt_http.emu, "/_emulator/message", {"channel": GENERAL, "user": ADA, "text": "hi"})
    assert elsewhere["delivery"] == {
        "via": None,
        "status": None,
        "body": None,
        "error": "bot_not_in_channel",
        "retry_num": 0,
        "url": None,
    }


@pytest.mark.parametrize("app_secret", ["not-the-emulators-secret"])
def test_wrong_signing_secret_is_refused_by_bolt(bolt_http: BoltOverHttp) -> None:
    answer = post(bolt_http.emu, "/_emulator/message", {"channel": SOCIAL, "user": ADA, "text": "hi"})
    assert answer["delivery"]["status"] == 401


def test_reactions_are_kept_and_delivered(bolt_http: BoltOverHttp) -> None:
    received: queue.Queue[dict[str, Any]] = queue.Queue()
    bolt_http.app.event("reaction_added")(lambda event: received.put(event))
    bolt_http.app.event("reaction_removed")(lambda event: received.put(event))
    ts = post(bolt_http.emu, "/_emulator/message", {"channel": SOCIAL, "user": ADA, "text": "comment"})["ts"]
    reaction = {"channel": SOCIAL, "ts": ts, "user": "U0GRACE001", "reaction": "triangular_flag_on_post"}
    post(bolt_http.emu, "/_emulator/reaction", reaction)
    added = received.get(timeout=5)
    assert added == {
        "type": "reaction_added",
        "user": "U0GRACE001",
        "reaction": "triangular_flag_on_post",
        "item": {"type": "message", "channel": SOCIAL, "ts": ts, "channel_type": "channel"},
        "item_user": ADA,
        "event_ts": added["event_ts"],
    }
    client = WebClient(token="xoxb-test", base_url=bolt_http.emu.api_url)
    kept = client.reactions_get(channel=SOCIAL, timestamp=ts)["message"]["reactions"]
    assert kept == [{"name": "triangular_flag_on_post", "users": ["U0GRACE001"], "count": 1}]
    assert http(bolt_http.emu, "POST", "/_emulator/reaction", reaction) == (
        409,
        {"ok": False, "error": "already_reacted"},
    )
    post(bolt_http.emu, "/_emulator/reaction", {**reaction, "removed": True})
    assert received.get(timeout=5)["type"] == "reaction_removed"


def test_edits_and_deletions_are_delivered(bolt_http: BoltOverHttp) -> None:
    received: queue.Queue[dict[str, Any]] = queue.Queue()
    bolt_http.app.event("message")(lambda event: received.put(event))
    ts = post(bolt_http.emu, "/_emulator/message", {"channel": SOCIAL, "user": ADA, "text": "3 comments"})[
        "ts"
    ]
    received.get(timeout=5)
    post(bolt_http.emu, "/_emulator/message_changed", {"channel": SOCIAL, "ts": ts, "text": "4 comments"})
    changed = received.get(timeout=5)
    assert changed["subtype"] == "message_changed"
    assert changed["hidden"] is True
    assert changed["message"]["text"] == "4 comments"
    assert changed["message"]["edited"]["user"] == ADA
    assert changed["previous_message"]["text"] == "3 comments"
    assert changed["message"]["ts"] == ts
    post(bolt_http.emu, "/_emulator/message_deleted", {"channel": SOCIAL, "ts": ts})
    deleted = received.get(timeout=5)
    assert deleted["subtype"] == "message_deleted"
    assert deleted["deleted_ts"] == ts
    assert deleted["previous_message"]["text"] == "4 comments"
    assert get(bolt_http.emu, f"/_emulator/messages?channel={SOCIAL}") == []


def test_redelivery_carries_retry_headers_and_the_same_event_id(bolt_http: BoltOverHttp) -> None:
    received: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()

    @bolt_http.app.event("app_home_opened")
    def on_home(body: dict[str, Any], request: BoltRequest) -> None:
        received.put((body["event_id"], request.headers))

    event = {"type": "app_home_opened", "user": ADA, "channel": "D0ADA00001", "tab": "home"}
    answer = post(bolt_http.emu, "/_emulator/event", {"event": event, "retries": 1})
    assert [d["retry_num"] for d in [answer["delivery"], *answer["redeliveries"]]] == [0, 1]
    first_id, first_headers = received.get(timeout=5)
    second_id, second_headers = received.get(timeout=5)
    assert first_id == second_id == answer["event_id"]
    assert "x-slack-retry-num" not in first_headers
    assert second_headers["x-slack-retry-num"] == ["1"]
    assert second_headers["x-slack-retry-reason"] == ["http_timeout"]

    again = post(bolt_http.emu, "/_emulator/redeliver", {"event_id": answer["event_id"]})
    assert again["delivery"]["status"] == 200
    assert received.get(timeout=5)[1]["x-slack-retry-num"] == ["2"]


def test_slash_command_returns_the_ack_and_what_respond_sent(bolt_http: BoltOverHttp) -> None:
    seen: list[dict[str, Any]] = []

    @bolt_http.app.command("/twoway")
    def twoway(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        seen.append(command)
        modal = {"type": "modal", "title": {"type": "plain_text", "text": "Flag"}, "blocks": []}
        client.views_open(trigger_id=command["trigger_id"], view=modal)
        respond(f"You asked for {command['text']}")
        respond("and one more thing")

    answer = post(
        bolt_http.emu,
        "/_emulator/command",
        {"channel": SOCIAL, "user": ADA, "command": "/twoway", "text": "help"},
    )
    assert answer["ack"]["status"] == 200
    assert answer["ack"]["body"] is None
    assert [r["text"] for r in answer["responses"]] == ["You asked for help", "and one more thing"]
    command = seen[0]
    assert {k: command[k] for k in ("team_id", "team_domain", "channel_id", "channel_name", "user_id")} == {
        "team_id": "T0TWOWAY1",
        "team_domain": "twoway-demo",
        "channel_id": SOCIAL,
        "channel_name": "social",
        "user_id": ADA,
    }
    assert command["user_name"] == "ada"
    assert command["api_app_id"] == "A0TWOWAY1"
    assert command["response_url"].startswith(bolt_http.emu.base_url + "/_emulator/response/")
    calls = [c for c in get(bolt_http.emu, "/_emulator/calls") if c["method"] != "auth.test"]
    assert [(c["method"], c["ok"]) for c in calls] == [
        ("views.open", True),
        ("response_url", True),
        ("response_url", True),
    ]


def test_slash_command_answered_in_the_ack(bolt_http: BoltOverHttp) -> None:
    bolt_http.app.command("/twoway")(lambda ack: ack("Usage: /twoway log <url>"))
    answer = post(
        bolt_http.emu,
        "/_emulator/command",
        {"channel": SOCIAL, "user": ADA, "command": "/twoway", "text": "?"},
    )
    assert answer["ack"] == {"status": 200, "body": "Usage: /twoway log <url>", "error": None, "via": "http"}
    assert answer["responses"] == []


def test_button_click_reaches_the_action_listener(bolt_http: BoltOverHttp) -> None:
    clicks: list[dict[str, Any]] = []

    @bolt_http.app.action("comment_answered")
    def answered(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        clicks.append(body)
        respond(replace_original=True, text="Answered by ada")

    client = WebClient(token="xoxb-test", base_url=bolt_http.emu.api_url)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "A comment waits"}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "comment_answered",
                    "text": {"type": "plain_text", "text": "Answered"},
                    "value": "c-42",
                }
            ],
        },
    ]
    ts = client.chat_postMessage(channel=SOCIAL, text="A comment waits", blocks=blocks)["ts"]
    answer = post(
        bolt_http.emu,
        "/_emulator/action",
        {"channel": SOCIAL, "user": ADA, "message_ts": ts, "action_id": "comment_answered"},
    )
    assert answer["ack"]["status"] == 200
    assert answer["responses"][0]["text"] == "Answered by ada"
    body = clicks[0]
    assert body["type"] == "block_actions"
    assert body["user"]["id"] == ADA
    assert body["team"]["id"] == "T0TWOWAY1"
    assert body["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": SOCIAL,
        "is_ephemeral": False,
    }
    action = body["actions"][0]
    assert (action["action_id"], action["value"], action["type"]) == ("comment_answered", "c-42", "button")
    assert action["block_id"] == body["message"]["blocks"][1]["block_id"]
    assert client.conversations_history(channel=SOCIAL)["messages"][0]["text"] == "Answered by ada"

    missing = http(
        bolt_http.emu,
        "POST",
        "/_emulator/action",
        {"channel": SOCIAL, "user": ADA, "message_ts": ts, "action_id": "x"},
    )
    assert missing == (404, {"ok": False, "error": "action_not_found"})


def test_a_button_in_an_ephemeral_message_is_clicked_by_its_one_viewer(bolt_http: BoltOverHttp) -> None:
    """Slack keeps no ephemeral message: its click says `is_ephemeral` and carries no `message`
    (docs.slack.dev/reference/interaction-payloads/block_actions-payload); only its viewer sees it."""
    clicks: list[dict[str, Any]] = []

    @bolt_http.app.action("post_not_ours")
    def not_ours(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        clicks.append(body)
        respond(replace_original=True, text="Taken back")

    client = WebClient(token="xoxb-test", base_url=bolt_http.emu.api_url)
    button = {
        "type": "button",
        "action_id": "post_not_ours",
        "text": {"type": "plain_text", "text": "Not our post"},
        "value": "7",
    }
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Not the team's?"}, "accessory": button}
    ]
    ts = client.chat_postEphemeral(channel=SOCIAL, user=ADA, text="Not the team's?", blocks=blocks)[
        "message_ts"
    ]
    assert [m["ts"] for m in client.conversations_history(channel=SOCIAL)["messages"]] == []
    shown = get(bolt_http.emu, f"/_emulator/ephemerals?channel={SOCIAL}&user={ADA}")
    assert [(m["ts"], m["text"]) for m in shown] == [(ts, "Not the team's?")]
    assert get(bolt_http.emu, f"/_emulator/ephemerals?channel={SOCIAL}&user=U0GRACE001") == []

    answer = post(
        bolt_http.emu,
        "/_emulator/action",
        {"channel": SOCIAL, "user": ADA, "message_ts": ts, "action_id": "post_not_ours", "value": "7"},
    )
    assert answer["ack"]["status"] == 200
    assert answer["responses"][0]["text"] == "Taken back"
    [body] = clicks
    assert body["container"] == {
        "type": "message",
        "message_ts": ts,
        "channel_id": SOCIAL,
        "is_ephemeral": True,
    }
    assert "message" not in body
    assert body["actions"][0]["value"] == "7"
    assert body["response_url"] == answer["response_url"]
    # Nobody else sees it, so nobody else can click it.
    other = http(
        bolt_http.emu,
        "POST",
        "/_emulator/action",
        {"channel": SOCIAL, "user": "U0GRACE001", "message_ts": ts, "action_id": "post_not_ours"},
    )
    assert other == (404, {"ok": False, "error": "message_not_found"})


def test_message_shortcut(bolt_http: BoltOverHttp) -> None:
    shortcuts: list[dict[str, Any]] = []

    @bolt_http.app.shortcut("flag_comment")
    def flag(ack: Ack, shortcut: dict[str, Any]) -> None:
        ack()
        shortcuts.append(shortcut)

    ts = post(bolt_http.emu, "/_emulator/message", {"channel": SOCIAL, "user": ADA, "text": "why no reply?"})[
        "ts"
    ]
    answer = post(
        bolt_http.emu,
        "/_emulator/shortcut",
        {"channel": SOCIAL, "user": "U0GRACE001", "message_ts": ts, "callback_id": "flag_comment", "wait": 0},
    )
    assert answer["ack"]["status"] == 200
    shortcut = shortcuts[0]
    assert shortcut["type"] == "message_action"
    assert shortcut["message"]["text"] == "why no reply?"
    assert shortcut["trigger_id"] == answer["trigger_id"]
    assert shortcut["channel"]["id"] == SOCIAL
