"""Toward the app over Socket Mode: Bolt's SocketModeHandler (slack_sdk's built-in client) and raw sockets."""

from __future__ import annotations

import asyncio
import queue
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest
from slack_bolt import Ack, App, BoltRequest, Respond
from slack_bolt.adapter.socket_mode import SocketModeHandler
from slack_sdk import WebClient

from emulator import Emulator
from tests.support.emulator import get, post
from tests.support.polling import eventually

SOCIAL, ADA = "C0SOCIAL01", "U0ADA00001"


@pytest.fixture
def socket_app(emu: Emulator) -> Iterator[App]:
    app = App(
        client=WebClient(token="xoxb-test", base_url=emu.api_url),
        signing_secret="unused-in-socket-mode",
        token_verification_enabled=False,
    )
    handler = SocketModeHandler(app, "xapp-1-test", ping_interval=1)
    handler.connect()
    eventually(lambda: get(emu, "/_emulator/connections")["count"] == 1, what="one Socket Mode connection")
    yield app
    # Dropping the socket from the emulator's side spares the client's three-second receive timeout.
    handler.client.auto_reconnect_enabled = False
    post(emu, "/_emulator/disconnect", {"close": True})
    eventually(lambda: get(emu, "/_emulator/connections")["count"] == 0, what="no Socket Mode connection")
    handler.close()


def test_bolt_receives_a_command_and_an_event_over_the_socket(emu: Emulator, socket_app: App) -> None:
    events: queue.Queue[tuple[dict[str, Any], dict[str, Any]]] = queue.Queue()

    @socket_app.command("/twoway")
    def twoway(ack: Ack, respond: Respond, command: dict[str, Any]) -> None:
        ack()
        respond(f"Logged {command['text']}")

    @socket_app.event("message")
    def on_message(event: dict[str, Any], request: BoltRequest) -> None:
        events.put((event, request.headers))

    answer = post(
        emu, "/_emulator/command", {"channel": SOCIAL, "user": ADA, "command": "/twoway", "text": "x"}
    )
    assert answer["ack"] == {"status": 200, "body": None, "error": None, "via": "socket"}
    assert [r["text"] for r in answer["responses"]] == ["Logged x"]

    sent = post(emu, "/_emulator/message", {"channel": SOCIAL, "user": ADA, "text": "hello", "retries": 1})
    assert sent["delivery"]["via"] == "socket"
    assert sent["delivery"]["status"] == 200
    event, first_headers = events.get(timeout=5)
    assert event["text"] == "hello"
    assert event["ts"] == sent["ts"]
    assert first_headers["x-slack-retry-num"] == ["0"]  # Bolt mirrors Socket Mode's retry_attempt: 0
    _, retried = events.get(timeout=5)
    assert retried["x-slack-retry-num"] == ["1"]
    assert retried["x-slack-retry-reason"] == ["http_timeout"]


def test_command_answered_in_the_socket_ack(emu: Emulator, socket_app: App) -> None:
    socket_app.command("/twoway")(lambda ack: ack(text="Usage: /twoway help"))
    answer = post(
        emu,
        "/_emulator/command",
        {"channel": SOCIAL, "user": ADA, "command": "/twoway", "text": "", "linger": 0},
    )
    assert answer["ack"]["body"] == {"text": "Usage: /twoway help"}


async def _next_envelope(
    sockets: list[aiohttp.ClientWebSocketResponse],
) -> tuple[int, dict[str, Any]]:
    """(index of the socket it came on, envelope) for the next envelope on any of the sockets."""
    readers = [asyncio.ensure_future(ws.receive_json()) for ws in sockets]
    done, pending = await asyncio.wait(readers, return_when=asyncio.FIRST_COMPLETED)
    for reader in pending:
        reader.cancel()
    first = done.pop()
    return readers.index(first), first.result()


async def _raw_socket_session(emu: Emulator) -> dict[str, Any]:
    """Two raw connections: both get `hello`, envelopes are spread over them, and acks settle them."""
    client = WebClient(token="xapp-1-test", base_url=emu.api_url)
    url = client.apps_connections_open(app_token="xapp-1-test")["url"]
    loop = asyncio.get_running_loop()
    command = {"channel": SOCIAL, "user": ADA, "command": "/twoway", "text": "", "linger": 0}
    async with aiohttp.ClientSession() as session:
        sockets = [await session.ws_connect(url), await session.ws_connect(url)]
        hellos = [await ws.receive_json() for ws in sockets]
        results = []
        for _ in range(2):
            answer = loop.run_in_executor(None, post, emu, "/_emulator/command", command)
            index, envelope = await _next_envelope(sockets)
            ack = {"envelope_id": envelope["envelope_id"], "payload": {"text": "from socket"}}
            await sockets[index].send_json(ack)
            results.append((index, envelope, await answer))
        for ws in sockets:
            await ws.close()
    return {"hellos": hellos, "results": results}


