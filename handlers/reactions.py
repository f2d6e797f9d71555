"""Reactions on channel messages: `reaction_added` and `reaction_removed`.

twoway reads its channels' flag, resolve and dismiss reactions once comments are tracked;
until then a reaction changes nothing, and it is acknowledged so Slack doesn't redeliver it.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App

from bot.app import Deps

logger = logging.getLogger(__name__)


def register(app: App, deps: Deps) -> None:
    @app.event("reaction_added")
    def added(event: dict[str, Any]) -> None:
        """A reaction was added to a message."""
        logger.debug("reaction :%s: added; no comment ledger reads it yet", event.get("reaction"))

    @app.event("reaction_removed")
    def removed(event: dict[str, Any]) -> None:
        """A reaction was removed from a message."""
        logger.debug("reaction :%s: removed; no comment ledger reads it yet", event.get("reaction"))
