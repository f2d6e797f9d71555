"""Buttons on twoway's messages and Home tab: "Mark answered", "No reply needed" and "Snooze 1 day"."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.deps import Deps, bind
from bot.flagging import close_and_notify, snooze_and_answer
from bot.home import publish_home
from bot.render import Message
from bot.render_ledger import ANSWERED_ACTION, DISMISSED_ACTION, SNOOZE_ACTION, render_problem
from bot.slack_calls import tell

logger = logging.getLogger(__name__)

# Comment ids are positive and below 2^63 (BIGINT); more digits than that is no id, and int() refuses
# digit strings over 4,300 characters.
_COMMENT_ID = re.compile(r"[0-9]{1,19}")


def _answered(deps: Deps, client: WebClient, team_id: str, comment_id: int, user_id: str) -> Message:
    return close_and_notify(deps, client, team_id, comment_id, state="answered", by=user_id)


def _dismissed(deps: Deps, client: WebClient, team_id: str, comment_id: int, user_id: str) -> Message:
    return close_and_notify(deps, client, team_id, comment_id, state="dismissed", by=user_id)


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
    team_id, user = context.team_id, body.get("user")
    user_id = user.get("id") if isinstance(user, dict) else None
    if not team_id or not isinstance(user_id, str):
        logger.warning("ignored a click on %s: it doesn't say who clicked", action.get("action_id"))
        return
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
        reply = ACTS[action["action_id"]](deps, client, team_id, comment_id, user_id)
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


# What each button does: (deps, client, team_id, comment_id, user_id) -> the answer for whoever clicked.
ACTS: dict[str, Callable[[Deps, WebClient, str, int, str], Message]] = {
    ANSWERED_ACTION: _answered,
    DISMISSED_ACTION: _dismissed,
    SNOOZE_ACTION: snooze_and_answer,
}


def register(app: App, deps: Deps) -> None:
    for action_id in ACTS:
        app.action(action_id)(bind(clicked, deps))
