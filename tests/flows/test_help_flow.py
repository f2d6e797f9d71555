"""`/twoway help` leads with the three gestures, naming the reactions the channel itself uses."""

from __future__ import annotations

from tests.support.flows import ADA, Flow


def test_help_names_the_channels_own_flag_reaction_first(flow: Flow) -> None:
    [before] = flow.command(ADA, "help")
    assert before["response_type"] == "ephemeral"
    first = before["blocks"][0]["text"]["text"]
    assert "Share a post's link" in first
    assert "React :speech_balloon:" in first

    flow.reply_text(ADA, "settings flag :raising_hand: resolve :+1:")
    [after] = flow.command(ADA, "help")
    first = after["blocks"][0]["text"]["text"]
    assert "React :raising_hand:" in first
    assert "react :+1: once it is answered" in first
    assert after["text"].startswith("twoway commands: help, log, flag")
