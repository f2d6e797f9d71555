"""The App Home tab: `app_home_opened`."""

from __future__ import annotations

from typing import Any

from slack_bolt import App
from slack_sdk import WebClient

from bot.app import Deps
from bot.render import render_home


def register(app: App, deps: Deps) -> None:
    @app.event("app_home_opened")
    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        """Publish the viewer's Home tab."""
        if event.get("tab", "home") != "home":
            return
        client.views_publish(user_id=event["user"], view=render_home(event["user"]))
