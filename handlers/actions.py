"""Buttons on twoway's messages and Home tab: "Mark answered", "No reply needed" and "Snooze 1 day"."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.app import Deps
from bot.render import Message, note
from bot.render_ledger import ANSWERED_ACTION, DISMISSED_ACTION, SNOOZE_ACTION, render_problem, slack_date
from handlers.calls import tell
from handlers.flagging import close_and_notify
from handlers.home import publish_home
from storage.comments import snooze_comment

logger = logging.getLogger(__name__)

SNOOZE = timedelta(days=1)
# Comment ids are positive and below 2^63 (BIGINT); more digits than that is no id, and int() refuses
# digit strings over 4,300 characters.
_COMMENT_ID = re.compile(r"[0-9]{1,19}")

Listener = Callable[..., None]
# (client, team_id, comment_id, user_id) -> the answer for whoever clicked.
Action = Callable[[WebClient, str, int, str], Message]


def register(app: App, deps: Deps) -> None:
    def on_click(act: Action) -> Listener:
        """A button listener: act on the comment the button names, then answer where it was clicked."""

        def click(
            ack: Ack,
            body: dict[str, Any],
            action: dict[str, Any],
            context: BoltContext,
            client: WebClient,
            respond: Respond,
        ) -> None:
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
                reply = act(client, team_id, comment_id, user_id)
            answer(body, respond, client, team_id, user_id, reply)

        return click

    def answer(
        body: dict[str, Any], respond: Respond, client: WebClient, team_id: str, user_id: str, reply: Message
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

    def closing(state: Literal["answered", "dismissed"]) -> Action:
        def close(client: WebClient, team_id: str, comment_id: int, user_id: str) -> Message:
            return close_and_notify(deps, client, team_id, comment_id, state=state, by=user_id)

        return close

    def snooze(client: WebClient, team_id: str, comment_id: int, user_id: str) -> Message:
        until = deps.clock() + SNOOZE
        with deps.sessions.begin() as s:
            comment = snooze_comment(s, team_id, comment_id, until=until)
        if comment is None:
            return render_problem(f"Comment #{comment_id} isn't waiting for an answer any more.")
        return note(f"Comment #{comment_id} is snoozed: no nudges until {slack_date(until)}.")

    app.action(ANSWERED_ACTION)(on_click(closing("answered")))
    app.action(DISMISSED_ACTION)(on_click(closing("dismissed")))
    app.action(SNOOZE_ACTION)(on_click(snooze))


def comment_id_of(value: object) -> int | None:
    """The comment a button's value names (twoway writes its id in decimal), or None if it names none."""
    if not isinstance(value, str) or not _COMMENT_ID.fullmatch(value):
        return None
    comment_id = int(value)
    return comment_id if 0 < comment_id < 2**63 else None
