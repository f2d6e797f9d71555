"""The `/twoway` grammar: parsing command text into requests, with no Slack and no database."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from bot.text import inline_code


@dataclass(frozen=True)
class Subcommand:
    name: str
    usage: str
    summary: str
    available: bool = False


SUBCOMMANDS: tuple[Subcommand, ...] = (
    Subcommand("help", "/twoway help [subcommand]", "Show what twoway can do.", available=True),
    Subcommand(
        "log",
        "/twoway log <url> [comments=N] [replies=N] [shares=N] [likes=N]",
        "Record a post's engagement; `12 comments, 3 replies` works too.",
    ),
    Subcommand(
        "flag",
        "/twoway flag <url> <comment text…> [by <author>]",
        "Flag an audience comment that is waiting for an answer.",
    ),
    Subcommand("answered", "/twoway answered <comment id>", "Close a flagged comment as answered."),
    Subcommand("dismiss", "/twoway dismiss <comment id>", "Close a flagged comment that needs no reply."),
    Subcommand("unanswered", "/twoway unanswered [@user]", "List the comments still waiting for an answer."),
    Subcommand(
        "report",
        "/twoway report [week|month] [@user]",
        "Posts, comments received, replies sent and reply rate, with their counts.",
    ),
    Subcommand("digest", "/twoway digest [preview|now]", "Preview this channel's digest, or post it now."),
    Subcommand(
        "schedule",
        "/twoway schedule <weekday> <HH:MM> [IANA time zone] | /twoway schedule off",
        "Set when this channel's digest is posted, or turn it off.",
    ),
    Subcommand(
        "settings",
        "/twoway settings [threshold <hours>] [flag :emoji:] [resolve :emoji:]",
        "Show or change this channel's nudge threshold and reactions.",
    ),
    Subcommand("export", "/twoway export", "Get the channel's ledger as CSV."),
)

BY_NAME = {sub.name: sub for sub in SUBCOMMANDS}


@dataclass(frozen=True)
class HelpRequest:
    """Show the whole grammar, or one subcommand's usage."""

    topic: Subcommand | None = None


@dataclass(frozen=True)
class UnavailableRequest:
    """A subcommand of the grammar that this version of twoway does not serve yet."""

    subcommand: Subcommand


@dataclass(frozen=True)
class BadInput:
    """What was wrong, in one line, and the usage that would have been right."""

    reason: str
    usage: tuple[str, ...]


Request = HelpRequest | UnavailableRequest | BadInput


def parse_command(text: str) -> Request:
    """Read the text after `/twoway` into a request; never raises on user input."""
    words = text.split()
    if not words:
        return HelpRequest()
    name = words[0].lower()
    sub = BY_NAME.get(name)
    if sub is None:
        return BadInput(_unknown_reason(words[0]), tuple(s.usage for s in SUBCOMMANDS))
    if sub.name == "help":
        return _parse_help(words[1:])
    if not sub.available:
        return UnavailableRequest(sub)
    raise AssertionError(f"available subcommand {sub.name!r} has no parser")  # pragma: no cover


def _parse_help(args: list[str]) -> Request:
    if not args:
        return HelpRequest()
    topic = BY_NAME.get(args[0].lower())
    if topic is None or len(args) > 1:
        return BadInput(_unknown_reason(" ".join(args)), (BY_NAME["help"].usage,))
    return HelpRequest(topic)


def _unknown_reason(word: str) -> str:
    reason = f"{inline_code(word)} isn't a twoway command."
    close = difflib.get_close_matches(word.lower(), BY_NAME, n=1)
    if close:
        reason += f" Did you mean `{close[0]}`?"
    return reason
