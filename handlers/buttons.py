"""Buttons on twoway's messages and Home tab: "Mark answered", "No reply needed" and "Snooze 1 day";
"Not our post" on the note to whoever shared a post (`bot.ownership`).

A button acts on a comment within reach of where it was clicked (`bot.ledger.Reach`): in a channel,
that channel's comments; on the Home tab or in the app's direct messages, the clicker's own comments in
the channels they are in. Any other id gets the answer an id of no comment gets.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.commands import run_command
from bot.deps import Deps, bind
from bot.flagging import close_and_notify, snooze_and_answer
from bot.grammar import ScheduleRequest, parse_command
from bot.home import personal_reach, publish_home
from bot.ledger import Reach
from bot.ownership import NOT_OURS_ACTION, not_ours
from bot.render import Message
from bot.render_ledger import (
    ANSWERED_ACTION,
    DISMISSED_ACTION,
    SCHEDULE_CHOICE_ACTION,
    SNOOZE_ACTION,
    render_problem,
)
from bot.slack_calls import advice, tell

logger = logging.getLogger(__name__)

# Comment ids are positive and below 2^63 (BIGINT); more digits than that is no id, and int() refuses
# digit strings over 4,300 characters.
_COMMENT_ID = re.compile(r"[0-9]{1,19}")


def _answered(
    deps: Deps, client: WebClient, team_id: str, reach: Reach, comment_id: int, user_id: str
) -> Message:
    return close_and_notify(deps, client, team_id, reach, comment_id, state="answered", by=user_id)


def _dismissed(
    deps: Deps, client: WebClient, team_id: str, reach: Reach, comment_id: int, user_id: str
) -> Message:
    return close_and_notify(deps, client, team_id, reach, comment_id, state="dismissed", by=user_id)


def reach_of(client: WebClient, body: dict[str, Any], user_id: str) -> Reach:
    """What a click may act on: its channel's comments, or on the Home tab and in the app's direct
    messages (a D… conversation, where twoway's lists cover the person's channels) their own ones in
    the channels they are in. Raises SlackApiError when Slack can't say which channels those are."""
    container = body.get("container")
    container = container if isinstance(container, dict) else {}
    channel_id = container.get("channel_id")
    if container.get("type") == "view" or (isinstance(channel_id, str) and channel_id.startswith("D")):
        return personal_reach(client, user_id)
    if isinstance(channel_id, str) and channel_id:
        return Reach.channel(channel_id)
    return Reach(frozenset())


def clicker(body: dict[str, Any], context: BoltContext) -> tuple[str, str] | None:
    """The workspace and the person a click came from; None when the payload doesn't say."""
    user = body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    if not context.team_id or not isinstance(user_id, str):
        return None
    return context.team_id, user_id


def clicked(
    deps: Deps,
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    respond: Respond,
) -> None:
    """Act on the comment the button names, then answer where it was clicked."""
    ack()
    who = clicker(body, context)
    if who is None:
        logger.warning("ignored a click on %s: it doesn't say who clicked", action.get("action_id"))
        return
    team_id, user_id = who
    comment_id = comment_id_of(action.get("value"))
    if comment_id is None:
        # %.40r: the value as it came, quoted and cut short, however long or odd it is.
        logger.warning(
            "ignored a click on %s: %.40r isn't a comment id",
            action.get("action_id"),
            action.get("value"),
        )
        reply = render_problem("That button doesn't name a comment.")
    else:
        try:
            reach = reach_of(client, body, user_id)
        except SlackApiError as error:
            reply = render_problem(f"I couldn't check which channels you are in: {advice(error)}")
        else:
            reply = ACTS[action["action_id"]](deps, client, team_id, reach, comment_id, user_id)
    _answer(deps, body, respond, client, team_id, user_id, reply)