def test_raw_socket_mode_protocol(emu: Emulator) -> None:
    session = asyncio.run(_raw_socket_session(emu))
    hello = session["hellos"][0]
    assert hello["type"] == "hello"
    assert hello["connection_info"] == {"app_id": "A0TWOWAY1"}
    assert hello["debug_info"]["approximate_connection_time"] > 0
    assert session["hellos"][1]["num_connections"] == 2
    assert {index for index, _, _ in session["results"]} == {0, 1}
    for _, envelope, answer in session["results"]:
        assert envelope["type"] == "slash_commands"
        assert envelope["accepts_response_payload"] is True
        assert envelope["payload"]["command"] == "/twoway"
        assert answer["ack"]["body"] == {"text": "from socket"}
    eventually(lambda: get(emu, "/_emulator/connections")["count"] == 0, what="no Socket Mode connection")


def test_socket_beats_the_request_url(emu: Emulator, socket_app: App) -> None:
    received: queue.Queue[dict[str, Any]] = queue.Queue()
    socket_app.event("app_home_opened")(lambda event: received.put(event))
    answer = post(emu, "/_emulator/event", {"event": {"type": "app_home_opened", "user": ADA, "tab": "home"}})
    assert answer["delivery"]["via"] == "socket"
    assert received.get(timeout=5)["tab"] == "home"


def test_bolt_reconnects_after_the_connection_drops(emu: Emulator, socket_app: App) -> None:
    socket_app.command("/twoway")(lambda ack: ack("still here"))
    post(emu, "/_emulator/disconnect", {"close": True})
    eventually(lambda: get(emu, "/_emulator/connections")["count"] == 1, what="one Socket Mode connection")
    command = {"channel": SOCIAL, "user": ADA, "command": "/twoway", "text": "", "linger": 0}
    answer = eventually(
        lambda: (a := post(emu, "/_emulator/command", command))["ack"]["status"] == 200 and a,
        what="the command acknowledged over the new connection",
    )
    assert answer["ack"]["body"] == {"text": "still here"}


def test_view_submission_and_home_click_over_the_socket(emu: Emulator, socket_app: App) -> None:
    received: queue.Queue[dict[str, Any]] = queue.Queue()
    modal = {
        "type": "modal",
        "callback_id": "log_post",
        "title": {"type": "plain_text", "text": "Log a post"},
        # Slack refuses a modal of inputs without a submit button.
        "submit": {"type": "plain_text", "text": "Log"},
        "blocks": [
            {
                "type": "input",
                "block_id": "url_block",
                "label": {"type": "plain_text", "text": "Link"},
                "element": {"type": "plain_text_input", "action_id": "url"},
            }
        ],
    }

    @socket_app.action("log")
    def log(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        client.views_open(trigger_id=body["trigger_id"], view=modal)
        # Only now is there a modal to submit.
        received.put(body)

    @socket_app.view("log_post")
    def log_post(ack: Ack, body: dict[str, Any]) -> None:
        received.put(body)
        ack(response_action="errors", errors={"url_block": "Not a link"})

    button = {"type": "button", "action_id": "log", "text": {"type": "plain_text", "text": "Log"}}
    home = {"type": "home", "blocks": [{"type": "actions", "elements": [button]}]}
    WebClient(token="xoxb-test", base_url=emu.api_url).views_publish(user_id=ADA, view=home)
    click = post(emu, "/_emulator/action", {"user": ADA, "view": "home", "action_id": "log"})
    assert click["ack"] == {"status": 200, "body": None, "error": None, "via": "socket"}
    assert received.get(timeout=5)["container"]["type"] == "view"

    answer = post(emu, "/_emulator/submit", {"user": ADA, "values": {"url_block": {"url": "nope"}}})
    assert answer["ack"] == {
        "status": 200,
        "body": {"response_action": "errors", "errors": {"url_block": "Not a link"}},
        "error": None,
        "via": "socket",
    }
    assert answer["closed"] is False
    submitted = received.get(timeout=5)
    assert submitted["type"] == "view_submission"
    assert submitted["view"]["state"]["values"] == {
        "url_block": {"url": {"type": "plain_text_input", "value": "nope"}}
    }
