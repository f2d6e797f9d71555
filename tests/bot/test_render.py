from __future__ import annotations

from typing import Any
from unittest.mock import patch

import pytest

from bot.grammar import BY_NAME, SUBCOMMANDS, BadInput, HelpRequest, Subcommand, UnavailableRequest
from bot.render import (
    render_bad_input,
    render_channel_intro,
    render_help,
    render_home,
    render_mention_reply,
    render_unavailable,
)
from twoway.preview import blocks_to_text


def _texts(blocks: list[dict[str, Any]]) -> str:
    return blocks_to_text(blocks)


def test_help_lists_every_subcommand_usage_with_a_fallback_text() -> None:
    reply = render_help(HelpRequest())
    shown = _texts(reply["blocks"])
    for sub in SUBCOMMANDS:
        assert sub.usage in shown
        assert sub.name in reply["text"]
    assert len(reply["blocks"]) <= 50


def test_help_on_one_topic_shows_its_usage_only() -> None:
    reply = render_help(HelpRequest(BY_NAME["flag"]))
    assert "/twoway flag <url>" in reply["text"]
    assert "/twoway report" not in _texts(reply["blocks"])


def test_bad_input_shows_the_reason_then_the_usage() -> None:
    reply = render_bad_input(BadInput("`x` isn't a twoway command.", ("/twoway help [subcommand]",)))
    assert reply["text"].startswith("`x` isn't a twoway command.")
    assert "/twoway help [subcommand]" in reply["text"]
    assert reply["blocks"][0]["text"]["text"] == "`x` isn't a twoway command."


def test_unavailable_says_nothing_was_recorded() -> None:
    reply = render_unavailable(UnavailableRequest(BY_NAME["log"]))
    assert "Nothing was recorded" in reply["text"]


@pytest.mark.parametrize("reply", [render_mention_reply("U1"), render_channel_intro()])
def test_messages_carry_text_and_blocks(reply: dict[str, Any]) -> None:
    assert reply["text"]
    assert reply["blocks"]


def test_home_is_a_valid_home_view() -> None:
    view = render_home("U123").to_dict()
    assert view["type"] == "home"
    assert "<@U123>" in _texts(view["blocks"]) or "@U123" in _texts(view["blocks"])


def test_preview_renders_mentions_links_and_escapes_readably() -> None:
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Digest"}},
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "<@U1> see <https://x.com/a|the post> &lt;ok&gt;"},
        },
        {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Go"}}]},
    ]
    assert blocks_to_text(blocks) == "DIGEST\n======\n@U1 see the post (https://x.com/a) <ok>\n[ Go ]"
    assert blocks_to_text(blocks, names={"U1": "ada"}).splitlines()[2].startswith("@ada see")


def test_preview_shows_dates_channels_and_fields_readably() -> None:
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "text": {"type": "mrkdwn", "text": "*Due* <!date^1700000000^{date}|Tue 14 Nov> in <#C1>"},
        },
        {"type": "section", "fields": [{"type": "mrkdwn", "text": "*Posts*\n6 (+1)"}]},
    ]
    assert blocks_to_text(blocks, names={"C1": "social"}) == "Due Tue 14 Nov in #social\n  • Posts: 6 (+1)"


def test_help_leads_with_the_three_gestures_and_the_channels_own_reactions() -> None:
    reply = render_help(HelpRequest(), flag_emoji="raising_hand", resolve_emoji="+1")
    first = reply["blocks"][0]["text"]["text"]
    assert first.startswith("*Three gestures do most of it")
    for gesture in (
        "Share a post's link",
        "Reply in that message's thread with its numbers",
        "React :raising_hand:",
    ):
        assert gesture in first
    assert "“12 comments, 3 replies, 40 likes”" in first
    assert ":+1: once it is answered" in first
    assert "/twoway" not in first
    assert ":raising_hand: to flag" in reply["text"]


def test_help_groups_every_command_and_one_it_doesnt_know_goes_under_more() -> None:
    unknown = Subcommand("claim", "/twoway claim <comment id>", "Take a comment.", available=True)
    with patch("bot.render.SUBCOMMANDS", (*SUBCOMMANDS, unknown)):
        reply = render_help(HelpRequest())
    sections = [b["text"]["text"] for b in reply["blocks"][2:] if b["type"] == "section"]
    titles = [s.splitlines()[0] for s in sections]
    assert titles == [
        "*Comments waiting for an answer*",
        "*Posts and their numbers*",
        "*The channel*",
        "*Yourself*",
        "*More*",
    ]
    assert "/twoway claim <comment id>" in sections[-1]
    assert "/twoway help [subcommand]" in sections[-1]
