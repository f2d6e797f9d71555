"""Buttons on twoway's messages and Home tab: "Mark answered", "No reply needed" and "Snooze 1 day"."""

from __future__ import annotations

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
from storage.ledger import snooze_comment

SNOOZE = timedelta(days=1)

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
            team_id, user_id = context.team_id, body["user"]["id"]
            container = body.get("container") or {}
            value = str(action.get("value", ""))
            if not team_id:
                return
            if value.isdigit():
                reply = act(client, team_id, int(value), user_id)
            else:
                reply = render_problem("That button doesn't name a comment.")
            if container.get("type") == "view":
                publish_home(deps, client, team_id, user_id)
            elif container.get("is_ephemeral"):
                respond(response_type="ephemeral", replace_original=False, **reply)
            elif container.get("channel_id"):
                tell(client, container["channel_id"], user_id, reply, thread_ts=container.get("thread_ts"))

        return click

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
