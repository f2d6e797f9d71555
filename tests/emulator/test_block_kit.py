"""Blocks and views checked as Slack checks them: its limits from docs.slack.dev/reference/block-kit,
its answers (`invalid_blocks` with JSON-pointer lines, `invalid_blocks_format`, `msg_too_long`) as
Slack's own, quoted in public issue threads."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_sdk import WebClient

from emulator import Emulator, payloads
from emulator.block_kit import Malformed, problems
from emulator.block_kit import view_problems as problems_of_view
from emulator.control import WorldError
from tests.support.emulator import refused

SOCIAL = "C0SOCIAL01"
ADA = "U0ADA00001"


def section(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}, **extra}


def button(action_id: str, text: str = "Go", value: str = "1") -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": action_id,
        "text": {"type": "plain_text", "text": text},
        "value": value,
    }


@pytest.mark.parametrize(
    ("blocks", "expected"),
    [
        ([section("x" * 3000)], []),
        ([section("x" * 3001)], ["must be less than 3001 characters [json-pointer:/blocks/0/text/text]"]),
        ([section("ok")] * 50, []),
        ([section("ok")] * 51, ["no more than 50 items allowed [json-pointer:/blocks]"]),
        (
            [section("a", block_id="same"), section("b", block_id="same")],
            ["Block ID needs to be unique [json-pointer:/blocks/1/block_id]"],
        ),
        (
            [section("a", block_id="b" * 256)],
            ["must be less than 256 characters [json-pointer:/blocks/0/block_id]"],
        ),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            ["no more than 10 items allowed [json-pointer:/blocks/0/fields]"],
        ),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f" * 2001}]}],
            ["must be less than 2001 characters [json-pointer:/blocks/0/fields/0/text]"],
        ),
        ([{"type": "section"}], ["failed to match all allowed schemas [json-pointer:/blocks/0]"]),
        # An action_id is unique within its block; two blocks may share one, as twoway's lists do.
        (
            [{"type": "actions", "elements": [button("done"), button("done")]}],
            ["action_id needs to be unique [json-pointer:/blocks/0/elements/1/action_id]"],
        ),
        (
            [
                {"type": "actions", "elements": [button("done")]},
                {"type": "actions", "elements": [button("done")]},
            ],
            [],
        ),
        (
            [{"type": "actions", "elements": [button("go", text="t" * 76)]}],
            ["must be less than 76 characters [json-pointer:/blocks/0/elements/0/text/text]"],
        ),
        (
            [{**section("link"), "accessory": {**button("open"), "url": "https://e.x/" + "u" * 2989}}],
            ["must be less than 3001 characters [json-pointer:/blocks/0/accessory/url]"],
        ),
        ([{**section("link"), "accessory": {**button("open"), "url": "https://e.x/" + "u" * 2988}}], []),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}],
            ["must be less than 151 characters [json-pointer:/blocks/0/text/text]"],
        ),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": "c" * 3001}]}],
            ["must be less than 3001 characters [json-pointer:/blocks/0/elements/0/text]"],
        ),
        (
            [{"type": "context", "elements": [{"type": "mrkdwn", "text": ""}]}, section("")],
            [
                "must be more than 0 characters [json-pointer:/blocks/0/elements/0/text]",
                "must be more than 0 characters [json-pointer:/blocks/1/text/text]",
            ],
        ),
    ],
)
def test_what_slack_refuses_in_a_messages_blocks(blocks: list[dict[str, Any]], expected: list[str]) -> None:
    assert problems(blocks, limit=50) == expected


@pytest.mark.parametrize("blocks", [{"type": "section"}, "blocks", [1], [{"text": "no type"}]])
def test_what_is_not_block_kit_at_all(blocks: Any) -> None:
    with pytest.raises(Malformed):
        problems(blocks, limit=50)


def test_a_message_with_refused_blocks_is_answered_with_each_problem_and_kept_nowhere(
    emu: Emulator, client: WebClient
) -> None:
    answer = refused(client, "chat_postMessage", channel=SOCIAL, text="t", blocks=[section("x" * 3001)])
    line = "must be less than 3001 characters [json-pointer:/blocks/0/text/text]"
    assert answer == {
        "ok": False,
        "error": "invalid_blocks",
        "errors": [line],
        "response_metadata": {"messages": [f"[ERROR] {line}"]},
    }
    assert refused(client, "chat_postMessage", channel=SOCIAL, text="t", blocks="[{")["error"] == (
        "invalid_blocks_format"
    )
    assert (
        refused(client, "chat_postMessage", channel=SOCIAL, text="t", blocks=json.dumps({"a": 1}))["error"]
        == "invalid_blocks_format"
    )
    assert emu.state.teams["T0TWOWAY1"].channels[SOCIAL].messages == {}


def test_message_text_is_truncated_by_chat_post_message_and_refused_by_chat_update_past_its_limit(
    emu: Emulator, client: WebClient
) -> None:
    posted = client.chat_postMessage(channel=SOCIAL, text="x" * 40_001)
    assert len(posted["message"]["text"]) == 40_000
    assert refused(client, "chat_update", channel=SOCIAL, ts=posted["ts"], text="y" * 4_001)["error"] == (
        "msg_too_long"
    )
    assert client.chat_update(channel=SOCIAL, ts=posted["ts"], text="y" * 4_000)["ok"]
    assert refused(client, "chat_postEphemeral", channel=SOCIAL, user=ADA, text="z" * 40_001)["error"] == (
        "msg_too_long"
    )


def test_a_view_holds_a_hundred_blocks_and_no_more(client: WebClient) -> None:
    view: dict[str, Any] = {"type": "home", "blocks": [section("ok")] * 100}
    assert client.views_publish(user_id=ADA, view=view)["ok"]
    answer = refused(client, "views_publish", user_id=ADA, view={**view, "blocks": [section("ok")] * 101})
    assert answer["error"] == "invalid_arguments"
    assert answer["response_metadata"]["messages"] == [
        "[ERROR] no more than 100 items allowed [json-pointer:/view/blocks]"
    ]


def test_a_views_private_metadata_and_a_modals_title_have_their_limits(client: WebClient) -> None:
    view: dict[str, Any] = {"type": "home", "blocks": [section("ok")], "private_metadata": "m" * 3000}
    assert client.views_publish(user_id=ADA, view=view)["ok"]
    answer = refused(client, "views_publish", user_id=ADA, view={**view, "private_metadata": "m" * 3001})
    assert answer["response_metadata"]["messages"] == [
        "[ERROR] must be less than 3001 characters [json-pointer:/view/private_metadata]"
    ]
    modal = {"type": "modal", "title": {"type": "plain_text", "text": "t" * 25}, "blocks": [section("ok")]}
    assert problems_of_view(modal) == ["must be less than 25 characters [json-pointer:/view/title/text]"]


def test_a_modals_buttons_and_callback_id_have_their_limits_and_inputs_need_submit() -> None:
    """DOCUMENTED: modal views, "close … Max length of 24 characters", "submit is required when an
    input block is within the blocks array. Max length of 24 characters", callback_id "Max length of 255
    characters". https://docs.slack.dev/reference/views/modal-views"""
    field = {
        "type": "input",
        "label": {"type": "plain_text", "text": "Likes"},
        "element": {"type": "plain_text_input"},
    }
    title = {"type": "plain_text", "text": "Log numbers"}
    fine = {
        "type": "modal",
        "title": title,
        "submit": {"type": "plain_text", "text": "s" * 24},
        "blocks": [field],
    }
    assert problems_of_view(fine) == []
    assert problems_of_view({**fine, "close": {"type": "plain_text", "text": "c" * 25}}) == [
        "must be less than 25 characters [json-pointer:/view/close/text]"
    ]
    assert problems_of_view({**fine, "submit": {"type": "plain_text", "text": "s" * 25}}) == [
        "must be less than 25 characters [json-pointer:/view/submit/text]"
    ]
    assert problems_of_view({**fine, "callback_id": "c" * 256}) == [
        "must be less than 256 characters [json-pointer:/view/callback_id]"
    ]
    without_submit = {"type": "modal", "title": title, "blocks": [field]}
    assert problems_of_view(without_submit) == [
        "submit is required when an input block is within the blocks array [json-pointer:/view/submit]"
    ]
    assert problems_of_view({**without_submit, "blocks": [section("read only")]}) == []


