"""Channel messages: `message` events from public and private channels twoway is in."""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext

from bot.app import Deps
from storage.queries import ensure_channel


def register(app: App, deps: Deps) -> None:
    @app.event("message")
    def on_message(event: dict[str, Any], context: BoltContext) -> None:
        """Start the ledger of every channel twoway hears from, with the default settings."""
        team_id = context.team_id or event.get("team")
        if not team_id or "channel" not in event:
            return
        with deps.sessions.begin() as s:
            ensure_channel(s, team_id, event["channel"], timezone=deps.config.timezone, now=deps.clock())
