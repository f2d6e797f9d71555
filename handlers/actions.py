"""Buttons on twoway's messages and Home tab: "Mark answered" and "No reply needed"."""

from __future__ import annotations

from typing import Any, Literal

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.app import Deps
from bot.render_ledger import ANSWERED_ACTION, DISMISSED_ACTION, render_problem
from handlers.calls import tell
from handlers.flagging import close_and_notify
from handlers.home import publish_home


def register(app: App, deps: Deps) -> None:
    def on_click(
        state: Literal["answered", "dismissed"],
    ) -> Any:
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
            if not value.isdigit():
                reply = render_problem("That button doesn't name a comment.")
            else:
                reply = close_and_notify(deps, client, team_id, int(value), state=state, by=user_id)
            if container.get("type") == "view":
                publish_home(deps, client, team_id, user_id)
            elif container.get("is_ephemeral"):
                respond(response_type="ephemeral", replace_original=False, **reply)
            elif container.get("channel_id"):
                tell(client, container["channel_id"], user_id, reply, thread_ts=container.get("thread_ts"))

        return click

    app.action(ANSWERED_ACTION)(on_click("answered"))
    app.action(DISMISSED_ACTION)(on_click("dismissed"))
