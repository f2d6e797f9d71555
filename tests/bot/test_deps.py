"""twoway's Web API clients: what their retry handlers repeat, and what they leave alone."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_interval_calculators import FixedValueRetryIntervalCalculator

from bot.deps import retry_handlers
from bot.posting import SLACK_FAILURES
from emulator import Emulator, EmulatorSettings
from tests.support.emulator import post

SOCIAL = "C0SOCIAL01"


@pytest.fixture
def emu() -> Iterator[Emulator]:
    with Emulator(EmulatorSettings()) as emulator:
        yield emulator


@pytest.fixture
def client(emu: Emulator) -> WebClient:
    handlers = retry_handlers(FixedValueRetryIntervalCalculator(0.01))
    return WebClient(token="xoxb-test", base_url=emu.api_url, retry_handlers=handlers)


def test_a_read_that_met_a_server_error_is_tried_again(emu: Emulator, client: WebClient) -> None:
    post(emu, "/_emulator/faults", {"method": "conversations.history", "status": 500, "count": 1})
    assert client.conversations_history(channel=SOCIAL)["ok"]
    assert [c["status"] for c in emu.calls("conversations.history")] == [500, 200]


@pytest.mark.parametrize("fault", [{"status": 500}, {"drop": True}], ids=["server_error", "dropped"])
def test_a_post_is_never_repeated_by_the_client_itself(
    emu: Emulator, client: WebClient, fault: dict[str, object]
) -> None:
    # Slack may have kept it: bot.posting.post_once looks before it posts again.
    post(emu, "/_emulator/faults", {"method": "chat.postMessage", "count": 1, "kept": True, **fault})
    with pytest.raises(SLACK_FAILURES):
        client.chat_postMessage(channel=SOCIAL, text="once")
    assert len(emu.calls("chat.postMessage")) == 1
