"""A post's numbers: the "Log numbers" button (under a hint, or under a post nobody gave numbers for)
and its modal; the read-back's buttons "Edit", "Undo" and "Those replies were ours" / "…were the
audience's".

Each button acts within the reach of where it was clicked (`handlers.buttons.reach_of`), on the ledger
as it is now; the acts are `bot.numbers`'.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import numbers
from bot.deps import Deps, bind
from bot.ledger import Reach
from bot.render import Message, note
from bot.render_numbers import (
    EDIT_NUMBERS_ACTION,
    LOG_NUMBERS_ACTION,
    NUMBERS_MODAL,
    REPLIES_AUDIENCE_ACTION,
    REPLIES_OURS_ACTION,
    UNDO_NUMBERS_ACTION,
    ModalPlace,
)
from bot.slack_calls import advice, tell
from bot.summary import Reading
from handlers.buttons import clicker, comment_id_of, reach_of

logger = logging.getLogger(__name__)

# Edit's value: "post id:snapshot id".
_EDITED = re.compile(r"([0-9]{1,19}):([0-9]{1,19})")


def clicked_numbers(
    deps: Deps,
    ack: Ack,
    body: dict[str, Any],
    action: dict[str, Any],
    context: BoltContext,
    client: WebClient,
    respond: Respond,
) -> None:
    """Log numbers, Edit, Undo, or the other reading of "replies", on the post or snapshot the button
    names."""
    ack()
    who = clicker(body, context)
    if who is None:
        logger.warning("ignored a click on %s: it doesn't say who clicked", action.get("action_id"))
        return
    team_id, user_id = who
    try:
        reach = reach_of(client, body, user_id)
    except SlackApiError as error:
        _answer(
            body,
            respond,
            client,
            user_id,
            note(f"I couldn't check which channels you are in: {advice(error)}"),
        )
        return
    reply = _act(deps, client, team_id, reach, user_id, action, body.get("trigger_id"))
    if reply is not None:
        _answer(body, respond, client, user_id, reply)


def _act(
    deps: Deps,
    client: WebClient,
    team_id: str,
    reach: Reach,
    user_id: str,
    action: dict[str, Any],
    trigger_id: object,
) -> Message | None:
    action_id, value = action.get("action_id"), action.get("value")
    trigger = trigger_id if isinstance(trigger_id, str) else None
    if action_id in (REPLIES_OURS_ACTION, REPLIES_AUDIENCE_ACTION):
        reading: Reading = "ours" if action_id == REPLIES_OURS_ACTION else "audience"
        return numbers.reread_replies(deps, team_id, reach, str(value), user_id, now_read_as=reading)
    if action_id == EDIT_NUMBERS_ACTION:
        pair = _EDITED.fullmatch(value) if isinstance(value, str) else None
        post_id, snapshot_id = (comment_id_of(pair[1]), comment_id_of(pair[2])) if pair else (None, None)
        if post_id is None or snapshot_id is None:
            logger.warning("ignored a click on %s: %.40r names nothing", action_id, value)
            return note("That button doesn't name numbers twoway recorded.")
        return numbers.open_numbers_modal(
            deps, client, team_id, reach, post_id, trigger, snapshot_id=snapshot_id, user_id=user_id
        )
    named = comment_id_of(value)
    if named is None:
        logger.warning("ignored a click on %s: %.40r names nothing", action_id, value)
        return note("That button doesn't name a post or numbers twoway recorded.")
    if action_id == LOG_NUMBERS_ACTION:
        return numbers.open_numbers_modal(deps, client, team_id, reach, named, trigger, user_id=user_id)
    return numbers.undo(deps, client, team_id, reach, named, user_id)


def _answer(body: dict[str, Any], respond: Respond, client: WebClient, user_id: str, reply: Message) -> None:
    """Answer where the button was: in place of an ephemeral read-back, else to the clicker alone."""
    container = body.get("container")
    container = container if isinstance(container, dict) else {}
    channel_id, thread_ts = container.get("channel_id"), container.get("thread_ts")
    if container.get("is_ephemeral") and isinstance(body.get("response_url"), str):
        respond(response_type="ephemeral", replace_original=True, **reply)
    elif isinstance(channel_id, str) and channel_id:
        tell(client, channel_id, user_id, reply, thread_ts=thread_ts if isinstance(thread_ts, str) else None)
    else:
        logger.warning("could not answer a click by %s: it came from no conversation", user_id)


def submitted_numbers(
    deps: Deps, ack: Ack, view: dict[str, Any], body: dict[str, Any], context: BoltContext, client: WebClient
) -> None:
    """The modal's counts: recorded and read back, or each bad field named under it."""
    who = clicker(body, context)
    place = ModalPlace.load(view.get("private_metadata"))
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    if who is None or place is None or not isinstance(values, dict):
        logger.warning("ignored a %s submission that doesn't say whose numbers for which post", NUMBERS_MODAL)
        ack()
        return
    team_id, user_id = who
    result = numbers.submit_numbers(deps, team_id, user_id, place, values)
    if isinstance(result, dict):
        ack(response_action="errors", errors=result)
        return
    ack()
    tell(client, result.channel_id, user_id, result.reply, thread_ts=result.thread_ts)


def register(app: App, deps: Deps) -> None:
    for action_id in (
        LOG_NUMBERS_ACTION,
        EDIT_NUMBERS_ACTION,
        UNDO_NUMBERS_ACTION,
        REPLIES_OURS_ACTION,
        REPLIES_AUDIENCE_ACTION,
    ):
        app.action(action_id)(bind(clicked_numbers, deps))
    app.view(NUMBERS_MODAL)(bind(submitted_numbers, deps))
