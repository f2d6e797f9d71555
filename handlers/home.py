"""The App Home tab: `app_home_opened`."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot import ledger
from bot.app import Deps
from bot.render_ledger import LIST_LIMIT, render_home
from handlers.calls import attempt


def publish_home(deps: Deps, client: WebClient, team_id: str, user_id: str) -> None:
    """Publish one person's Home tab as the ledger has it now."""
    now = deps.clock()
    with deps.sessions.begin() as s:
        home = ledger.home(s, team_id, user_id, now=now, limit=LIST_LIMIT)
    view = render_home(home, now)
    attempt(lambda: client.views_publish(user_id=user_id, view=view), "views.publish")


def register(app: App, deps: Deps) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
        """Publish the viewer's queue: their open comments, their posts this week, their reply rate."""
        if event.get("tab", "home") != "home" or not context.team_id:
            return
        publish_home(deps, client, context.team_id, event["user"])
