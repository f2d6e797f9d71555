"""The `/twoway` slash command and all its subcommands.

Help, usage errors and "not yet" are answered in the ack itself (help names the channel's own
reactions, one read that never waits behind a writer). Everything that reads or writes
the ledger acks first and answers through `respond`, so Slack's 3-second limit is never at risk.
Every answer is ephemeral.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, BoltResponse, Respond
from slack_sdk import WebClient

from bot.commands import help_answer, run_command
from bot.deps import Deps, bind
from bot.grammar import BadInput, HelpRequest, UnavailableRequest, parse_command
from bot.render import Message

# Where the acknowledging middleware leaves the parsed command for the listener.
PARSED = "twoway_command"


def ack_at_once(
    deps: Deps,
    ack: Ack,
    command: dict[str, Any],
    context: BoltContext,
    next: Callable[[], None],
) -> BoltResponse | None:
    """Listener middleware: parse and acknowledge in the request's own thread, then hand over.

    Bolt runs a listener in a worker thread and polls for its ack every 10 ms; acknowledging here,
    before the listener starts, answers Slack without that wait.
    """
    request = parse_command(command.get("text") or "")
    if isinstance(request, HelpRequest | UnavailableRequest | BadInput):
        # Answered in the ack itself; the listener has nothing left to do.
        channel_id = command.get("channel_id") or ""
        return ack(response_type="ephemeral", **help_answer(deps, request, context.team_id, channel_id))
    ack()
    context[PARSED] = request
    next()
    return None


def twoway(
    deps: Deps, command: dict[str, Any], context: BoltContext, respond: Respond, client: WebClient
) -> None:
    """Track posts, flag unanswered comments, see who is waiting for an answer."""

    def reply(notice: Message) -> None:
        respond(response_type="ephemeral", **notice)

    answer = run_command(
        deps,
        client,
        context[PARSED],
        # The channel's home workspace when it is shared (`twoway.bolt_app.rehome`); else the command's own.
        team_id=context.team_id or command["team_id"],
        channel_id=command["channel_id"],
        user_id=command["user_id"],
        reply=reply,
    )
    respond(response_type="ephemeral", replace_original=False, **answer)


def register(app: App, deps: Deps) -> None:
    app.command("/twoway", middleware=[bind(ack_at_once, deps)])(bind(twoway, deps))