def _answer(
    deps: Deps,
    body: dict[str, Any],
    respond: Respond,
    client: WebClient,
    team_id: str,
    user_id: str,
    reply: Message,
) -> None:
    """Answer where the button was: refresh the Home tab, or tell the person in the conversation."""
    container = body.get("container")
    container = container if isinstance(container, dict) else {}
    channel_id, thread_ts = container.get("channel_id"), container.get("thread_ts")
    if container.get("type") == "view":
        publish_home(deps, client, team_id, user_id)
    elif container.get("is_ephemeral") and isinstance(body.get("response_url"), str):
        respond(response_type="ephemeral", replace_original=False, **reply)
    elif isinstance(channel_id, str) and channel_id:
        thread = thread_ts if isinstance(thread_ts, str) else None
        tell(client, channel_id, user_id, reply, thread_ts=thread)
    else:
        logger.warning("could not answer a click by %s: it came from no conversation", user_id)


def comment_id_of(value: object) -> int | None:
    """The comment a button's value names (twoway writes its id in decimal), or None if it names none."""
    if not isinstance(value, str) or not _COMMENT_ID.fullmatch(value):
        return None
    comment_id = int(value)
    return comment_id if 0 < comment_id < 2**63 else None


# What each button does: (deps, client, team_id, reach, comment_id, user_id) -> the answer for whoever
# clicked.
ACTS: dict[str, Callable[[Deps, WebClient, str, Reach, int, str], Message]] = {
    ANSWERED_ACTION: _answered,
    DISMISSED_ACTION: _dismissed,
    SNOOZE_ACTION: snooze_and_answer,
}


def not_ours_clicked(
    deps: Deps,
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    respond: Respond,
) -> None:
    """Take the post the button names back as not the team's, and say so in place of the note."""
    ack()
    who = clicker(body, context)
    container = body.get("container")
    channel_id = container.get("channel_id") if isinstance(container, dict) else None
    if who is None or not isinstance(channel_id, str) or not channel_id:
        logger.warning("ignored a click on %s: it doesn't say who clicked where", NOT_OURS_ACTION)
        return
    team_id, user_id = who
    post_id = comment_id_of(action.get("value"))  # a post's id is written as a comment's is
    if post_id is None:
        reply = render_problem("That button doesn't name a post.")
    else:
        reply = not_ours(deps, client, team_id, channel_id, [post_id], by=user_id)
    if isinstance(body.get("response_url"), str):
        respond(response_type="ephemeral", replace_original=True, **reply)
    else:
        tell(client, channel_id, user_id, reply)


def schedule_chosen(
    deps: Deps,
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    respond: Respond,
) -> None:
    """One choice of an ambiguous `/twoway schedule`: set exactly that schedule, as the command would
    for whoever clicked, and answer in place of the question."""
    ack()
    who = clicker(body, context)
    container = body.get("container")
    channel_id = container.get("channel_id") if isinstance(container, dict) else None
    if who is None or not isinstance(channel_id, str) or not channel_id:
        logger.warning("ignored a click on %s: it doesn't say who clicked where", action.get("action_id"))
        return
    team_id, user_id = who
    value = action.get("value")
    request = parse_command(f"schedule {value}") if isinstance(value, str) else None
    if not isinstance(request, ScheduleRequest):
        reply = render_problem("That button doesn't name a schedule.")
    else:
        reply = run_command(
            deps,
            client,
            request,
            team_id=team_id,
            channel_id=channel_id,
            user_id=user_id,
            reply=lambda notice: tell(client, channel_id, user_id, notice),
        )
    if isinstance(body.get("response_url"), str):
        respond(response_type="ephemeral", replace_original=True, **reply)
    else:
        tell(client, channel_id, user_id, reply)


def register(app: App, deps: Deps) -> None:
    app.action(re.compile(f"^{SCHEDULE_CHOICE_ACTION}_[0-9]+$"))(bind(schedule_chosen, deps))
    for action_id in ACTS:
        app.action(action_id)(bind(clicked, deps))
    app.action(NOT_OURS_ACTION)(bind(not_ours_clicked, deps))
