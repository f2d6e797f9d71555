"""Slack's standard emoji names, and each workspace's custom ones kept a few minutes per process."""

from __future__ import annotations

from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse

from bot.emoji_names import EmojiNames, standard_names


class Client:
    """Answers emoji.list as Slack does: custom names to an image or `alias:`; counts its calls."""

    def __init__(self, emoji: dict[str, str] | None = None, error: str | None = None) -> None:
        self.emoji = emoji or {}
        self.error = error
        self.calls = 0

    def emoji_list(self, **_: Any) -> dict[str, Any]:
        self.calls += 1
        if self.error:
            response = SlackResponse(
                client=None,
                http_verb="GET",
                api_url="emoji.list",
                req_args={},
                data={"ok": False, "error": self.error},
                headers={},
                status_code=200,
            )
            raise SlackApiError(self.error, response)
        return {"ok": True, "emoji": self.emoji}


@pytest.mark.parametrize(
    "name", ["+1", "thumbsup", "raising_hand", "white_check_mark", "speech_balloon", "eyes"]
)
def test_slacks_standard_names_are_known(name: str) -> None:
    assert name in standard_names()


def test_standard_names_need_no_call_and_unknown_ones_are_named() -> None:
    client = Client({"on-it": "https://acme.slack.com/emoji/on-it.png", "mine": "alias:on-it"})
    names = EmojiNames()
    assert names.check(client, "T1", ["eyes", "+1"]).unknown == ()  # type: ignore[arg-type]
    assert client.calls == 0
    checked = names.check(client, "T1", ["on-it", "mine", "not_a_real_emoji_xyz"])  # type: ignore[arg-type]
    assert checked.unknown == ("not_a_real_emoji_xyz",)
    assert checked.custom_error is None


def test_the_custom_list_is_kept_for_its_ttl_per_workspace() -> None:
    now = [0.0]
    client = Client({"on-it": "https://acme.slack.com/emoji/on-it.png"})
    names = EmojiNames(ttl=300, now=lambda: now[0])
    for _ in range(3):
        names.check(client, "T1", ["on-it"])  # type: ignore[arg-type]
    assert client.calls == 1
    names.check(client, "T2", ["on-it"])  # type: ignore[arg-type]
    assert client.calls == 2
    now[0] = 301
    client.emoji["fresh"] = "alias:on-it"
    assert names.check(client, "T1", ["fresh"]).unknown == ()  # type: ignore[arg-type]
    assert client.calls == 3


def test_a_failed_list_says_why_and_keeps_nothing() -> None:
    client = Client(error="missing_scope")
    names = EmojiNames()
    checked = names.check(client, "T1", ["on-it", "eyes"])  # type: ignore[arg-type]
    assert checked.unknown == ("on-it",)
    assert checked.custom_error == "missing_scope"
    client.error = None
    client.emoji = {"on-it": "https://acme.slack.com/emoji/on-it.png"}
    assert names.check(client, "T1", ["on-it"]).unknown == ()  # type: ignore[arg-type]
