"""Channel messages: `message` events, with their `message_changed` and `message_deleted` subtypes."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps, bind
from bot.sharing import Us, deleted, edited, posted

# Subtypes that are still someone's message; the rest (joins, topic changes…) are ignored.
_AUTHORED = {None, "thread_broadcast", "file_share", "bot_message", "me_message"}


def on_message(deps: Deps, event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Record post links and engagement summaries; follow edits and deletions."""
    team_id = context.team_id or event.get("team")
    if not team_id or "channel" not in event:
        return
    us = Us(bot_id=context.bot_id, bot_user_id=context.bot_user_id)
    subtype = event.get("subtype")
    if subtype == "message_changed":
        edited(deps, client, team_id, event, us)
    elif subtype == "message_deleted":
        deleted(deps, client, team_id, event)
    elif subtype in _AUTHORED:
        posted(deps, client, team_id, event, us)


def register(app: App, deps: Deps) -> None:
    app.event("message")(bind(on_message, deps))
