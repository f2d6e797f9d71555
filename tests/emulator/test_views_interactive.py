"""Modals submitted and App Home buttons clicked: `view_submission` and view `block_actions` to Bolt."""

from __future__ import annotations

import queue
from typing import Any

from slack_bolt import Ack
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from emulator import Emulator, EmulatorSettings
from tests.emulator.conftest import EVERY_SCOPE
from tests.support.emulator import BoltOverHttp, get, http, post
from tests.support.polling import eventually

SOCIAL, ADA, GRACE = "C0SOCIAL01", "U0ADA00001", "U0GRACE001"

LOG_MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "log_post",
    "private_metadata": SOCIAL,
    "title": {"type": "plain_text", "text": "Log a post"},
    "submit": {"type": "plain_text", "text": "Log"},
    "blocks": [
        {
            "type": "input",
            "block_id": "url_block",
            "label": {"type": "plain_text", "text": "Link"},
            "element": {"type": "plain_text_input", "action_id": "url"},
        },
        {
            "type": "input",
            "block_id": "note_block",
            "optional": True,
            "label": {"type": "plain_text", "text": "Note"},
            "element": {"type": "plain_text_input", "action_id": "note", "initial_value": "first"},
        },
    ],
}

HOME: dict[str, Any] = {
    "type": "home",
    "blocks": [
        {"type": "section", "text": {"type": "mrkdwn", "text": "Your queue"}},
        # One button per block: an action_id is unique within its block, as Slack requires.
        {
            "type": "actions",
            "block_id": "earlier",
            "elements": [
                {
                    "type": "button",
                    "action_id": "open_post",
                    "text": {"type": "plain_text", "text": "First"},
                    "value": "p-1",
                },
            ],
        },
        {
            "type": "actions",
            "block_id": "queue",
            "elements": [
                {
                    "type": "button",
                    "action_id": "open_post",
                    "text": {"type": "plain_text", "text": "Second"},
                    "value": "p-2",
                },
            ],
        },
    ],
}


def _open_modal_for(emu: Emulator, user: str, view: dict[str, Any]) -> str:
    """Opens `view` on a trigger_id from that user's slash command (no app needed to get one)."""
    trigger_id = post(
        emu, "/_emulator/command", {"channel": SOCIAL, "user": user, "command": "/twoway", "wait": 0}
    )["trigger_id"]
    client = WebClient(token="xoxb-test", base_url=emu.api_url)
    return str(client.views_open(trigger_id=trigger_id, view=view)["view"]["id"])