def _option(text: str, value: str) -> dict[str, Any]:
    return {"text": {"type": "plain_text", "text": text}, "value": value}


def _select(options: list[dict[str, Any]], **extra: Any) -> list[dict[str, Any]]:
    element = {"type": "static_select", "action_id": "post", "options": options, **extra}
    return [{"type": "input", "label": {"type": "plain_text", "text": "Post"}, "element": element}]


def test_a_static_select_has_slacks_limits_on_its_options() -> None:
    """DOCUMENTED: select menu element, static_select "options … Maximum number of options is 100";
    option object "text … Maximum length … 75 characters", "value … Maximum length … 150 characters";
    "placeholder … Maximum length … 150 characters". https://docs.slack.dev/reference/block-kit/"""
    hundred = [_option("o" * 75, "v" * 150) for _ in range(100)]
    assert problems(_select(hundred), limit=100) == []
    assert problems(_select([*hundred, _option("one more", "1")]), limit=100) == [
        "no more than 100 items allowed [json-pointer:/blocks/0/element/options]"
    ]
    assert problems(_select([_option("o" * 76, "v" * 151)]), limit=100) == [
        "must be less than 76 characters [json-pointer:/blocks/0/element/options/0/text/text]",
        "must be less than 151 characters [json-pointer:/blocks/0/element/options/0/value]",
    ]
    assert problems(_select([]), limit=100) == [
        "must provide at least 1 items [json-pointer:/blocks/0/element/options]"
    ]
    placeholder = {"type": "plain_text", "text": "p" * 151}
    assert problems(_select([_option("a", "1")], placeholder=placeholder), limit=100) == [
        "must be less than 151 characters [json-pointer:/blocks/0/element/placeholder/text]"
    ]
    chosen = _select([_option("a", "1")], initial_option=_option("a", "1"))
    assert problems(chosen, limit=100) == []
    assert problems(_select([_option("a", "1")], initial_option=_option("b", "2")), limit=100) == [
        "initial_option must match one of the options [json-pointer:/blocks/0/element/initial_option]"
    ]


def test_a_select_is_submitted_with_one_of_its_options_only() -> None:
    """Slack's client picks among the options a select shows; a submission of another is refused."""
    blocks = [{**_select([_option("a", "1"), _option("b", "2")])[0], "block_id": "choice", "optional": True}]
    picked = payloads.submitted_state(blocks, {"choice": {"post": {"selected_option": _option("b", "2")}}})
    assert picked["choice"]["post"]["selected_option"]["value"] == "2"
    assert payloads.submitted_state(blocks, {})["choice"]["post"]["selected_option"] is None
    with pytest.raises(WorldError, match="invalid_value"):
        payloads.submitted_state(blocks, {"choice": {"post": {"selected_option": _option("c", "3")}}})
