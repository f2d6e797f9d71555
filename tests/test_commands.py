from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import BY_NAME, SUBCOMMANDS, BadInput, HelpRequest, UnavailableRequest, parse_command
from bot.render import render_request


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", HelpRequest()),
        ("   ", HelpRequest()),
        ("help", HelpRequest()),
        ("HELP", HelpRequest()),
        ("help log", HelpRequest(BY_NAME["log"])),
        ("help Report", HelpRequest(BY_NAME["report"])),
        ("log https://x.com/a/status/1 comments=3", UnavailableRequest(BY_NAME["log"])),
        ("digest preview", UnavailableRequest(BY_NAME["digest"])),
    ],
)
def test_parse(text: str, expected: object) -> None:
    assert parse_command(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("frobnicate", "`frobnicate` isn't a twoway command."),
        ("reprot week", "`reprot` isn't a twoway command. Did you mean `report`?"),
        ("help nothing", "`nothing` isn't a twoway command."),
        ("<!channel>", "`&lt;!channel&gt;` isn't a twoway command."),
        ("a`b", "`a\u02cbb` isn't a twoway command."),
    ],
)
def test_unknown_subcommands_get_one_line_and_the_usage(text: str, reason: str) -> None:
    result = parse_command(text)
    assert isinstance(result, BadInput)
    assert result.reason == reason
    assert result.usage


def test_unknown_subcommand_usage_lists_every_subcommand() -> None:
    result = parse_command("nope")
    assert isinstance(result, BadInput)
    assert result.usage == tuple(sub.usage for sub in SUBCOMMANDS)


@given(st.text(max_size=2000))
def test_any_text_parses_to_a_request_and_renders(text: str) -> None:
    request = parse_command(text)
    if isinstance(request, BadInput):
        assert len(request.reason) < 200
    reply = render_request(request)
    assert reply["text"]
    assert all(len(b.get("text", {}).get("text", "")) <= 3000 for b in reply["blocks"])
