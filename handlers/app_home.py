"""The App Home tab: `app_home_opened`."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.deps import Deps, bind
from bot.home import publish_home


def home_opened(deps: Deps, event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """Publish the viewer's queue: their open comments, their posts this week, their reply rate."""
    if event.get("tab", "home") != "home" or not context.team_id:
        return
    publish_home(deps, client, context.team_id, event["user"])


def register(app: App, deps: Deps) -> None:
    app.event("app_home_opened")(bind(home_opened, deps))
