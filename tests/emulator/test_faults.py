"""Unknown outcomes: a call Slack carries out and then fails to confirm (`kept`), or answers not at all
(`drop`). Slack's docs on `fatal_error`: "it's possible some aspect of the operation succeeded"."""

from __future__ import annotations

import urllib.error
from http.client import RemoteDisconnected

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from emulator import Emulator
from tests.support.emulator import http, post

SOCIAL = "C0SOCIAL01"


def kept_messages(emu: Emulator) -> list[str]:
    return [m["text"] for m in emu.state.teams["T0TWOWAY1"].channels[SOCIAL].messages.values()]


def test_a_kept_fault_keeps_the_message_and_answers_the_failure(emu: Emulator, client: WebClient) -> None:
    post(emu, "/_emulator/faults", {"method": "chat.postMessage", "status": 500, "kept": True, "count": 1})

    with pytest.raises(SlackApiError) as raised:
        client.chat_postMessage(channel=SOCIAL, text="kept all the same")

    assert (raised.value.response.status_code, raised.value.response["error"]) == (500, "fatal_error")
    assert kept_messages(emu) == ["kept all the same"]
    # Once: the next post is answered.
    assert client.chat_postMessage(channel=SOCIAL, text="next")["ok"]


def test_a_dropped_call_is_carried_out_and_never_answered(emu: Emulator) -> None:
    post(emu, "/_emulator/faults", {"method": "chat.postMessage", "drop": True, "count": 1})
    # No retry handlers: slack_sdk's default one would send the post again on the dropped connection.
    client = WebClient(token="xoxb-test", base_url=emu.api_url, retry_handlers=[])

    with pytest.raises((urllib.error.URLError, ConnectionError, RemoteDisconnected)):
        client.chat_postMessage(channel=SOCIAL, text="never confirmed")

    assert kept_messages(emu) == ["never confirmed"]
    [fault] = [f for f in emu.calls("chat.postMessage")]
    assert fault["error"] == "fatal_error"


def test_a_slow_answer_cannot_also_be_kept(emu: Emulator) -> None:
    status, answer = http(
        emu, "POST", "/_emulator/faults", {"method": "*", "status": 200, "delay": 1, "kept": True}
    )
    assert (status, answer["error"]) == (400, "invalid_fault")