def test_view_submission_acked_with_errors_then_clean(bolt_http: BoltOverHttp) -> None:
    submissions: queue.Queue[dict[str, Any]] = queue.Queue()

    @bolt_http.app.command("/twoway")
    def twoway(ack: Ack, command: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=command["trigger_id"], view=LOG_MODAL)

    @bolt_http.app.view("log_post")
    def log_post(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        submissions.put(body)
        url = view["state"]["values"]["url_block"]["url"]["value"]
        if not url.startswith("https://"):
            ack(response_action="errors", errors={"url_block": "That is not a link"})
        else:
            ack()

    emu = bolt_http.emu
    post(emu, "/_emulator/command", {"channel": SOCIAL, "user": ADA, "command": "/twoway", "wait": 0})
    (opened,) = get(emu, f"/_emulator/views?user={ADA}")
    assert (opened["type"], opened["user"], opened["closed"]) == ("modal", ADA, False)

    first = post(emu, "/_emulator/submit", {"user": ADA, "values": {"url_block": {"url": "nope"}}})
    assert first["ack"] == {
        "status": 200,
        "body": {"response_action": "errors", "errors": {"url_block": "That is not a link"}},
        "error": None,
        "via": "http",
    }
    assert (first["view_id"], first["closed"]) == (opened["id"], False)
    body = submissions.get(timeout=5)
    assert body["type"] == "view_submission"
    assert body["team"] == {"id": "T0TWOWAY1", "domain": "twoway-demo"}
    assert body["user"] == {"id": ADA, "username": "ada", "name": "ada", "team_id": "T0TWOWAY1"}
    assert body["api_app_id"] == "A0TWOWAY1"
    assert body["token"]
    assert body["trigger_id"] == first["trigger_id"]
    assert body["response_urls"] == []
    assert body["is_enterprise_install"] is False
    view = body["view"]
    assert (view["id"], view["type"], view["callback_id"], view["private_metadata"]) == (
        opened["id"],
        "modal",
        "log_post",
        SOCIAL,
    )
    assert view["hash"] == opened["hash"]
    assert view["root_view_id"] == opened["id"]
    assert [b["block_id"] for b in view["blocks"]] == ["url_block", "note_block"]
    assert view["state"]["values"] == {
        "url_block": {"url": {"type": "plain_text_input", "value": "nope"}},
        "note_block": {"note": {"type": "plain_text_input", "value": "first"}},
    }

    second = post(
        emu,
        "/_emulator/submit",
        {
            "user": ADA,
            "callback_id": "log_post",
            "values": {"url_block": {"url": "https://x.com/a/status/1"}},
        },
    )
    assert second["ack"]["status"] == 200
    assert second["ack"]["body"] is None
    assert second["closed"] is True
    assert submissions.get(timeout=5)["view"]["state"]["values"]["url_block"]["url"]["value"] == (
        "https://x.com/a/status/1"
    )
    assert get(emu, f"/_emulator/views?user={ADA}")[0]["closed"] is True
    assert http(emu, "POST", "/_emulator/submit", {"user": ADA, "values": {}}) == (
        404,
        {"ok": False, "error": "view_not_found"},
    )


def test_submit_checks_the_view_and_its_inputs(emu: Emulator) -> None:
    view_id = _open_modal_for(emu, ADA, LOG_MODAL)

    def submit(body: dict[str, Any]) -> tuple[int, Any]:
        return http(emu, "POST", "/_emulator/submit", {"user": ADA, "wait": 0, **body})

    assert submit({"values": {"nope": {"url": "x"}}}) == (400, {"ok": False, "error": "unknown_block_id"})
    assert submit({"values": {"url_block": {"nope": "x"}}}) == (
        400,
        {"ok": False, "error": "unknown_action_id"},
    )
    assert submit({"values": {"url_block": {"url": ""}}}) == (
        400,
        {"ok": False, "error": "required_input_missing"},
    )
    assert submit({"values": {"url_block": {"url": 3}}}) == (400, {"ok": False, "error": "invalid_value"})
    assert submit({"view_id": "V0NOTHERE", "values": {}}) == (404, {"ok": False, "error": "view_not_found"})
    assert submit({"callback_id": "other", "values": {}}) == (404, {"ok": False, "error": "view_not_found"})
    # Grace did not open it, so she cannot submit it.
    status, answer = http(emu, "POST", "/_emulator/submit", {"user": GRACE, "values": {}})
    assert (status, answer["error"]) == (404, "view_not_found")

    # Nobody listening: Slack would show the error in the modal, which stays open.
    answer = submit({"view_id": view_id, "values": {"url_block": {"url": "https://x.com"}}})[1]
    assert answer["ack"] == {"status": None, "body": None, "error": "no_app_connected", "via": None}
    assert (answer["view_id"], answer["closed"]) == (view_id, False)


def test_response_actions_push_update_and_clear(bolt_http: BoltOverHttp) -> None:
    step_two = {**LOG_MODAL, "callback_id": "step_two", "blocks": LOG_MODAL["blocks"][1:]}

    @bolt_http.app.view("log_post")
    def step_one(ack: Ack) -> None:
        ack(response_action="push", view=step_two)

    @bolt_http.app.view("step_two")
    def second(ack: Ack, view: dict[str, Any]) -> None:
        if view["state"]["values"]["note_block"]["note"]["value"] == "again":
            ack(response_action="update", view={**step_two, "private_metadata": "updated"})
        else:
            ack(response_action="clear")

    emu = bolt_http.emu
    root = _open_modal_for(emu, ADA, LOG_MODAL)
    pushed = post(emu, "/_emulator/submit", {"user": ADA, "values": {"url_block": {"url": "https://x.com"}}})
    assert pushed["closed"] is False
    views = {v["id"]: v for v in get(emu, f"/_emulator/views?user={ADA}")}
    (top,) = [v for v in views.values() if v["callback_id"] == "step_two"]
    assert (top["previous_view_id"], top["root_view_id"], top["closed"]) == (root, root, False)

    updated = post(emu, "/_emulator/submit", {"user": ADA, "values": {"note_block": {"note": "again"}}})
    assert (updated["view_id"], updated["closed"]) == (top["id"], False)
    assert {v["id"]: v for v in get(emu, "/_emulator/views")}[top["id"]]["private_metadata"] == "updated"

    cleared = post(emu, "/_emulator/submit", {"user": ADA, "view_id": top["id"], "values": {}})
    assert cleared["closed"] is True
    assert all(v["closed"] for v in get(emu, f"/_emulator/views?user={ADA}"))


def test_home_tab_click_reaches_the_action_listener(bolt_http: BoltOverHttp) -> None:
    clicks: queue.Queue[dict[str, Any]] = queue.Queue()

    @bolt_http.app.action("open_post")
    def open_post(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        clicks.put(body)
        client.views_open(trigger_id=body["trigger_id"], view=LOG_MODAL)

    emu = bolt_http.emu
    client = WebClient(token="xoxb-test", base_url=emu.api_url)
    home = client.views_publish(user_id=ADA, view=HOME)["view"]
    answer = post(
        emu, "/_emulator/action", {"user": ADA, "view": "home", "action_id": "open_post", "value": "p-2"}
    )
    assert answer["ack"] == {"status": 200, "body": None, "error": None, "via": "http"}
    assert (answer["responses"], answer["response_url"]) == ([], None)
    body = clicks.get(timeout=5)
    assert body["type"] == "block_actions"
    assert body["container"] == {"type": "view", "view_id": home["id"]}
    assert body["container"]["type"] == "view"
    assert body["trigger_id"] == answer["trigger_id"]
    assert body["user"]["id"] == ADA
    assert body["team"] == {"id": "T0TWOWAY1", "domain": "twoway-demo"}
    assert body["api_app_id"] == "A0TWOWAY1"
    assert not {"channel", "message", "response_url", "state"} & body.keys()
    view = body["view"]
    assert (view["id"], view["type"], view["hash"], view["team_id"]) == (
        home["id"],
        "home",
        home["hash"],
        "T0TWOWAY1",
    )
    assert view["state"] == {"values": {}}
    (action,) = body["actions"]
    assert (action["action_id"], action["block_id"], action["value"], action["type"]) == (
        "open_post",
        "queue",
        "p-2",
        "button",
    )
    assert action["text"]["text"] == "Second"

    # The modal opened on the click's trigger_id is Ada's to submit; the listener opens it after it
    # has handed the click over, so it may still be on its way.
    (modal,) = eventually(
        lambda: [v for v in get(emu, f"/_emulator/views?user={ADA}") if v["type"] == "modal"],
        what="the modal the click opened",
    )
    assert modal["closed"] is False

    without_value = post(emu, "/_emulator/action", {"user": ADA, "view": "home", "action_id": "open_post"})
    assert clicks.get(timeout=5)["actions"][0]["value"] == "p-1"
    assert without_value["ack"]["status"] == 200

    def click(body: dict[str, Any]) -> tuple[int, Any]:
        return http(emu, "POST", "/_emulator/action", {"view": "home", "action_id": "open_post", **body})

    assert click({"user": ADA, "value": "p-9"}) == (404, {"ok": False, "error": "action_not_found"})
    assert click({"user": GRACE}) == (404, {"ok": False, "error": "view_not_found"})
    assert click({"user": ADA, "view": "modal"}) == (400, {"ok": False, "error": "invalid_view"})


class _Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_trigger_opens_one_view_within_three_seconds() -> None:
    """DOCUMENTED: views.open and views.push: `exchanged_trigger_id`, "The trigger_id was already
    exchanged in a previous call"; `expired_trigger_id`, "The trigger_id has expired"; Bolt's guide:
    "Pass a valid trigger_id within 3 seconds of receiving it"."""
    clock = _Clock()
    with Emulator(EmulatorSettings(manifest=EVERY_SCOPE, clock=clock)) as emu:
        client = WebClient(token="xoxb-test", base_url=emu.api_url)

        def trigger() -> str:
            answer = post(
                emu, "/_emulator/command", {"channel": SOCIAL, "user": ADA, "command": "/twoway", "wait": 0}
            )
            return str(answer["trigger_id"])

        def error_of(trigger_id: str) -> str:
            try:
                client.views_open(trigger_id=trigger_id, view=LOG_MODAL)
            except SlackApiError as error:
                return str(error.response["error"])
            return "ok"

        used = trigger()
        assert error_of(used) == "ok"
        assert error_of(used) == "exchanged_trigger_id"
        late = trigger()
        clock.now += 3.5
        assert error_of(late) == "expired_trigger_id"
        in_time = trigger()
        clock.now += 2.5
        assert error_of(in_time) == "ok"
        assert error_of("1.2.made-up") == "invalid_trigger_id"


def test_buttons_of_an_ephemeral_message_are_its_viewers(emu: Emulator, client: WebClient) -> None:
    """An ephemeral message's button sends `container.is_ephemeral` and no `message`; only the person it
    was shown to can click it, and its response_url replaces or deletes it for them."""
    button = {
        "type": "actions",
        "block_id": "b",
        "elements": [
            {
                "type": "button",
                "action_id": "undo",
                "text": {"type": "plain_text", "text": "Undo"},
                "value": "7",
            }
        ],
    }
    ts = client.chat_postEphemeral(channel=SOCIAL, user=ADA, text="Recorded", blocks=[button])["message_ts"]
    (shown,) = get(emu, f"/_emulator/ephemerals?user={ADA}")
    assert (shown["ts"], shown["channel"], shown["text"]) == (ts, SOCIAL, "Recorded")
    assert get(emu, f"/_emulator/ephemerals?user={GRACE}") == []
    assert all(m["ts"] != ts for m in get(emu, f"/_emulator/messages?channel={SOCIAL}"))

    refused = http(
        emu,
        "POST",
        "/_emulator/action",
        {"channel": SOCIAL, "user": GRACE, "message_ts": ts, "action_id": "undo"},
    )
    assert refused[0] == 404

    clicked = post(
        emu,
        "/_emulator/action",
        {"channel": SOCIAL, "user": ADA, "message_ts": ts, "action_id": "undo", "value": "7", "wait": 0},
    )
    assert clicked["response_url"].startswith(emu.base_url)
    url = clicked["response_url"].removeprefix(emu.base_url)
    post(emu, url, {"replace_original": True, "text": "Undone"})
    (replaced,) = get(emu, f"/_emulator/ephemerals?user={ADA}")
    assert replaced["text"] == "Undone"
    assert "blocks" not in replaced
    post(emu, url, {"delete_original": True})
    assert get(emu, f"/_emulator/ephemerals?user={ADA}") == []
