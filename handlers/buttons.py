"""Buttons on twoway's messages and Home tab: "Mark answered", "No reply needed", "Snooze 1 day",
"I'm on it", "Let it go" and "Ask someone else" (with its modal, a person picker); "Not our post" on
the note to whoever shared a post (`bot.ownership`); the Home tab's "Turn on" and "Turn off" of the
weekly direct message (`bot.weekly`); "Open the oldest comment" in the digest, a link Slack opens
itself, whose click is only acknowledged.

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
from bot.digest.blocks import OPEN_OLDEST_ACTION
from bot.flagging import (
    announce_ask,
    ask_to_take,
    claim_and_answer,
    close_and_notify,
    release_and_answer,
    snooze_and_answer,
)
from bot.grammar import ScheduleRequest, parse_command
from bot.home import personal_reach, publish_home, set_weekly_dm
from bot.ledger import Reach
from bot.ownership import NOT_OURS_ACTION, not_ours
from bot.render import Message
from bot.render_ledger import (
    ANSWERED_ACTION,
    CLAIM_ACTION,
    DISMISSED_ACTION,
    REASSIGN_ACTION,
    REASSIGN_MODAL,
    REASSIGN_MODAL_BLOCK,
    REASSIGN_MODAL_INPUT,
    RELEASE_ACTION,
    SCHEDULE_CHOICE_ACTION,
    SNOOZE_ACTION,
    WEEKLY_DM_ACTION,
    render_problem,
    render_reassign_modal,
)
from bot.slack_calls import advice, tell

logger = logging.getLogger(__name__)

# Comment ids are positive and below 2^63 (BIGINT); more digits than that is no id, and int() refuses
# digit strings over 4,300 characters.
_COMMENT_ID = re.compile(r"[0-9]{1,19}")
# The reassignment modal carries "comment id|channel" ("" for the Home tab or a direct message).
_ASKED = re.compile(r"(?P<comment>[0-9]{1,19})\|(?P<channel>[A-Z0-9]*)")


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
    CLAIM_ACTION: claim_and_answer,
    RELEASE_ACTION: release_and_answer,
}


def _clicked_channel(body: dict[str, Any]) -> str | None:
    """The channel a click came from; None on the Home tab or in a direct message with the app."""
    container = body.get("container")
    container = container if isinstance(container, dict) else {}
    channel_id = container.get("channel_id")
    if container.get("type") == "view" or not isinstance(channel_id, str) or channel_id.startswith("D"):
        return None
    return channel_id or None


def ask_clicked(
    deps: Deps,
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    respond: Respond,
) -> None:
    """ "Ask someone else": open the person picker at once, while the click's trigger is good (3 s)."""
    ack()
    who = clicker(body, context)
    comment_id = comment_id_of(action.get("value"))
    trigger_id = body.get("trigger_id")
    if who is None or comment_id is None or not isinstance(trigger_id, str):
        logger.warning("ignored a click on %s: it doesn't say who clicked which comment", REASSIGN_ACTION)
        return
    view = render_reassign_modal(comment_id, _clicked_channel(body))
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        team_id, user_id = who
        reply = render_problem(f"I couldn't open the person picker: {advice(error)}")
        _answer(deps, body, respond, client, team_id, user_id, reply)


def picked_user(view: dict[str, Any]) -> str | None:
    """The person picked in the reassignment modal, if one was."""
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    block = values.get(REASSIGN_MODAL_BLOCK) if isinstance(values, dict) else None
    field = block.get(REASSIGN_MODAL_INPUT) if isinstance(block, dict) else None
    user = field.get("selected_user") if isinstance(field, dict) else None
    return user if isinstance(user, str) and user else None


def ask_submitted(
    deps: Deps, ack: Ack, view: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """The person picked: put them on the comment and say so in its thread; or keep the modal open with
    the reason under the picker."""
    who = clicker(body, context)
    metadata = view.get("private_metadata")
    asked = _ASKED.fullmatch(metadata) if isinstance(metadata, str) else None
    to = picked_user(view)
    if who is None or asked is None or to is None:
        logger.warning("ignored a %s submission that doesn't say who asked whom", REASSIGN_MODAL)
        ack()
        return
    team_id, user_id = who
    comment_id = comment_id_of(asked["comment"])
    if comment_id is None:
        ack(response_action="errors", errors={REASSIGN_MODAL_BLOCK: "That modal doesn't name a comment."})
        return
    channel_id = asked["channel"]
    try:
        reach = Reach.channel(channel_id) if channel_id else personal_reach(client, user_id)
    except SlackApiError as error:
        problem = f"I couldn't check which channels you are in: {advice(error)}"
        ack(response_action="errors", errors={REASSIGN_MODAL_BLOCK: problem})
        return
    result = ask_to_take(deps, client, team_id, reach, comment_id, to=to, by=user_id)
    if isinstance(result, str):
        ack(response_action="errors", errors={REASSIGN_MODAL_BLOCK: result})
        return
    ack()
    announce_ask(client, result, user_id)


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


def weekly_dm_clicked(
    deps: Deps,
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    client: WebClient,
) -> None:
    """Turn the clicker's own weekly direct message on or off, and draw their Home tab again."""
    ack()
    who = clicker(body, context)
    value = action.get("value")
    if who is None or value not in ("on", "off"):
        return
    team_id, user_id = who
    set_weekly_dm(deps, client, team_id, user_id, on=value == "on")


def opened_oldest(deps: Deps, ack: Ack) -> None:
    """A link button: Slack opened its URL and tells the app of the click, which needs only its ack."""
    ack()


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
    app.action(REASSIGN_ACTION)(bind(ask_clicked, deps))
    app.view(REASSIGN_MODAL)(bind(ask_submitted, deps))
    app.action(NOT_OURS_ACTION)(bind(not_ours_clicked, deps))
    app.action(WEEKLY_DM_ACTION)(bind(weekly_dm_clicked, deps))
    app.action(OPEN_OLDEST_ACTION)(bind(opened_oldest, deps))
