"""Block Kit for what twoway says: pure functions from results to `{text, blocks}`.

Every message carries a plain `text` fallback for notifications and screen readers. Text goes into
blocks through `section`, `context` and `header`, which fit it to Slack's limits whatever people
wrote (docs.slack.dev/reference/block-kit: a text object holds 3,000 characters, a header 150), and
`message` fits the fallback to the 4,000 characters chat.update takes (docs.slack.dev/reference/
methods/chat.update), since the same message may update a thread notice.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.grammar import BY_NAME, SUBCOMMANDS, BadInput, HelpRequest, Subcommand, UnavailableRequest
from bot.text import escape, fit, mention, truncate

Message = dict[str, Any]

TEXT_LIMIT = 3000
HEADER_LIMIT = 150
MESSAGE_TEXT_LIMIT = 4000

INTRO = (
    "twoway keeps a small ledger of the posts this team shares here, the engagement each one got, "
    "and the audience comments still waiting for an answer. It never ranks anyone by a score: "
    "it shows counts, lists and the next act of conversation."
)


def message(text: str, blocks: list[Block]) -> Message:
    """The keyword arguments for `ack`, `respond` or `chat.postMessage`."""
    return {"text": fit(text, MESSAGE_TEXT_LIMIT), "blocks": [block.to_dict() for block in blocks]}


def section(text: str) -> SectionBlock:
    """A section of mrkdwn, cut to fit (never inside a link or a mention)."""
    return SectionBlock(text=MarkdownTextObject(text=fit(text, TEXT_LIMIT)))


def context(text: str) -> ContextBlock:
    """A context line of mrkdwn, cut to fit."""
    return ContextBlock(elements=[MarkdownTextObject(text=fit(text, TEXT_LIMIT))])


def header(text: str) -> HeaderBlock:
    """A header, cut to fit."""
    return HeaderBlock(text=truncate(text, HEADER_LIMIT))


def _usage_lines(subs: tuple[Subcommand, ...]) -> str:
    return "\n".join(
        f"`{sub.usage}`\n{sub.summary}" + ("" if sub.available else " _Not available in this version yet._")
        for sub in subs
    )


def note(line: str) -> Message:
    """A one-line answer."""
    return message(line, [section(line)])


# The reactions of a channel twoway hasn't seen yet (`storage.models.Channel`'s defaults).
DEFAULT_FLAG_EMOJI = "speech_balloon"
DEFAULT_RESOLVE_EMOJI = "white_check_mark"

# The commands in help, by what they are about; one another part adds and this list doesn't name goes
# under "More".
HELP_GROUPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Comments waiting for an answer", ("flag", "answered", "dismiss", "unanswered")),
    ("Posts and their numbers", ("log", "report")),
    ("The channel", ("digest", "schedule", "settings", "export")),
    ("Yourself", ("dm",)),
)


def render_request(
    request: HelpRequest | UnavailableRequest | BadInput,
    *,
    flag_emoji: str = DEFAULT_FLAG_EMOJI,
    resolve_emoji: str = DEFAULT_RESOLVE_EMOJI,
) -> Message:
    """The reply to a parsed `/twoway` request that needs no ledger; help names the channel's reactions."""
    match request:
        case HelpRequest():
            return render_help(request, flag_emoji=flag_emoji, resolve_emoji=resolve_emoji)
        case UnavailableRequest():
            return render_unavailable(request)
        case BadInput():
            return render_bad_input(request)


def gestures(flag_emoji: str, resolve_emoji: str) -> str:
    """The three gestures that do most of twoway's work, with the channel's own reactions."""
    flag, resolve = _emoji(flag_emoji), _emoji(resolve_emoji)
    return (
        "*Three gestures do most of it, right in the channel:*\n"
        "1. *Share a post's link* in a message. twoway tracks the post and reacts :eyes:.\n"
        "2. *Reply in that message's thread with its numbers*, like “12 comments, 3 replies, 40 likes”. "
        "twoway records them and reads them back to you.\n"
        f"3. *React {flag}* to a reply that quotes an audience comment, to flag it as waiting for an "
        f"answer. twoway tells the post's owner; react {resolve} once it is answered."
    )


def _emoji(name: str) -> str:
    # A channel's emoji names are at most 100 characters of Slack's emoji alphabet (`bot.grammar`).
    return f":{escape(name[:100])}:"


def render_help(
    request: HelpRequest,
    *,
    flag_emoji: str = DEFAULT_FLAG_EMOJI,
    resolve_emoji: str = DEFAULT_RESOLVE_EMOJI,
) -> Message:
    """The three gestures, then the commands by what they are about; or one subcommand's usage."""
    if request.topic is not None:
        sub = request.topic
        return message(f"{sub.usage}: {sub.summary}", [SectionBlock(text=_usage_lines((sub,)))])
    grouped = {name for _, names in HELP_GROUPS for name in names}
    groups = [(title, tuple(BY_NAME[n] for n in names if n in BY_NAME)) for title, names in HELP_GROUPS]
    more = tuple(sub for sub in SUBCOMMANDS if sub.name not in grouped)
    if more:
        groups.append(("More", more))
    commands: list[Block] = [section(f"*{title}*\n{_usage_lines(subs)}") for title, subs in groups if subs]
    return message(
        "twoway commands: "
        + ", ".join(sub.name for sub in SUBCOMMANDS)
        + f". Share a post's link, reply in its thread with its numbers, react :{flag_emoji}: to flag a "
        "comment waiting for an answer.",
        [
            section(gestures(flag_emoji, resolve_emoji)),
            DividerBlock(),
            *commands,
            context(
                f"{INTRO} `/twoway help <command>` shows one command. "
                "Replies to commands are visible only to you."
            ),
        ],
    )


def render_bad_input(bad: BadInput) -> Message:
    """One line saying what was wrong, then the usage that would have been right."""
    usage = "\n".join(f"`{line}`" for line in bad.usage)
    return message(
        f"{bad.reason} Usage: {' | '.join(bad.usage)}",
        [section(bad.reason), context(usage)],
    )


def render_unavailable(request: UnavailableRequest) -> Message:
    """An honest answer for a subcommand this version does not serve yet."""
    sub = request.subcommand
    text = f"`/twoway {sub.name}` isn't available in this version of twoway yet. Nothing was recorded."
    return message(
        text, [SectionBlock(text=text), ContextBlock(elements=[MarkdownTextObject(text=sub.usage)])]
    )


def render_mention_reply(user_id: str) -> Message:
    """The answer to an @-mention: what twoway is and where to start."""
    text = f"Hi {mention(user_id)}! {INTRO} Type `/twoway help` to see the commands."
    return message(text, [section(text)])


def render_channel_intro(digests: str | None = None) -> Message:
    """The one message twoway posts when it is added to a channel; ``digests`` says when they post."""
    text = (
        "Thanks for adding twoway to this channel. Share links to your published posts here and I'll "
        "track each one with a :eyes: reaction (never a message per link). Reply in a post's thread with "
        "its numbers (“12 comments, 3 replies, 40 likes”), and react :speech_balloon: to a message quoting "
        "an audience comment that's waiting for an answer. Type `/twoway help` to see everything."
    )
    if digests:
        text = f"{text}\n{digests}"
    return message(text, [SectionBlock(text=text)])


def render_home(user_id: str) -> View:
    """The App Home tab."""
    return View(
        type="home",
        blocks=[
            HeaderBlock(text="twoway"),
            section(f"Hi {mention(user_id)}. {INTRO}"),
            DividerBlock(),
            SectionBlock(text=_usage_lines(SUBCOMMANDS)),
        ],
    )
